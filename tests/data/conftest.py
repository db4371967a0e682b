"""Fixtures of the recorded-video builder tests: folders of real-format media written by the test itself.

`recorded_folder` (session): 12 short good videos covering H.264/AAC mp4, VP9/Opus webm and MJPEG avi with
side-car wav/flac, 10 / 25 / 29.97 fps, 16:9 (64x36) and 4:3 (48x36) frames, 44.1 and 48 kHz audio, plus one
file of every bad kind (`media_fixtures.BAD_KINDS`). `fairplay_folder` (session): FAIR-Play's layout (videos/,
binaural_audios/, splits/split1/*.h5 and PseudoBinaural's new_splits/split1/*.txt) over a handful of clips.
"""

from __future__ import annotations

import dataclasses
import os

import h5py
import numpy as np
import pytest

from tests.data import media_fixtures as mf


@dataclasses.dataclass(frozen=True)
class Good:
    """A good fixture video: its path, duration, and the file its audio is read from (itself or a side-car)."""

    path: str
    duration_s: float
    audio_path: str
    audio_rate: int
    fps: float


# name, container codec, fps, (width, height), duration, audio codec (None: side-car), audio rate, side-car suffix
GOOD = [
    ("h264_25_wide", "libx264", 25.0, (64, 36), 2.1, "aac", 48000, ""),
    ("h264_2997_wide", "libx264", 29.97, (64, 36), 1.2, "aac", 44100, ""),
    ("h264_10_43", "libx264", 10.0, (48, 36), 1.2, "aac", 48000, ""),
    ("vp9_25_wide", "libvpx-vp9", 25.0, (64, 36), 1.2, "libopus", 48000, ""),
    ("vp9_10_43", "libvpx-vp9", 10.0, (48, 36), 2.1, "libopus", 48000, ""),
    ("vp9_2997_wide", "libvpx-vp9", 29.97, (64, 36), 1.2, "libopus", 48000, ""),
    ("mjpeg_25_43", "mjpeg", 25.0, (48, 36), 2.1, None, 48000, ".wav"),
    ("mjpeg_2997_wide", "mjpeg", 29.97, (64, 36), 1.2, None, 44100, ".wav"),
    ("mjpeg_10_43", "mjpeg", 10.0, (48, 36), 1.2, None, 44100, ".flac"),
    ("sub/h264_sidecar", "libx264", 25.0, (64, 36), 1.2, None, 44100, ".wav"),
    ("sub/h264_44k", "libx264", 25.0, (48, 36), 1.2, "aac", 44100, ""),
    ("sub/vp9_wide", "libvpx-vp9", 25.0, (64, 36), 1.2, "libopus", 48000, ""),
]
_SUFFIX = {"libx264": ".mp4", "libvpx-vp9": ".webm", "mjpeg": ".avi"}


def write_good(folder: str, name: str, codec: str, fps: float, size, duration: float, audio_codec, rate: int,
               sidecar: str) -> Good:
    path = os.path.join(folder, name + _SUFFIX[codec])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    audio = mf.tones(duration, rate)
    mf.write_video(path, duration_s=duration, fps=fps, width=size[0], height=size[1], codec=codec,
                   audio=audio if audio_codec else None, audio_rate=rate, audio_codec=audio_codec or "aac")
    audio_path = path
    if sidecar:
        audio_path = mf.write_sidecar(os.path.splitext(path)[0] + sidecar, audio, rate)
    return Good(path, duration, audio_path, rate, fps)


@pytest.fixture(scope="session")
def recorded_folder(tmp_path_factory):
    """(folder, {key: Good}, {bad kind: path})."""
    folder = str(tmp_path_factory.mktemp("recorded"))
    good = {}
    for row in GOOD:
        good[row[0]] = write_good(folder, *row)
    bad = {kind: mf.write_bad(kind, folder) for kind in mf.BAD_KINDS}
    return folder, good, bad


# FAIR-Play split1: stems per split file; 000009 is listed but has no files (the manifest must say so).
FAIRPLAY_SPLIT1 = {"train": ["000001", "000002", "000003"], "val": ["000004", "000005"], "test": ["000006", "000009"]}
PSEUDO_SPLIT1 = {"train": ["000002", "000004", "000005", "000006"], "val": ["000001"], "test": ["000003"]}


@pytest.fixture(scope="session")
def fairplay_folder(tmp_path_factory):
    """FAIR-Play as distributed (tiny): videos/NNNNNN.mp4 (no audio of their own), binaural_audios/NNNNNN.wav,
    splits/split1/{train,val,test}.h5 listing audio paths under the authors' root, and PseudoBinaural's
    new_splits/split1/{train,val,test}.txt listing 'NNNNNN.mp3'. Returns the folder."""
    root = str(tmp_path_factory.mktemp("fairplay"))
    for sub in ("videos", "binaural_audios", "splits/split1", "new_splits/split1"):
        os.makedirs(os.path.join(root, sub))
    for i in range(1, 7):
        stem = f"{i:06d}"
        mf.write_video(os.path.join(root, "videos", stem + ".mp4"), duration_s=1.2, fps=29.97, width=64, height=36)
        mf.write_sidecar(os.path.join(root, "binaural_audios", stem + ".wav"), mf.tones(1.2, 44100), 44100)
    for split, stems in FAIRPLAY_SPLIT1.items():
        paths = [f"/private/home/someone/datasets/BINAURAL_MUSIC_ROOM/binaural16k/{s}.wav".encode() for s in stems]
        with h5py.File(os.path.join(root, "splits/split1", split + ".h5"), "w") as f:
            f.create_dataset("audio", data=np.array(paths, dtype=object), dtype=h5py.string_dtype())
    for split, stems in PSEUDO_SPLIT1.items():
        with open(os.path.join(root, "new_splits/split1", split + ".txt"), "w") as f:
            f.write("".join(f"{s}.mp3\n" for s in stems))
    return root

"""Writes real-format media files for the dataset-builder tests (PyAV encoders, soundfile side-cars).

pattern(num_frames, height, width)   -> uint8 [T, H, W, 3]: frame i is grey level `level(i)` with a red band
                                        over its left quarter (so frame order and left/right can be checked).
tones(duration_s, rate, freqs, amps) -> float32 [C, N]: one sine per channel (left and right differ).
write_video(path, ...)               -> a video (any container/codec PyAV writes), optionally with audio.
write_sidecar(path, audio, rate)     -> a wav/flac file.
write_bad(kind, folder)              -> one file of every kind the builders must refuse (BAD_KINDS).
write_good(folder, *GOOD[i])         -> one of the 12 good fixture videos (codecs, rates, aspect ratios).
write_fairplay(root)                 -> FAIR-Play's layout with split files of both published protocols.
"""

from __future__ import annotations

import dataclasses
import fractions
import os

import av
import h5py
import numpy as np
import soundfile

LAYOUTS = {1: "mono", 2: "stereo", 4: "quad", 6: "5.1"}
PIX_FMTS = {"mjpeg": "yuvj420p"}
FREQS = (440.0, 1000.0)
AMPS = (0.5, 0.25)


def level(i: int) -> int:
    """Grey level of source frame i (distinct for neighbouring frames, inside the video range)."""
    return 30 + (i * 23) % 190


def pattern(num_frames: int, height: int, width: int) -> np.ndarray:
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for i in range(num_frames):
        frames[i] = level(i)
    frames[:, :, : width // 4] = (230, 20, 20)
    return frames


def tones(duration_s: float, rate: int, freqs=FREQS, amps=AMPS) -> np.ndarray:
    t = np.arange(round(duration_s * rate)) / rate
    return np.stack([a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps)]).astype(np.float32)


def write_video(
    path: str,
    *,
    duration_s: float = 1.2,
    fps: float = 25.0,
    width: int = 64,
    height: int = 36,
    codec: str = "libx264",
    audio: np.ndarray | None = None,
    audio_rate: int = 48000,
    audio_codec: str = "aac",
    num_frames: int | None = None,
) -> str:
    """Writes `path` (container from the suffix): `num_frames` (default duration_s * fps) frames of `pattern`
    at `fps` with `codec`, and `audio` float [C, N] at `audio_rate` with `audio_codec` when given."""
    count = round(duration_s * fps) if num_frames is None else num_frames
    with av.open(path, "w") as out:
        video = out.add_stream(codec, rate=fractions.Fraction(fps).limit_denominator(1001))
        video.width, video.height, video.pix_fmt = width, height, PIX_FMTS.get(codec, "yuv420p")
        sound = None
        if audio is not None:
            sound = out.add_stream(audio_codec, rate=audio_rate, layout=LAYOUTS[audio.shape[0]])
        for frame in pattern(count, height, width):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode(None))
        if sound is not None:
            block = 960
            for start in range(0, audio.shape[1], block):
                chunk = np.ascontiguousarray(audio[:, start : start + block], np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=LAYOUTS[audio.shape[0]])
                frame.sample_rate, frame.pts = audio_rate, start
                frame.time_base = fractions.Fraction(1, audio_rate)
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path


def write_sidecar(path: str, audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> str:
    soundfile.write(path, audio.T, rate, subtype=subtype)
    return path


# Every kind of file a recorded-video builder must skip, with a word its one-line reason must contain.
BAD_KINDS = {
    "unreadable": "unreadable",
    "truncated": "truncated",
    "no_video": "no video stream",
    "no_audio": "no audio",
    "mono": "mono",
    "ambisonic": "ambisonics",
    "surround": "more than 2 channels",
    "too_short": "too short",
    "nan_audio": "NaN",
    "silent": "silent",
    "av_mismatch": "disagree",
    "zero_frames": "zero-frame",
}


def write_bad(kind: str, folder: str) -> str:
    """Writes the file of `kind` (a BAD_KINDS key) into `folder` as `bad_<kind>.<ext>` (plus its side-car for the
    NaN case); returns the video's path."""
    path = os.path.join(folder, f"bad_{kind}.mp4")
    stereo = tones(1.2, 48000)
    if kind == "unreadable":
        with open(path, "wb") as f:
            f.write(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated":  # Matroska declares its duration up front; the cut file decodes to less of it
        path = write_video(
            path[:-4] + ".webm", duration_s=2.0, codec="libvpx-vp9", audio=tones(2.0, 48000), audio_codec="libopus"
        )
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    elif kind == "no_video":
        with av.open(path, "w") as out:
            sound = out.add_stream("aac", rate=48000, layout="stereo")
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, 0
            out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    elif kind == "no_audio":
        write_video(path)
    elif kind in ("mono", "ambisonic", "surround"):
        channels = {"mono": 1, "ambisonic": 4, "surround": 6}[kind]
        write_video(path, audio=np.tile(stereo[:1], (channels, 1)))
    elif kind == "too_short":
        write_video(path, duration_s=0.4, audio=tones(0.4, 48000))
    elif kind == "nan_audio":
        path = write_video(path[:-4] + ".avi", codec="mjpeg")
        bad = stereo.copy()
        bad[0, 100] = np.nan
        write_sidecar(path[:-4] + ".wav", bad, 48000, subtype="FLOAT")
    elif kind == "silent":
        write_video(path, audio=np.zeros_like(stereo))
    elif kind == "av_mismatch":
        write_video(path, duration_s=2.0, audio=tones(1.0, 48000))
    elif kind == "zero_frames":
        path = write_video(path[:-4] + ".mkv", num_frames=0, audio=stereo)  # mp4 would drop the empty stream
    else:
        raise KeyError(f"unknown bad kind {kind!r}; known: {sorted(BAD_KINDS)}")
    return path


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


def write_good(
    folder: str, name: str, codec: str, fps: float, size, duration: float, audio_codec, rate: int, sidecar: str
) -> Good:
    """Writes the GOOD row `name, ...` under `folder` (its tones as the container's audio or as the side-car)."""
    path = os.path.join(folder, name + _SUFFIX[codec])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    audio = tones(duration, rate)
    write_video(
        path,
        duration_s=duration,
        fps=fps,
        width=size[0],
        height=size[1],
        codec=codec,
        audio=audio if audio_codec else None,
        audio_rate=rate,
        audio_codec=audio_codec or "aac",
    )
    audio_path = path
    if sidecar:
        audio_path = write_sidecar(os.path.splitext(path)[0] + sidecar, audio, rate)
    return Good(path, duration, audio_path, rate, fps)


# FAIR-Play split1: stems per split file; 000009 is listed but has no files (the manifest must say so).
FAIRPLAY_SPLIT1 = {"train": ["000001", "000002", "000003"], "val": ["000004", "000005"], "test": ["000006", "000009"]}
PSEUDO_SPLIT1 = {"train": ["000002", "000004", "000005", "000006"], "val": ["000001"], "test": ["000003"]}


def write_fairplay(root: str) -> str:
    """FAIR-Play as distributed (tiny) under `root`: videos/NNNNNN.mp4 (no audio of their own),
    binaural_audios/NNNNNN.wav, splits/split1/{train,val,test}.h5 listing audio paths under the authors' root,
    and PseudoBinaural's new_splits/split1/{train,val,test}.txt listing 'NNNNNN.mp3'. Returns root."""
    for sub in ("videos", "binaural_audios", "splits/split1", "new_splits/split1"):
        os.makedirs(os.path.join(root, sub))
    for i in range(1, 7):
        stem = f"{i:06d}"
        write_video(os.path.join(root, "videos", stem + ".mp4"), duration_s=1.2, fps=29.97, width=64, height=36)
        write_sidecar(os.path.join(root, "binaural_audios", stem + ".wav"), tones(1.2, 44100), 44100)
    for split, stems in FAIRPLAY_SPLIT1.items():
        paths = [f"/private/home/someone/datasets/BINAURAL_MUSIC_ROOM/binaural16k/{s}.wav".encode() for s in stems]
        with h5py.File(os.path.join(root, "splits/split1", split + ".h5"), "w") as f:
            f.create_dataset("audio", data=np.array(paths, dtype=object), dtype=h5py.string_dtype())
    for split, stems in PSEUDO_SPLIT1.items():
        with open(os.path.join(root, "new_splits/split1", split + ".txt"), "w") as f:
            f.write("".join(f"{s}.mp3\n" for s in stems))
    return root

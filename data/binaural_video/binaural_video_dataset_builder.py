"""TFDS builder for `binaural_video`: recorded binaural video (FAIR-Play, or any folder of videos) as fixed-length
windows in the shared recorded-video layout (`data/video_folder`), built in parallel with Apache Beam.

Where the binaural audio comes from (`audio`): 'own' -- the video's own 2-channel track (layout a); 'sidecar' -- a
wav/flac file with the video's stem, beside it or under `audio_dir` (layout b; FAIR-Play's `binaural_audios/`);
'auto' -- a side-car when there is one, else the own track. Which split a video is in (`split_set`): 'fraction'
(a hash of its path, so a recording never straddles splits), 'fairplay' (`splits/split<N>/{train,val,test}.h5`,
whose `audio` dataset lists clip audio paths with the authors' root prefix) or 'pseudobinaural'
(`new_splits/split<N>/{train,val,test}.txt`, one clip name such as `000123.mp3` per line); both split files are
matched by stem. Features, metadata and the FAIR-Play recipe: README.md next to this file.

    python -m data.binaural_video.build --input_dir=DIR --data_dir=DIR --config=fairplay_split1 --num_workers=2
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import os

import h5py
import tensorflow_datasets as tfds

from data.video_folder import clips, listing
from data.video_folder.builder import ClipConfig, VideoFolderBuilder

AUDIO_SOURCES = ("own", "sidecar", "auto")
SPLIT_SETS = ("fraction", "fairplay", "pseudobinaural")
CAPTIONS = ("none", "folder", "file")
# Split-file names of the two published protocols -> this dataset's split names.
_SPLIT_FILES = {"train": "train", "val": "validation", "test": "test"}


@dataclasses.dataclass(eq=False)
class BinauralVideoConfig(ClipConfig):
    """A named input layout, split protocol and clip format (see the module docstring; the window, rate, frame
    size and loudness fields: video_folder's ClipConfig)."""

    # Folder of the videos, relative to the input root ('' = the root itself; searched recursively).
    video_dir: str = ""
    # Where the binaural audio comes from: 'own' | 'sidecar' | 'auto'.
    audio: str = "auto"
    # Folder searched (recursively, by stem) for side-car wav/flac files ('' = beside each video).
    audio_dir: str = ""
    # Split protocol: 'fraction' | 'fairplay' | 'pseudobinaural'.
    split_set: str = "fraction"
    # Which published split (1-10 for FAIR-Play, 1-5 for PseudoBinaural's scene-disjoint ones).
    split_number: int = 1
    # Train / validation / test shares of the videos for split_set 'fraction'.
    split_fractions: tuple = (0.8, 0.1, 0.1)
    # How other aspect ratios reach height x width: 'crop' (centre crop) | 'letterbox' (padded with black).
    resize_mode: str = "crop"
    # Captions: 'none' | 'folder' (the video's parent folder name) | 'file' (the CSV captions_file).
    captions: str = "none"
    # CSV of captions under the input root, columns file,caption (matched by stem).
    captions_file: str = "captions.csv"
    # Camera's horizontal field of view in degrees (metadata for readers; nothing is computed from it).
    field_of_view_deg: float = 90.0
    # Largest accepted video / audio duration difference, seconds.
    max_av_mismatch_s: float = 0.25

    def spec(self) -> clips.ClipSpec:
        return self.clip_spec(resize_mode=self.resize_mode, channels=2, max_av_mismatch_s=self.max_av_mismatch_s)

    def check(self) -> None:
        """Raises ValueError (one line naming the field) for an inconsistent config."""
        for field, allowed in (("audio", AUDIO_SOURCES), ("split_set", SPLIT_SETS), ("captions", CAPTIONS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {allowed}, got {getattr(self, field)!r}")
        fractions = tuple(float(f) for f in self.split_fractions)
        if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
            raise ValueError(f"split_fractions must be 3 non-negative shares summing to 1, got {self.split_fractions}")
        self.spec().check()


# FAIR-Play's clip and binaural recording of one index are only "roughly aligned" (its README): 0.5 s slack.
_FAIRPLAY = dict(
    video_dir="videos",
    audio="sidecar",
    audio_dir="binaural_audios",
    clip_s=10.0,
    hop_s=10.0,
    min_clip_s=9.5,
    height=64,
    width=112,
    max_av_mismatch_s=0.5,
)

BUILDER_CONFIGS = [
    BinauralVideoConfig(
        name="folder",
        description="Any folder of videos; side-car audio by stem where present, else the video's "
        "own 2-channel track; 8 s windows, 64x64, split 80/10/10 by file.",
    ),
    BinauralVideoConfig(
        name="sidecar",
        audio="sidecar",
        description="Videos plus side-car binaural wav/flac files with the same stem; 8 s windows, 64x64.",
    ),
    *[
        BinauralVideoConfig(
            name=f"fairplay_split{n}",
            split_set="fairplay",
            split_number=n,
            **_FAIRPLAY,
            description=f"FAIR-Play as distributed, the authors' split {n}: whole 10 s clips at 64x112 (16:9).",
        )
        for n in range(1, 11)
    ],
    *[
        BinauralVideoConfig(
            name=f"pseudobinaural_split{n}",
            split_set="pseudobinaural",
            split_number=n,
            **_FAIRPLAY,
            description=f"FAIR-Play with PseudoBinaural's scene-disjoint split {n}: whole 10 s clips at 64x112.",
        )
        for n in range(1, 6)
    ],
]


def fraction_split(key: str, fractions) -> str:
    """The split of the video whose key is `key` under split_set 'fraction' (an md5 of the key: stable across
    machines and Python versions)."""
    u = int(hashlib.md5(key.encode()).hexdigest()[:8], 16) / 2**32
    train, validation = float(fractions[0]), float(fractions[1])
    return "train" if u < train else "validation" if u < train + validation else "test"


def read_split_file(path: str) -> list[str]:
    """Clip stems listed by a FAIR-Play `.h5` split file (dataset `audio`) or a PseudoBinaural `.txt` one."""
    if path.endswith(".h5"):
        with h5py.File(path, "r") as f:
            return [listing.stem(v.decode() if isinstance(v, bytes) else str(v)) for v in f["audio"][()]]
    with open(path) as f:
        return [listing.stem(line) for line in f if line.strip()]


def _captions(config: BinauralVideoConfig, input_dir: str) -> dict[str, str]:
    if config.captions != "file":
        return {}
    with open(os.path.join(input_dir, config.captions_file), newline="") as f:
        rows = list(csv.reader(f))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["file", "caption"]:
        rows = rows[1:]
    return {listing.stem(r[0]): r[1].strip() for r in rows if len(r) >= 2}


def _make_examples(source: clips.SourceFile, spec: clips.ClipSpec) -> list[tuple[str, dict]]:
    loaded = clips.load(source, spec)
    return [clips.to_example(source, w, w.audio, spec) for w in clips.windows(loaded, spec)]


class BinauralVideo(VideoFolderBuilder):
    """Recorded binaural video in fixed-length windows (no ground truth beyond the recording)."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "First release.",
        "1.1.0": "Audio stored as raw int16 bytes, not an int64 list: examples decode several times faster.",
    }
    BUILDER_CONFIGS = BUILDER_CONFIGS
    DEFAULT_CONFIG_NAME = "folder"
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Pass the folder of videos (for FAIR-Play: the folder holding videos/, "
        "binaural_audios/ and splits/) as --input_dir."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info(__doc__, field_of_view_deg=self.builder_config.field_of_view_deg, ground_truth=False)

    def check_input(self, input_dir: str) -> None:
        config: BinauralVideoConfig = self.builder_config
        for field in ("video_dir", "audio_dir"):
            if getattr(config, field) and not os.path.isdir(os.path.join(input_dir, getattr(config, field))):
                raise ValueError(f"no folder {getattr(config, field)!r} ({field} of config {config.name})")
        if config.captions == "file" and not os.path.isfile(os.path.join(input_dir, config.captions_file)):
            raise ValueError(f"no captions file {config.captions_file!r} (captions='file')")
        for path in self._split_files(input_dir).values():
            if not os.path.isfile(path):
                raise ValueError(
                    f"no split file {os.path.relpath(path, input_dir)} (split_set={config.split_set!r}, "
                    f"split_number={config.split_number})"
                )

    def _split_files(self, input_dir: str) -> dict[str, str]:
        """{split: its split file} for the published protocols; {} for 'fraction'."""
        config: BinauralVideoConfig = self.builder_config
        if config.split_set == "fraction":
            return {}
        folder, suffix = ("splits", ".h5") if config.split_set == "fairplay" else ("new_splits", ".txt")
        return {
            split: os.path.join(input_dir, folder, f"split{config.split_number}", name + suffix)
            for name, split in _SPLIT_FILES.items()
        }

    def example_fn(self):
        return functools.partial(_make_examples, spec=self.builder_config.spec())

    def list_sources(self, input_dir: str) -> tuple[dict[str, list[clips.SourceFile]], list[dict]]:
        config: BinauralVideoConfig = self.builder_config
        config.check()
        self.check_input(input_dir)
        video_root = os.path.join(input_dir, config.video_dir)
        audio_root = os.path.join(input_dir, config.audio_dir) if config.audio_dir else ""
        videos = listing.files(video_root, listing.VIDEO_SUFFIXES, exclude=audio_root)
        sidecars = listing.by_stem(listing.files(audio_root, listing.AUDIO_SUFFIXES)) if audio_root else {}
        captions = _captions(config, input_dir)
        skipped: list[dict] = []

        def source(video: str) -> clips.SourceFile | None:
            key = listing.key(video, input_dir)
            stem = listing.stem(video)
            if config.audio == "own":
                found = []
            elif audio_root:
                found = sidecars.get(stem, [])
            else:
                found = listing.sidecars(video)
            if len(found) > 1:
                skipped.append(
                    {
                        "file": video,
                        "reason": f"{len(found)} side-car audio files named {stem}: "
                        f"{', '.join(os.path.basename(p) for p in found)}",
                    }
                )
                return None
            if config.audio == "sidecar" and not found:
                where = audio_root or os.path.dirname(video)
                skipped.append({"file": video, "reason": f"no side-car audio {stem}.wav/.flac in {where}"})
                return None
            caption = (
                os.path.basename(os.path.dirname(video)) if config.captions == "folder" else captions.get(stem, "")
            )
            return clips.SourceFile(video=video, key=key, audio=found[0] if found else "", caption=caption)

        if config.split_set == "fraction":
            splits = {s: [] for s in listing.SPLITS}
            for video in videos:
                if (src := source(video)) is not None:
                    splits[fraction_split(src.key, config.split_fractions)].append(src)
            return splits, skipped

        by_stem = listing.by_stem(videos)
        splits = {}
        for split, path in self._split_files(input_dir).items():
            rel = os.path.relpath(path, input_dir)
            splits[split] = []
            for stem in read_split_file(path):
                found = by_stem.get(stem, [])
                if len(found) != 1:
                    what = "no video" if not found else f"{len(found)} videos"
                    skipped.append(
                        {
                            "file": os.path.join(video_root, stem),
                            "reason": f"listed in {rel} but {what} with stem {stem} under {video_root}",
                        }
                    )
                elif (src := source(found[0])) is not None:
                    splits[split].append(src)
        return splits, skipped

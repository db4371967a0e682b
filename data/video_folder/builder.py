"""`VideoFolderBuilder`: the TFDS + Beam skeleton every recorded-video builder shares, and `ClipConfig`, the base of
their configs.

A subclass says which files go into which split and how one file becomes examples; this class runs that as a
Beam pipeline (one work item per file), writes ArrayRecord shards through TFDS and the skip manifest beside them
(`<data_dir>/<name>/<config>/<version>/skipped.jsonl`). The input folder is TFDS's manual directory
(`tfds.download.DownloadConfig(manual_dir=...)`), so nothing is downloaded.

A builder's config is a flat dataclass (the CLI's `--set FIELD=VALUE` changes any field) deriving from ClipConfig,
which holds the ClipSpec fields every builder exposes under the same names and turns the config into the dataset's
`builder` metadata.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Callable

import tensorflow_datasets as tfds

from data.video_folder import beam as beam_lib
from data.video_folder import clips
from data.video_folder.clips import SourceFile

# TFDS's version bookkeeping of a BuilderConfig: not part of what a dataset was built with.
_BOOKKEEPING = ("version", "release_notes", "supported_versions", "tags")


@dataclasses.dataclass(eq=False)
class ClipConfig(tfds.core.BuilderConfig):
    """Base of the recorded-video builder configs: the ClipSpec fields every builder exposes (a builder declares
    the ones only it varies, e.g. resize_mode, fixes the rest such as channels in its `spec()`, and may redeclare
    a field here with its own default)."""

    # Window length, seconds (a whole number of frames and samples at fps / sample_rate).
    clip_s: float = 8.0
    # Step between window starts, seconds (also whole frames and samples).
    hop_s: float = 8.0
    # Shortest real content a window may hold (the rest padded; `valid_s` records it); shorter files are skipped.
    min_clip_s: float = 8.0
    # Stored video frame rate (with sample_rate it must fit v2a_jax.input_pipeline.sequence.SequenceConfig).
    fps: float = 25.0
    # Stored audio rate, Hz.
    sample_rate: int = 16000
    # Stored frame height, pixels.
    height: int = 64
    # Stored frame width, pixels (H != W allowed).
    width: int = 64
    # Loudness policy per window: 'none' | 'peak' | 'rms' (the gain is stored as gain_db; never clips).
    loudness: str = "none"
    # Target level of the loudness policy, dBFS.
    loudness_db: float = -1.0

    def clip_spec(self, **fields) -> clips.ClipSpec:
        """The ClipSpec of the fields above plus the builder's own `fields` (channels, resize_mode, ...)."""
        return clips.ClipSpec(**{name: getattr(self, name) for name in _CLIP_FIELDS}, **fields)

    def describe(self) -> dict:
        """JSON-able config, every field but TFDS's version bookkeeping: the dataset's `builder` metadata."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
            if f.name not in _BOOKKEEPING
        }


_CLIP_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(ClipConfig)
    if f.name not in {g.name for g in dataclasses.fields(tfds.core.BuilderConfig)}
)


class VideoFolderBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base builder: subclasses define `_info` (usually `dataset_info(...)`), `list_sources` and `example_fn`."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass the folder of source videos as the manual directory (--input_dir)."

    @abc.abstractmethod
    def list_sources(self, input_dir: str) -> tuple[dict[str, list[SourceFile]], list[dict]]:
        """({split: its sources}, skip records {"file", "reason"} found while listing, e.g. a clip named by a
        split file whose video is missing). Splits without sources are left out."""

    @abc.abstractmethod
    def example_fn(self) -> Callable[[SourceFile], list[tuple[str, dict]]]:
        """A picklable function (module-level, or a functools.partial of one) from a source to its (key,
        example) pairs; raises `clips.BadFile` with a one-line reason for a file that must be skipped."""

    def dataset_info(
        self, description: str, *, field_of_view_deg: float, ground_truth: bool, **extra_features
    ) -> tfds.core.DatasetInfo:
        """The DatasetInfo of the shared layout for this builder's config (a ClipConfig with a `spec()`): the
        contract's features plus the builder's `extra_features`, and the contract's metadata."""
        spec = self.builder_config.spec()
        return tfds.core.DatasetInfo(
            builder=self,
            description=description,
            features=clips.features(spec, **extra_features),
            metadata=tfds.core.MetadataDict(
                clips.metadata(
                    spec,
                    field_of_view_deg=field_of_view_deg,
                    ground_truth=ground_truth,
                    builder=self.builder_config.describe(),
                )
            ),
        )

    def check_input(self, input_dir: str) -> None:
        """Raises ValueError (one line naming the missing path) if `input_dir` lacks what the config needs; run
        by the CLI before any work starts. Default: nothing to check beyond the folder itself."""

    def manifest_path(self) -> str:
        """Where the skip manifest of this builder's prepared version lives."""
        return os.path.join(os.fspath(self.data_dir), beam_lib.MANIFEST)

    def _split_generators(self, dl_manager, pipeline):
        splits, listed = self.list_sources(os.fspath(dl_manager.manual_dir))
        splits, listed = unique_keys(splits, listed)
        make_examples = self.example_fn()
        generators, skipped = {}, []
        for split, sources in splits.items():
            if sources:
                generators[split], skips = self._generate_examples(pipeline, split, sources, make_examples)
                skipped.append(skips)
        # self.data_dir is the temporary folder TFDS renames to the version folder once the build succeeds.
        beam_lib.write_manifest(pipeline, skipped, listed, self.manifest_path())
        return generators

    def _generate_examples(self, pipeline, split: str, sources: list[SourceFile], make_examples):
        """(examples, skipped) PCollections of one split."""
        return beam_lib.examples_and_skips(pipeline, split, sources, make_examples)


def unique_keys(splits: dict[str, list[SourceFile]], listed: list[dict]):
    """Clip ids drop the suffix, so `a.mp4` and `a.webm` would collide: the first (in split, then path order)
    is kept, the others are skip records."""
    owner: dict[str, str] = {}
    kept = {}
    listed = list(listed)
    for split, sources in splits.items():
        kept[split] = []
        for source in sources:
            if source.key in owner:
                listed.append(
                    {
                        "file": source.video,
                        "reason": f"same path without suffix as {owner[source.key]} (clip ids would collide)",
                    }
                )
            else:
                owner[source.key] = source.video
                kept[split].append(source)
    return kept, listed

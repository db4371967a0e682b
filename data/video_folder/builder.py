"""`VideoFolderBuilder`: the TFDS + Beam skeleton every recorded-video builder shares.

A subclass says which files go into which split and how one file becomes examples; this class runs that as a
Beam pipeline (one work item per file), writes ArrayRecord shards through TFDS and the skip manifest beside them
(`<data_dir>/<name>/<config>/<version>/skipped.jsonl`). The input folder is TFDS's manual directory
(`tfds.download.DownloadConfig(manual_dir=...)`), so nothing is downloaded.
"""

from __future__ import annotations

import abc
import os
from typing import Callable

import tensorflow_datasets as tfds

from data.video_folder import beam as beam_lib
from data.video_folder.clips import SourceFile


class VideoFolderBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base builder: subclasses define `_info`, `list_sources` and `example_fn`."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass the folder of source videos as the manual directory (--input_dir)."

    @abc.abstractmethod
    def list_sources(self, input_dir: str) -> tuple[dict[str, list[SourceFile]], list[dict]]:
        """({split: its sources}, skip records {"file", "reason"} found while listing, e.g. a clip named by a
        split file whose video is missing). Splits without sources are left out."""

    @abc.abstractmethod
    def example_fn(self) -> Callable[[SourceFile], list[tuple[str, dict]]]:
        """A picklable function (module-level, or a functools.partial of one) from a source to its (key,
        example) pairs; raises `clips.BadFile` with a one-line reason for a file that must be skipped."""

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
                listed.append({"file": source.video, "reason": f"same path without suffix as {owner[source.key]} "
                                                               f"(clip ids would collide)"})
            else:
                owner[source.key] = source.video
                kept[split].append(source)
    return kept, listed

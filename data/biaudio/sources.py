"""Input listing and per-window filtering shared by the BiAudio and pseudo-binaural builders (on top of
data/video_folder).

Folder layout: every video (VIDEO_SUFFIXES of data/video_folder/listing.py) under the input folder, found
recursively; a top-level folder named train/, validation/ or test/ puts the videos under it in that split, anything
else goes to train. Side-cars next to a video share its path without suffix (listing.sidecars): `<stem>.wav` /
`<stem>.flac` audio (the first found used instead of the container's audio) and `<stem>.labels.json`,
{"visible": [...], "invisible": [...]} sound labels that become the caption "Visible sound: ... Invisible sound:
..." (data/biaudio/construct.caption); no labels file, no caption.

Window filters: a builder's example function may return, for a window it drops, `dropped(key, reason)` in place
of an example; `WindowFilteringBuilder` removes those from the examples and writes them into the skip manifest
as {"file": "<video path>@<start ms>", "reason"}, beside the whole files that video_folder skips.
"""

from __future__ import annotations

import json
import os

import apache_beam as beam

from data.biaudio import construct
from data.video_folder import beam as beam_lib
from data.video_folder import listing
from data.video_folder.builder import VideoFolderBuilder
from data.video_folder.clips import SourceFile

LABELS_SUFFIX = ".labels.json"
_DROPPED = "dropped_reason"


def _caption(labels_path: str) -> str:
    with open(labels_path) as f:
        labels = json.load(f)
    if (
        not isinstance(labels, dict)
        or set(labels) - {"visible", "invisible"}
        or not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in labels.values())
    ):
        raise ValueError('expected {"visible": [names], "invisible": [names]}')
    return construct.caption(labels.get("visible", []), labels.get("invisible", []))


def list_video_sources(input_dir: str) -> tuple[dict[str, list[SourceFile]], list[dict]]:
    """({split: SourceFiles in path order}, skip records for unreadable labels files) of the folder layout above."""
    splits: dict[str, list[SourceFile]] = {}
    listed = []
    for path in listing.files(input_dir, listing.VIDEO_SUFFIXES):
        key = listing.key(path, input_dir)
        top = key.split("/", 1)[0]
        split = top if top in listing.SPLITS and "/" in key else "train"
        audio = (listing.sidecars(path) or [""])[0]
        caption = ""
        labels = listing.sidecar(path, LABELS_SUFFIX)
        if os.path.isfile(labels):
            try:
                caption = _caption(labels)
            except (OSError, ValueError) as e:
                listed.append({"file": path, "reason": f"labels file {os.path.basename(labels)}: {e}"})
                continue
        splits.setdefault(split, []).append(SourceFile(video=path, key=key, audio=audio, caption=caption))
    return splits, listed


def dropped(key: str, reason: str) -> tuple[str, dict]:
    """What an example function returns for a window it drops (module docstring)."""
    return key, {_DROPPED: reason}


class WindowFilteringBuilder(VideoFolderBuilder, skip_registration=True):
    """VideoFolderBuilder over the folder layout above whose example functions may drop single windows
    (`dropped`), recorded in the manifest."""

    def list_sources(self, input_dir: str) -> tuple[dict[str, list[SourceFile]], list[dict]]:
        return list_video_sources(input_dir)

    def _generate_examples(self, pipeline, split: str, sources: list[SourceFile], make_examples):
        examples, skipped = beam_lib.examples_and_skips(pipeline, split, sources, make_examples)
        by_video = {s.key: s.video for s in sources}
        kept = examples | f"{split}/KeepWindows" >> beam.Filter(lambda kv: _DROPPED not in kv[1])
        drops = (
            examples
            | f"{split}/DroppedWindows" >> beam.Filter(lambda kv: _DROPPED in kv[1])
            | f"{split}/DropRecords" >> beam.Map(_drop_record, by_video=by_video)
        )
        return kept, (skipped, drops) | f"{split}/AllSkips" >> beam.Flatten()


def _drop_record(kv: tuple[str, dict], by_video: dict[str, str]) -> dict:
    key, start = kv[0].rsplit("@", 1)
    return {"file": f"{by_video[key]}@{start}", "reason": kv[1][_DROPPED]}

"""Finding the source files of a recorded-video builder: which suffixes count, the recursive listing, keys and
side-cars.

  VIDEO_SUFFIXES / AUDIO_SUFFIXES  the video containers and the side-car audio formats every builder reads.
  SPLITS                           the splits a builder sorts its sources into.
  files(root, suffixes, exclude)   every path under root ending in one of the suffixes, recursively, in path order
                                   (a folder's own files first, then its subfolders by name).
  key(path, root)                  path relative to root without suffix, '/'-separated: the SourceFile key.
  stem / by_stem                   a file's name without folder and suffix; {stem: paths} for matching by stem.
  sidecar(video, suffix)           `<video path without suffix><suffix>`: where a side-car of `video` lives.
  sidecars(video, suffixes)        the side-cars of `video` with one of the suffixes that exist.

The split protocols (folders, split files) and what a builder does with several side-cars are its own business.
"""

from __future__ import annotations

import os

VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v")
AUDIO_SUFFIXES = (".wav", ".flac")
SPLITS = ("train", "validation", "test")


def files(root: str, suffixes: tuple[str, ...], exclude: str = "") -> list[str]:
    """Paths under `root` (recursive, sorted) whose name ends in one of `suffixes` (any case); `exclude` is a
    folder to leave out."""
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if os.path.join(folder, d) != exclude)
        out += [os.path.join(folder, n) for n in sorted(names) if n.lower().endswith(suffixes)]
    return out


def key(path: str, root: str) -> str:
    """`path` relative to `root` without its suffix, '/'-separated (clip ids are '<key>@<start ms>')."""
    return os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, "/")


def stem(name: str) -> str:
    """The file name of `name` (a path, or a line of a split file) without folder and suffix."""
    return os.path.splitext(os.path.basename(name.strip()))[0]


def by_stem(paths: list[str]) -> dict[str, list[str]]:
    """{stem: the paths with that stem, in the given order}."""
    index: dict[str, list[str]] = {}
    for p in paths:
        index.setdefault(stem(p), []).append(p)
    return index


def sidecar(video: str, suffix: str) -> str:
    """The side-car path of `video` with `suffix` (e.g. '.wav', '.labels.json'), whether or not it exists."""
    return os.path.splitext(os.fspath(video))[0] + suffix


def sidecars(video: str, suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> list[str]:
    """The side-cars of `video` with one of `suffixes` that exist, in the order of `suffixes`."""
    return [p for p in (sidecar(video, s) for s in suffixes) if os.path.isfile(p)]

"""Where the sounding object is in each frame, for the pseudo-binaural construction: a position file the user
supplies per clip, or a saliency fallback.

Position file: `<video path without suffix>.positions.csv` next to the video, a header `time_s,x,y` and one row
per observation: time in seconds from the video's start, x and y as fractions of the frame's width and height
(0..1, left/top = 0; the conventions of data/binaural_synth/raster.py), x and y left empty when the object is not
visible at that time; the fractions are mapped into the stored frame through the builder's crop or letterbox.
Frame t (time start_s + t / fps) takes the position interpolated linearly between the two
rows around it when both have one, the position of a row within half a frame of it otherwise, and none (NaN)
otherwise, e.g. before the first or after the last row, or next to an empty row.

Fallback ('saliency'): v2a_jax.evaluation.localiser.screen_x, the centroid of the pixels farthest in colour from
the frame's median (the benchmark's two-stage-baseline localiser). It gives the horizontal position only; the
vertical one is taken as the frame's centre row (elevation 0). It suits a small distinct object against a
uniform background and is a weak guess on cluttered real video, so supply position files where it matters.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from data.video_folder import listing
from v2a_jax.evaluation import localiser

POSITIONS_SUFFIX = ".positions.csv"
LOCALISERS = ("file", "saliency", "file_or_saliency")


def positions_path(video_path: str) -> str:
    """The position file that belongs to video_path."""
    return listing.sidecar(video_path, POSITIONS_SUFFIX)


def read_positions(path: str) -> np.ndarray:
    """Rows [K, 3] (time_s, x, y) of a position file, sorted by time; x, y NaN where left empty.

    Raises:
      ValueError naming the file (and line) for a missing file, a wrong header, a non-numeric value or an x or
      y outside [0, 1].
    """
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such position file")
    rows = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if header != ["time_s", "x", "y"]:
            raise ValueError(f"{path}: header must be 'time_s,x,y', got {','.join(header)!r}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                t, x, y = (float(v) if v.strip() else np.nan for v in row)
            except ValueError:
                raise ValueError(f"{path}:{line}: expected 3 numbers time_s,x,y, got {','.join(row)!r}") from None
            if (
                not np.isfinite(t)
                or any(np.isfinite(v) and not 0 <= v <= 1 for v in (x, y))
                or np.isfinite(x) != np.isfinite(y)
            ):
                raise ValueError(
                    f"{path}:{line}: need a time and x, y in [0, 1] (both or neither), got {','.join(row)!r}"
                )
            rows.append((t, x, y))
    if not rows:
        raise ValueError(f"{path}: has no positions")
    out = np.asarray(rows, np.float64)
    return out[np.argsort(out[:, 0], kind="stable")]


def positions_at_frames(rows: np.ndarray, start_s: float, num_frames: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (x, y) [num_frames] as fractions of the source frame, of frames start_s + t / fps, from
    position-file rows (module docstring); NaN where there is none."""
    times = start_s + np.arange(num_frames) / fps
    row_t, known = rows[:, 0], np.isfinite(rows[:, 1])
    out = []
    for column in (1, 2):
        values = np.full(num_frames, np.nan)
        if len(rows) > 1:
            hi = np.clip(np.searchsorted(row_t, times, side="right"), 1, len(rows) - 1)
            lo = hi - 1
            between = (row_t[lo] <= times) & (times <= row_t[hi]) & known[lo] & known[hi]
            w = (times - row_t[lo]) / np.where(row_t[hi] > row_t[lo], row_t[hi] - row_t[lo], 1.0)
            values = np.where(between, (1 - w) * rows[lo, column] + w * rows[hi, column], np.nan)
        nearest = np.abs(times[:, None] - row_t[None, :]).argmin(axis=1)
        close = np.abs(row_t[nearest] - times) <= 0.5 / fps
        out.append(np.where(np.isnan(values) & close, rows[nearest, column], values))
    return out[0], out[1]


def to_stored_pixels(
    x_frac, y_frac, source_height: int, source_width: int, height: int, width: int, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of the source frame -> continuous pixel coordinates in the stored frame, through the same
    scaling and crop/letterbox as data/video_folder/media.fit_frame (positions cropped away fall outside
    [0, width) x [0, height))."""
    scale = (max if mode == "crop" else min)(height / source_height, width / source_width)
    if mode == "crop":
        new_w, new_h = max(width, round(source_width * scale)), max(height, round(source_height * scale))
        left, top = -((new_w - width) // 2), -((new_h - height) // 2)
    else:
        new_w = min(width, max(1, round(source_width * scale)))
        new_h = min(height, max(1, round(source_height * scale)))
        left, top = (width - new_w) // 2, (height - new_h) // 2
    return left + np.asarray(x_frac) * new_w, top + np.asarray(y_frac) * new_h


def saliency_positions(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fallback positions (x, y) [T] of uint8 frames [T, H, W, 3]: the saliency centroid's column and the centre
    row; x NaN where nothing is salient."""
    video = np.asarray(frames, np.float32)[None] / 127.5 - 1.0
    x = localiser.screen_x(video)[0]
    return x, np.where(np.isfinite(x), frames.shape[1] / 2, np.nan)

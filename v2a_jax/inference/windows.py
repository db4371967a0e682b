"""Covering a clip of any length with fixed-length generation windows, and joining their audio.

The generator is trained on clips of one duration. A clip is covered by windows of that duration at a fixed hop,
neighbours overlapping by a requested number of video frames; the frames the last window needs past the clip's
end (and those of a clip shorter than one window) are padded by the caller, their audio cut. The generated
windows are joined by crossfading every overlap with the same gain curve on both ears, so the interaural time
and level differences stay continuous across the seam.

Fades over an overlap of M samples use the ramp r_i = (i + 0.5) / M:
  "linear":      fade-in r, fade-out 1 - r. The gains sum to 1: identical windows join into the same signal.
  "equal_power": fade-in sin(pi r / 2), fade-out cos(pi r / 2). The squared gains sum to 1: independent windows
                 (separately sampled noise) keep their loudness through the seam instead of dipping 3 dB.
"""

from __future__ import annotations

import math

import numpy as np

FADES = ("linear", "equal_power")


def window_starts(num_frames: int, window: int, overlap: int) -> np.ndarray:
    """Start frames int64 [K] of `window`-frame windows covering frames [0, num_frames): every `window - overlap`
    frames from 0, as few as cover the clip, so neighbours share exactly `overlap` frames. The last window may run
    past the clip's end (the caller pads its frames and cuts its audio). Requires 0 <= overlap <= window // 2
    (so that no frame is in three windows)."""
    if num_frames < 1 or window < 1:
        raise ValueError(f"window_starts: num_frames={num_frames} and window={window} must be >= 1")
    if not 0 <= overlap <= window // 2:
        raise ValueError(f"window_starts: overlap={overlap} must be in [0, window // 2 = {window // 2}]")
    hop = window - overlap
    count = max(1, math.ceil((num_frames - window) / hop) + 1)
    return np.arange(count, dtype=np.int64) * hop


def fade_curves(length: int, fade: str) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) float32 [length] gain curves of the module docstring."""
    if fade not in FADES:
        raise ValueError(f"fade={fade!r}: expected one of {FADES}")
    r = (np.arange(length, dtype=np.float64) + 0.5) / max(length, 1)
    if fade == "linear":
        fade_in, fade_out = r, 1.0 - r
    else:
        fade_in, fade_out = np.sin(0.5 * np.pi * r), np.cos(0.5 * np.pi * r)
    return fade_in.astype(np.float32), fade_out.astype(np.float32)


def crossfade(windows: np.ndarray, starts: np.ndarray, num_samples: int, fade: str) -> np.ndarray:
    """Joins windows [K, C, L] (channels C, e.g. the two ears) placed at sample offsets `starts` [K] (increasing,
    the first 0, each overlap at most L / 2) into [C, num_samples]: overlaps crossfaded with `fade`, the part
    past `num_samples` cut. Every channel gets the same gains."""
    k, c, length = windows.shape
    starts = np.asarray(starts, np.int64)
    if starts.shape != (k,) or starts[0] != 0 or np.any(np.diff(starts) <= 0):
        raise ValueError(f"crossfade: starts {starts.tolist()} must be {k} increasing offsets from 0")
    if np.any(np.diff(starts) < length - length // 2):
        raise ValueError(f"crossfade: starts {starts.tolist()} overlap windows of {length} samples by more than half")
    if starts[-1] + length < num_samples:
        raise ValueError(f"crossfade: windows end at sample {starts[-1] + length}, before num_samples={num_samples}")
    out = np.zeros((c, starts[-1] + length), np.float32)
    for i in range(k):
        gain = np.ones((length,), np.float32)
        if i > 0:
            overlap = starts[i - 1] + length - starts[i]
            if overlap > 0:
                gain[:overlap] *= fade_curves(overlap, fade)[0]
        if i < k - 1:
            overlap = starts[i] + length - starts[i + 1]
            if overlap > 0:
                gain[length - overlap :] *= fade_curves(overlap, fade)[1]
        out[:, starts[i] : starts[i] + length] += windows[i] * gain
    return out[:, :num_samples]

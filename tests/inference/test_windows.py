"""Generation windows: starts cover the clip with the requested overlap; crossfades keep identical windows
unchanged (linear) and independent windows' loudness (equal power), with the same gains on both ears."""

import numpy as np
import pytest

from v2a_jax.inference import windows


@pytest.mark.parametrize(
    "num_frames,window,overlap", [(62, 32, 8), (33, 32, 8), (200, 32, 16), (64, 32, 0), (100, 7, 3)]
)
def test_window_starts_cover_the_clip_with_the_overlap(num_frames, window, overlap):
    starts = windows.window_starts(num_frames, window, overlap)
    covered = np.zeros(num_frames, int)
    for s in starts:
        covered[s : s + window] += 1
    assert starts[0] == 0 and covered.min() >= 1 and covered.max() <= 2
    assert np.all(np.diff(starts) == window - overlap)  # neighbours share exactly `overlap` frames
    assert starts[-1] + window >= num_frames > starts[-1]  # the last window is needed and reaches the end


def test_a_clip_within_one_window_gets_one_window():
    assert windows.window_starts(20, 32, 8).tolist() == [0]
    assert windows.window_starts(32, 32, 8).tolist() == [0]


def test_overlap_beyond_half_a_window_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        windows.window_starts(100, 32, 17)


def _cut(signal, starts, length):
    return np.stack([signal[:, s : s + length] for s in starts])


def test_linear_crossfade_of_identical_windows_reproduces_the_signal():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((2, 1000)).astype(np.float32)
    starts = np.array([0, 300, 600])
    joined = windows.crossfade(_cut(signal, starts, 300 + 100), starts, 1000, "linear")
    np.testing.assert_allclose(joined, signal, atol=1e-5)


def test_equal_power_crossfade_keeps_the_loudness_of_independent_windows():
    rng = np.random.default_rng(1)
    length, starts = 4000, np.array([0, 2000])
    parts = rng.standard_normal((2, 2, length)).astype(np.float32)  # two independent unit-power windows
    joined = windows.crossfade(parts, starts, 6000, "equal_power")
    seam = joined[:, 2000:4000]
    assert abs(np.mean(seam**2) - 1.0) < 0.05
    linear_seam = windows.crossfade(parts, starts, 6000, "linear")[:, 2000:4000]
    assert np.mean(linear_seam**2) < 0.75  # the 3 dB dip that equal power avoids (expected 2/3)


@pytest.mark.parametrize("fade", windows.FADES)
def test_both_ears_get_the_same_gains(fade):
    # Left = 2 x right in every window: any gain applied per ear alike keeps the ratio (the interaural level).
    rng = np.random.default_rng(2)
    right = rng.standard_normal((3, 1, 500)).astype(np.float32)
    parts = np.concatenate([2 * right, right], axis=1)
    joined = windows.crossfade(parts, np.array([0, 300, 600]), 1100, fade)
    np.testing.assert_allclose(joined[0], 2 * joined[1], rtol=1e-5, atol=1e-6)


def test_the_tail_past_the_clip_is_cut():
    parts = np.ones((1, 2, 100), np.float32)
    assert windows.crossfade(parts, np.array([0]), 60, "linear").shape == (2, 60)

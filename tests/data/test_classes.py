"""Tests for data/binaural_synth/classes.py: looks are distinct, sounds are well-formed and tell classes apart."""

import itertools

import numpy as np
import pytest

from data.binaural_synth import classes, raster

SR = 16000


def test_class_table_is_distinct_in_look_and_name():
    assert len(classes.CLASSES) >= 8
    assert classes.CLASS_NAMES == tuple(c.name for c in classes.CLASSES)
    assert len(set(classes.CLASS_NAMES)) == len(classes.CLASSES)
    assert len({c.shape for c in classes.CLASSES}) == len(classes.CLASSES)
    assert all(c.shape in raster.SHAPES for c in classes.CLASSES)
    rgb = np.array([c.colour for c in classes.CLASSES], np.float64)
    assert rgb.min() >= 0 and rgb.max() <= 255
    # Saturated (far from grey, unlike the backdrop) and pairwise well apart.
    assert np.all(rgb.max(1) - rgb.min(1) >= 150)
    for a, b in itertools.combinations(range(len(rgb)), 2):
        assert np.linalg.norm(rgb[a] - rgb[b]) > 80, (classes.CLASS_NAMES[a], classes.CLASS_NAMES[b])


@pytest.mark.parametrize("sr", [16000, 8000])
def test_synth_length_dtype_level_and_band_limit(sr):
    for c in classes.CLASSES:
        x = c.synth(np.random.default_rng(0), 4001, sr)
        assert x.shape == (4001,) and x.dtype == np.float32, c.name
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(np.sqrt(np.mean(x.astype(np.float64) ** 2)), classes.LEVEL_RMS, rtol=1e-3)
        power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
        # Nothing close to Nyquist (no aliasing at 8 kHz).
        assert power[freqs > 0.47 * sr].sum() < 0.01 * power.sum(), c.name


def test_synth_is_seeded_and_varies_per_event():
    for c in classes.CLASSES:
        a = c.synth(np.random.default_rng(1), 2000, SR)
        np.testing.assert_array_equal(a, c.synth(np.random.default_rng(1), 2000, SR))
        assert not np.allclose(a, c.synth(np.random.default_rng(2), 2000, SR)), c.name


def _log_band_spectrum(x: np.ndarray) -> np.ndarray:
    """Spectral shape: mean power spectrum of 512-sample Hann frames in 32 linear bands, in dB relative to the
    strongest band with a -40 dB floor (level-free, and near-silent bands do not dominate): [32]."""
    frames = x[: x.size // 512 * 512].astype(np.float64).reshape(-1, 512) * np.hanning(512)
    bands = np.mean(np.abs(np.fft.rfft(frames, axis=-1)) ** 2, axis=0)[1:].reshape(32, 8).sum(-1)
    return 10 * np.log10(bands / bands.max() + 1e-4)


def test_nearest_spectral_template_identifies_every_class():
    templates = np.stack(
        [
            np.mean([_log_band_spectrum(c.synth(np.random.default_rng(s), 16384, SR)) for s in range(3)], axis=0)
            for c in classes.CLASSES
        ]
    )
    for label, c in enumerate(classes.CLASSES):
        for seed in (100, 101, 102):
            feature = _log_band_spectrum(c.synth(np.random.default_rng(seed), 8192, SR))
            dist = np.sqrt(np.mean((templates - feature) ** 2, axis=-1))
            assert np.argmin(dist) == label, (c.name, np.round(dist, 1))
            # With a margin: the second-best template is clearly farther.
            assert np.sort(dist)[1] > 1.5 * dist[label], (c.name, np.round(dist, 1))


def test_spectral_centroids_differ():
    centroids = []
    for c in classes.CLASSES:
        x = c.synth(np.random.default_rng(5), 16000, SR).astype(np.float64)
        power = np.abs(np.fft.rfft(x)) ** 2
        centroids.append(np.sum(np.fft.rfftfreq(x.size, 1 / SR) * power) / power.sum())
    gaps = np.diff(np.sort(centroids))
    assert gaps.min() > 20.0, np.round(np.sort(centroids))

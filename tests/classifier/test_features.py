import numpy as np
import pytest
import scipy.signal

from v2a_jax.classifier.features import LogMelConfig, hz_to_mel, log_mel, mel_filterbank
from v2a_jax.metrics.binaural import stft


def test_mel_filters_are_triangles_that_sum_to_one_between_the_outer_centres():
    fb = mel_filterbank(1024, 16000, 20, 100.0, 6000.0)
    freqs = np.fft.rfftfreq(1024, 1 / 16000)
    centres = np.linspace(hz_to_mel(100.0), hz_to_mel(6000.0), 22)[1:-1]
    inside = (hz_to_mel(freqs) >= centres[0]) & (hz_to_mel(freqs) <= centres[-1])
    # Neighbouring triangles are linear in mel and cross at half height: they partition unity.
    np.testing.assert_allclose(fb[inside].sum(axis=1), 1.0, atol=1e-6)
    assert np.all(fb[(freqs < 100.0) | (freqs > 6000.0)] == 0.0)
    # Each filter peaks at the bin nearest its centre, in mel.
    peaks = np.argmax(fb, axis=0)
    np.testing.assert_array_equal(peaks, np.argmin(np.abs(hz_to_mel(freqs)[:, None] - centres), axis=0))


def test_a_tone_lights_up_its_band():
    cfg = LogMelConfig(n_mels=32)
    t = np.arange(8000) / 16000
    mel = np.asarray(log_mel(0.1 * np.sin(2 * np.pi * 1000.0 * t), cfg))
    centres_hz = 700.0 * np.expm1(np.linspace(hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax), 34)[1:-1] / 1127.0)
    assert np.argmax(mel.mean(axis=0)) == np.argmin(np.abs(centres_hz - 1000.0))


def test_centred_log_mel_matches_the_metrics_stft():
    cfg = LogMelConfig()
    x = np.random.default_rng(0).normal(size=(2, 3, 4000)).astype(np.float32) * 0.1
    expected = np.log(
        np.swapaxes(np.abs(stft(x, cfg.n_fft, cfg.hop, cfg.win_length)) ** 2, -1, -2)
        @ mel_filterbank(cfg.n_fft, 16000, cfg.n_mels, cfg.fmin, cfg.fmax)
        + cfg.log_offset
    )
    got = np.asarray(log_mel(x, cfg))
    assert got.shape == (2, 3, 1 + 4000 // 160, 64) == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-3)


def test_uncentred_magnitude_log_mel_matches_numpy_framing():
    """VGGish's framing: win_length frames from sample 0, zero-padded to n_fft, magnitude, log(mel + 0.01)."""
    cfg = LogMelConfig(power=1.0, center=False, log_offset=0.01, fmin=125.0, fmax=7500.0)
    x = np.random.default_rng(1).normal(size=3000) * 0.1
    num = 1 + (3000 - 400) // 160
    frames = np.stack([x[i * 160 : i * 160 + 400] for i in range(num)])
    spec = np.abs(np.fft.rfft(frames * scipy.signal.get_window("hann", 400), n=512))
    expected = np.log(spec @ mel_filterbank(512, 16000, 64, 125.0, 7500.0) + 0.01)
    np.testing.assert_allclose(np.asarray(log_mel(x, cfg)), expected, atol=1e-4)


def test_silence_floors_at_log_offset_and_short_input_is_rejected():
    cfg = LogMelConfig()
    np.testing.assert_allclose(np.asarray(log_mel(np.zeros(1000), cfg)), np.log(cfg.log_offset), rtol=1e-6)
    with pytest.raises(ValueError, match="too short"):
        log_mel(np.zeros(100), cfg)
    with pytest.raises(ValueError, match="shorter than one"):
        log_mel(np.zeros(100), LogMelConfig(center=False))
    with pytest.raises(ValueError, match="fmax"):
        LogMelConfig(fmax=9000.0)

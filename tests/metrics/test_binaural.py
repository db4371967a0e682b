"""Known-answer tests of v2a_jax.metrics.binaural on independently constructed signals."""

import numpy as np
import pytest
import scipy.signal

from v2a_jax.metrics import binaural as bm

SR = 16000


def frac_delay(x, d, taps=129, beta=8.0):
    """x delayed by d samples (any real d) with a Kaiser-windowed sinc centred on the delay (linear phase)."""
    n = np.arange(taps)
    centre, half = taps // 2 + d, taps // 2
    window = np.i0(beta * np.sqrt(np.clip(1.0 - ((n - centre) / half) ** 2, 0.0, None))) / np.i0(beta)
    return np.convolve(x, np.sinc(n - centre) * window)[half : half + len(x)]


@pytest.fixture(scope="module")
def noise():
    return 0.3 * np.random.default_rng(0).standard_normal(8000)


@pytest.fixture(scope="module")
def stereo_noise():
    return (0.3 * np.random.default_rng(1).standard_normal((3, 2, 4000))).astype(np.float32)


def test_stft_matches_scipy_with_even_extension(noise):
    window = np.zeros(512)
    window[56:456] = scipy.signal.get_window("hann", 400)
    # scipy's "even" boundary is numpy's "reflect" padding; its "spectrum" scaling divides by sum(window).
    _, _, ref = scipy.signal.stft(
        noise, window=window, nperseg=512, noverlap=512 - 160, nfft=512, boundary="even", padded=False
    )
    ours = bm.stft(noise)
    assert ours.shape == (257, 1 + len(noise) // 160)
    np.testing.assert_allclose(ours, ref * window.sum(), atol=1e-9)


def test_identical_inputs_give_zero_distances(stereo_noise):
    x = stereo_noise
    for fn in (
        bm.stft_distance,
        bm.env_distance,
        bm.mag_distance,
        bm.phs_distance,
        bm.delta_ild_db,
        bm.delta_band_ild_db,
        bm.delta_iacc,
        bm.multires_log_spectral_distance,
    ):
        out = fn(x, x)
        assert out.shape == (3,)
        np.testing.assert_allclose(out, 0.0, atol=1e-9, err_msg=fn.__name__)
    power = np.mean(x.astype(np.float64) ** 2, axis=(-2, -1))
    np.testing.assert_allclose(bm.snr_db(x, x), 10 * np.log10((power + 1e-4) / 1e-4), rtol=1e-6)
    delta, count = bm.delta_itd_us(x, x)
    np.testing.assert_allclose(delta, 0.0, atol=1e-6)
    assert np.all(count == 6)  # 1 + (4000 - 1024) // 512


def test_mag_is_twice_stft_distance(stereo_noise):
    pred = stereo_noise
    gt = np.roll(stereo_noise, 1, axis=0) * 0.5
    np.testing.assert_allclose(bm.mag_distance(pred, gt), 2.0 * bm.stft_distance(pred, gt), rtol=1e-12)
    assert np.all(bm.stft_distance(pred, gt) > 0)


def test_env_distance_of_scaled_sines():
    t = np.arange(16000) / SR
    gt = np.stack([0.8 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 1000 * t)])
    # Whole numbers of cycles: the FFT Hilbert envelope of a sine is its amplitude exactly.
    np.testing.assert_allclose(bm.env_distance(0.5 * gt, gt), 0.5 * 0.8 + 0.5 * 0.4, rtol=1e-9)


def test_snr_known_values():
    t = np.arange(8000) / SR
    gt = np.stack([np.sin(2 * np.pi * 500 * t)] * 2)  # mean square exactly 0.5
    np.testing.assert_allclose(bm.snr_db(np.zeros_like(gt), gt), 0.0, atol=1e-9)
    np.testing.assert_allclose(bm.snr_db(1.1 * gt, gt), 10 * np.log10(0.5001 / (0.01 * 0.5 + 1e-4)), rtol=1e-9)


@pytest.mark.parametrize("delay", [0.0, 1.0, 4.0, -6.0, 3.375, -2.625, 10.8, 0.3])
def test_gcc_phat_itd_of_pure_delay(noise, delay):
    right = frac_delay(noise, delay)  # right lags left by `delay` samples: left leads when delay > 0
    itd, valid = bm.gcc_phat_itd(np.stack([noise, right]).astype(np.float32), SR)
    assert valid.all() and itd.shape == (1 + (8000 - 1024) // 512,)
    np.testing.assert_allclose(itd, delay / SR, atol=3e-6)
    swapped, _ = bm.gcc_phat_itd(np.stack([right, noise]), SR)
    np.testing.assert_allclose(swapped, -delay / SR, atol=3e-6)


def test_gcc_phat_integer_delay_without_interpolation(noise):
    # interp = 1 is the plain estimator; an integer delay puts the peak on the sample grid (up to frame-edge
    # asymmetry of the neighbours used by the parabolic step).
    left, right = noise[10:7010], noise[5:7005]  # right[n] = left[n - 5]
    itd, _ = bm.gcc_phat_itd(np.stack([left, right]), SR, interp=1)
    np.testing.assert_allclose(itd, 5 / SR, atol=1e-6)


def test_gcc_phat_lag_limit_and_silent_frames(noise):
    x = np.stack([noise, frac_delay(noise, 30.0)])  # 1.9 ms: outside +-1 ms
    itd, _ = bm.gcc_phat_itd(x, SR)
    assert np.all(np.abs(itd) <= 1e-3 + 1e-12)
    wide, _ = bm.gcc_phat_itd(x, SR, max_lag_s=2.5e-3)
    np.testing.assert_allclose(wide[1:], 30 / SR, atol=3e-6)
    half_silent = np.stack([noise, frac_delay(noise, 2.0)])
    half_silent[:, :4096] = 0.0
    itd, valid = bm.gcc_phat_itd(half_silent, SR)
    assert not valid[:4].any() and valid[8:].all()
    assert np.isnan(itd[~valid]).all() and np.isfinite(itd[valid]).all()


def test_delta_itd_us(noise):
    pred = np.stack([noise, frac_delay(noise, 3.0)])
    gt = np.stack([noise, frac_delay(noise, -1.0)])
    delta, count = bm.delta_itd_us(pred[None], gt[None], SR)
    assert delta.shape == (1,) and count[0] == 14
    np.testing.assert_allclose(delta, 4.0 / SR * 1e6, atol=3.0)


def test_ild_of_gain(noise):
    g = 2.5
    x = np.stack([g * noise, noise])
    expected = 20 * np.log10(g)
    np.testing.assert_allclose(bm.ild_db(x), expected, atol=1e-6)
    np.testing.assert_allclose(bm.band_ild_db(x, SR), np.full(6, expected), atol=1e-6)
    frames, valid = bm.framewise_ild_db(x)
    assert valid.all()
    np.testing.assert_allclose(frames, expected, atol=1e-6)
    np.testing.assert_allclose(bm.ild_db(x[::-1]), -expected, atol=1e-6)
    np.testing.assert_allclose(bm.delta_ild_db(x, x[::-1]), 2 * expected, atol=1e-6)


def test_band_ild_sees_the_band_of_the_level_difference(noise):
    # Extra left energy only in the 1 kHz octave (707-1414 Hz): other bands stay near 0 dB.
    sos = scipy.signal.butter(8, [800, 1250], btype="bandpass", fs=SR, output="sos")
    left = noise + 3.0 * scipy.signal.sosfiltfilt(sos, noise)
    ild = bm.band_ild_db(np.stack([left, noise]), SR)
    edges = bm.octave_band_edges(SR)
    np.testing.assert_allclose(edges[:, 0] * np.sqrt(2), [125, 250, 500, 1000, 2000, 4000])
    assert ild[3] > 10.0
    assert np.all(np.abs(ild[[0, 1, 5]]) < 0.5)


def test_swapped_ears_phase_distance_is_pi(stereo_noise):
    # L - R negates, so every STFT bin of the difference signal is exactly anti-phase.
    np.testing.assert_allclose(bm.phs_distance(stereo_noise[:, ::-1], stereo_noise), np.pi, atol=1e-6)


def test_iacc_known_values(noise):
    np.testing.assert_allclose(bm.iacc(np.stack([noise, noise])), 1.0, atol=1e-12)
    np.testing.assert_allclose(bm.iacc(np.stack([noise, -noise])), 1.0, atol=1e-12)  # |IACF| (ISO 3382-1)
    shifted = np.stack([noise[5:7005], noise[:7000]])  # 5 samples = 0.31 ms, within the 1 ms range
    overlap = np.sum(noise[5:7000] ** 2) / np.sqrt(np.sum(noise[5:7005] ** 2) * np.sum(noise[:7000] ** 2))
    np.testing.assert_allclose(bm.iacc(shifted), overlap, rtol=1e-9)
    far = np.stack([noise[40:7040], noise[:7000]])  # 2.5 ms: outside the lag range
    assert bm.iacc(far) < 0.1
    other = np.random.default_rng(5).standard_normal(8000)
    assert bm.iacc(np.stack([noise, other])) < 0.1


def test_multires_lsd_of_gain(stereo_noise):
    lsd = bm.multires_log_spectral_distance(0.5 * stereo_noise, stereo_noise)
    np.testing.assert_allclose(lsd, 20 * np.log10(2.0), rtol=1e-3)
    mono = bm.multires_log_spectral_distance(stereo_noise[:, :1], 2.0 * stereo_noise[:, :1], fft_sizes=(512,))
    np.testing.assert_allclose(mono, 20 * np.log10(2.0), rtol=1e-3)


def test_silence_gives_no_nan(stereo_noise):
    silence = np.zeros((2, 4000), np.float32)
    out = bm.binaural_metrics(silence, silence, SR)
    assert out["itd_valid_frames"] == 0 and np.isnan(out["delta_itd_us"])  # the only documented NaN
    assert all(np.isfinite(v) for k, v in out.items() if k != "delta_itd_us")
    assert out["snr_db"] == 0.0 and out["stft"] == 0.0 and out["lsd_db"] == 0.0
    vs_noise = bm.binaural_metrics(silence, stereo_noise[0], SR)
    assert all(np.isfinite(v) for k, v in vs_noise.items() if k != "delta_itd_us")
    assert bm.iacc(silence) == 0.0 and bm.ild_db(silence) == 0.0


def test_binaural_metrics_averages_per_clip_values(stereo_noise):
    pred, gt = stereo_noise, 0.7 * stereo_noise[::-1]
    out = bm.binaural_metrics(pred, gt, SR)
    assert set(out) == {
        "stft",
        "env",
        "mag",
        "phs",
        "snr_db",
        "lsd_db",
        "delta_ild_db",
        "delta_band_ild_db",
        "delta_iacc",
        "delta_itd_us",
        "itd_valid_frames",
    }
    np.testing.assert_allclose(out["mag"], 2 * out["stft"], rtol=1e-12)
    np.testing.assert_allclose(out["env"], np.mean(bm.env_distance(pred, gt)), rtol=1e-12)
    delta, count = bm.delta_itd_us(pred, gt, SR)
    assert out["itd_valid_frames"] == count.sum()
    np.testing.assert_allclose(out["delta_itd_us"], np.sum(delta * count) / count.sum(), rtol=1e-9)


def test_peak_normalised_metrics_use_each_clips_own_peak():
    """The FAIR-Play scripts' scale: a quieter copy scores 0; a lost ear scores its normalised envelope."""
    t = np.arange(16000) / SR
    gt = np.stack([0.8 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 1000 * t)])  # peak 0.8 (left)
    quiet = bm.peak_normalised_metrics(0.25 * gt, gt)
    assert quiet["stft_peak_norm"] == pytest.approx(0.0, abs=1e-20) and quiet["env_peak_norm"] == pytest.approx(0.0)
    assert quiet["snr_peak_norm_db"] == pytest.approx(10 * np.log10((np.mean((gt / 0.8) ** 2) + 1e-4) / 1e-4))
    assert bm.env_distance(0.25 * gt, gt) == pytest.approx(0.75 * 0.8 + 0.75 * 0.4)  # the plain scale differs
    no_right = gt * np.array([[1.0], [0.0]])  # same peak: the right ear's normalised amplitude 0.5 is lost
    for scale in (1.0, 3.0):
        out = bm.peak_normalised_metrics(scale * no_right, gt)
        assert out["env_peak_norm"] == pytest.approx(0.4 / 0.8, rel=1e-9)
        assert out["mag_peak_norm"] == pytest.approx(2 * out["stft_peak_norm"], rel=1e-12)
    # Per clip: a batch of the clip and its tenfold quieter copy scores as the clip alone.
    batch = bm.peak_normalised_metrics(np.stack([no_right, 0.1 * no_right]), np.stack([gt, gt]))
    assert batch == pytest.approx(bm.peak_normalised_metrics(no_right, gt), rel=1e-9)


@pytest.mark.parametrize(
    "pred_shape, gt_shape",
    [((2, 100), (2, 101)), ((3, 2, 100), (2, 2, 100)), ((100,), (100,)), ((1, 100), (1, 100)), ((3, 100), (3, 100))],
)
def test_bad_shapes_raise(pred_shape, gt_shape):
    with pytest.raises(ValueError):
        bm.binaural_metrics(np.zeros(pred_shape), np.zeros(gt_shape))
    with pytest.raises(ValueError):
        bm.stft_distance(np.zeros(pred_shape), np.zeros(gt_shape))

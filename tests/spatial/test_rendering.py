"""Physics checks of the spherical-head renderer and the reverb, measured on the rendered output only."""

import numpy as np
import pytest
from scipy.signal.windows import blackmanharris

from v2a_jax.spatial import geometry, hrtf, renderer

FS = 16000


def measure_itd(left, right, sample_rate, *, upsample=16, max_lag_s=1e-3):
    """Broadband ITD in seconds (> 0 when `left` leads) by plain cross-correlation.

    The cross-spectrum is zero-padded `upsample`-fold (band-limited interpolation of the cross-correlation) and
    the peak refined with a parabola through its neighbours.
    """
    n_fft = 2 * len(left)
    cross = np.fft.rfft(left, n_fft) * np.conj(np.fft.rfft(right, n_fft))
    cc = np.fft.irfft(cross, n_fft * upsample)  # cc[k] = sum_t left[t + k / upsample] right[t]
    m = int(max_lag_s * sample_rate * upsample)
    cc = np.concatenate([cc[-m:], cc[: m + 1]])
    k = int(np.argmax(cc))
    y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
    lag = (k - m + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)) / (sample_rate * upsample)
    return -lag  # a positive lag means the left channel is the later one


def octave_band_ild(left, right, sample_rate, centres):
    """ILD in dB per octave band (band energies from the FFT), > 0 when left is louder."""
    f = np.fft.rfftfreq(len(left), 1 / sample_rate)
    el, er = np.abs(np.fft.rfft(left)) ** 2, np.abs(np.fft.rfft(right)) ** 2
    out = []
    for fc in centres:
        band = (f >= fc / np.sqrt(2)) & (f < fc * np.sqrt(2))
        out.append(10 * np.log10(el[band].sum() / er[band].sum()))
    return np.array(out)


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).standard_normal(FS)


@pytest.mark.parametrize("sample_rate", [16000, 48000])
def test_broadband_itd_matches_woodworth(sample_rate):
    x = np.random.default_rng(1).standard_normal(sample_rate // 2)
    head = hrtf.SphericalHeadHRTF(sample_rate=sample_rate)
    for az in (30, 60, 90, -30, -60, -90):
        y = renderer.render_moving_source(x, az, 0.0, 1.0, head)
        itd = measure_itd(y[0], y[1], sample_rate)
        expected = geometry.woodworth_itd(az)
        assert np.sign(itd) == np.sign(az), (az, itd)
        assert abs(itd / expected - 1) < 0.05, (sample_rate, az, itd, expected)


def test_ild_positive_for_left_grows_with_frequency_and_mirrors(noise):
    head = hrtf.SphericalHeadHRTF()
    centres = [250, 500, 1000, 2000, 4000]
    for az in (30, 60, 90):
        left_src = renderer.render_moving_source(noise, az, 0.0, 1.0, head)
        right_src = renderer.render_moving_source(noise, -az, 0.0, 1.0, head)
        ild = octave_band_ild(left_src[0], left_src[1], FS, centres)
        assert np.all(ild > 0), (az, ild)
        assert np.all(np.diff(ild) > 0), (az, ild)
        assert ild[-1] > 5.0, (az, ild)  # the head shadows the far ear strongly above a few kHz
        mirrored = octave_band_ild(right_src[0], right_src[1], FS, centres)
        np.testing.assert_allclose(mirrored, -ild, atol=1e-3)


def test_frontal_and_median_plane_sources_give_identical_ears(noise):
    head = hrtf.SphericalHeadHRTF()
    for az, el in ((0, 0), (0, 40), (180, 0)):
        y = renderer.render_moving_source(noise, az, el, 1.0, head)
        np.testing.assert_allclose(y[0], y[1], rtol=0, atol=1e-6)


def test_frontal_source_is_not_delayed(noise):
    y = renderer.render_moving_source(noise, 0.0, 0.0, 1.0, hrtf.SphericalHeadHRTF())
    delay = -measure_itd(y[0], noise, FS)  # ITD of (ear, input) > 0 would mean the ear leads the input
    assert abs(delay) < 0.1 / FS


def test_sweep_itd_is_monotonic_and_follows_woodworth():
    n = 2 * FS
    x = np.random.default_rng(2).standard_normal(n)
    az = np.linspace(-90.0, 90.0, n)
    y = renderer.render_moving_source(x, az, 0.0, 1.0, hrtf.SphericalHeadHRTF())
    frame, hop = 1024, 512
    starts = range(0, n - frame + 1, hop)
    itd = np.array([measure_itd(y[0, s : s + frame], y[1, s : s + frame], FS) for s in starts])
    expected = geometry.woodworth_itd(az[[s + frame // 2 for s in starts]])
    assert np.all(np.diff(itd) > -3e-6), np.diff(itd).min()
    assert itd[0] < -600e-6 and itd[-1] > 600e-6
    np.testing.assert_allclose(itd, expected, atol=10e-6)


def _far_from_tone_energy_db(y, tone_hz, min_offset_hz):
    """Energy more than min_offset_hz away from the tone, relative to the total, per channel (dB)."""
    seg = y[:, FS // 4 : -FS // 4]  # skip the start/end transients of the tone itself
    spec = np.abs(np.fft.rfft(seg * blackmanharris(seg.shape[1]), axis=-1)) ** 2
    far = np.abs(np.fft.rfftfreq(seg.shape[1], 1 / FS) - tone_hz) > min_offset_hz
    return 10 * np.log10(spec[:, far].sum(-1) / spec.sum(-1))


def test_moving_tone_has_no_clicks():
    # Switching HRIRs without a crossfade every 128 samples along this sweep puts -53 dB of energy more than
    # 500 Hz from the tone; a static source puts < -150 dB there; the crossfaded renderer gives about -94 dB.
    n = 2 * FS
    tone = np.sin(2 * np.pi * 1000 * np.arange(n) / FS)
    head = hrtf.SphericalHeadHRTF()
    moving = renderer.render_moving_source(tone, np.linspace(-90.0, 90.0, n), 0.0, 1.0, head)
    assert np.all(_far_from_tone_energy_db(moving, 1000, 500) < -80)
    static_jumps = [
        np.abs(np.diff(renderer.render_moving_source(tone, a, 0.0, 1.0, head), axis=-1)).max()
        for a in np.linspace(-90, 90, 19)
    ]
    assert np.abs(np.diff(moving, axis=-1)).max() <= max(static_jumps) * 1.001


def test_static_source_equals_plain_convolution(noise):
    head = hrtf.SphericalHeadHRTF()
    y = renderer.render_moving_source(noise[:3000], 45.0, 10.0, 1.0, head, hop=100)
    h = head.hrir(45.0, 10.0)[0].astype(np.float64)
    lat = head.latency_samples
    for ear in range(2):
        ref = np.convolve(noise[:3000], h[ear])[lat : lat + 3000]
        np.testing.assert_allclose(y[ear], ref, atol=1e-5)


def test_distance_doubling_lowers_level_by_6_db(noise):
    head = hrtf.SphericalHeadHRTF()
    level = lambda d: 10 * np.log10(np.mean(renderer.render_moving_source(noise, 30.0, 0.0, d, head) ** 2))
    assert level(1.0) - level(2.0) == pytest.approx(20 * np.log10(2), abs=0.05)
    assert level(2.0) - level(4.0) == pytest.approx(20 * np.log10(2), abs=0.05)
    # Per-sample distances: the second half (4 m) is 12 dB below the first (1 m).
    dist = np.where(np.arange(FS) < FS // 2, 1.0, 4.0)
    y = renderer.render_moving_source(noise, 30.0, 0.0, dist, head)
    first, second = np.mean(y[:, 1000:7000] ** 2), np.mean(y[:, 9000:15000] ** 2)
    assert 10 * np.log10(first / second) == pytest.approx(20 * np.log10(4), abs=0.5)


def test_head_radius_scales_itd(noise):
    big = hrtf.make_hrtf("spherical", FS, head_radius_m=0.1)
    small = hrtf.make_hrtf("spherical", FS)
    for az in (30, 90):
        itd_big = measure_itd(*renderer.render_moving_source(noise, az, 0.0, 1.0, big), FS)
        itd_small = measure_itd(*renderer.render_moving_source(noise, az, 0.0, 1.0, small), FS)
        assert itd_big / itd_small == pytest.approx(0.1 / 0.0875, rel=0.02)
        assert itd_big == pytest.approx(geometry.woodworth_itd(az, head_radius_m=0.1), rel=0.05)


def test_bad_inputs_raise_clear_errors(noise):
    head = hrtf.SphericalHeadHRTF()
    with pytest.raises(ValueError, match="azimuth_deg"):
        renderer.render_moving_source(noise, np.zeros(10), 0.0, 1.0, head)
    with pytest.raises(ValueError, match="signal"):
        renderer.render_moving_source(noise[None], 0.0, 0.0, 1.0, head)
    with pytest.raises(ValueError, match="n_taps"):
        hrtf.SphericalHeadHRTF(n_taps=16)
    with pytest.raises(ValueError, match="kind"):
        hrtf.make_hrtf("kemar")


def _schroeder_rt60(ir, sample_rate):
    """RT60 from the slope of the backward-integrated energy decay between -5 and -25 dB (T20 x 3)."""
    edc = np.cumsum(ir[::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    fit = (edc_db <= -5) & (edc_db >= -25)
    slope = np.polyfit(np.arange(ir.size)[fit] / sample_rate, edc_db[fit], 1)[0]  # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_reverb_decays_at_rt60_and_is_decorrelated(rt60):
    rng = np.random.default_rng(3)
    impulse = np.zeros(int(1.5 * rt60 * FS))
    impulse[0] = 1.0
    tail = renderer.diffuse_reverb(impulse, FS, rt60, rng)
    assert tail.shape == (2, impulse.size) and tail.dtype == np.float32
    for ear in range(2):
        assert _schroeder_rt60(tail[ear].astype(np.float64), FS) == pytest.approx(rt60, rel=0.2)
    # A noise burst's tails: normalised interaural cross-correlation, max over +-1 ms, stays small.
    burst = np.zeros(FS)
    burst[:1600] = rng.standard_normal(1600)
    wet = renderer.diffuse_reverb(burst, FS, rt60, rng).astype(np.float64)[:, 1600:]
    left, right = wet
    norm = np.sqrt(np.sum(left**2) * np.sum(right**2))
    max_lag = FS // 1000
    ncc = [
        np.sum(left[max(0, k) : left.size + min(0, k)] * right[max(0, -k) : right.size - max(0, k)]) / norm
        for k in range(-max_lag, max_lag + 1)
    ]
    assert np.max(np.abs(ncc)) < 0.2


def test_reverb_gain_is_wet_gain_for_white_input():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(2 * FS)
    wet = renderer.diffuse_reverb(x, FS, 0.2, rng, wet_gain=0.5)
    # Skip the build-up over the first RT60 so the tail is stationary.
    assert np.mean(wet[:, FS:].astype(np.float64) ** 2) == pytest.approx(0.25, rel=0.1)

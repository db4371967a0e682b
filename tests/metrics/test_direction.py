"""Known-answer tests of v2a_jax.metrics.direction: Woodworth inversion, direction error, onsets, sync."""

import jax
import numpy as np
import pytest

from v2a_jax.metrics import direction as dm
from v2a_jax.spatial import itd

SR = 16000
FPS = 25.0
A, C = 0.0875, 343.0


def woodworth_itd_s(azimuth_deg):
    """Woodworth ITD of a source at azimuth (elevation 0), SOFA angles: > 0 (left ear leads) for az in (0, 180)."""
    lateral = np.arcsin(np.sin(np.radians(azimuth_deg)))
    return np.sign(lateral) * A / C * (np.abs(lateral) + np.sin(np.abs(lateral)))


def frac_delay(x, d, taps=129, beta=8.0):
    """x delayed by d samples (any real d) with a Kaiser-windowed sinc centred on the delay (linear phase)."""
    n = np.arange(taps)
    centre, half = taps // 2 + d, taps // 2
    window = np.i0(beta * np.sqrt(np.clip(1.0 - ((n - centre) / half) ** 2, 0.0, None))) / np.i0(beta)
    return np.convolve(x, np.sinc(n - centre) * window)[half : half + len(x)]


def render_itd(mono, itd_s):
    """Binaural [2, N]: each ear delayed by half the ITD in opposite directions (left leads when itd_s > 0)."""
    d = itd_s * SR / 2
    return np.stack([frac_delay(mono, -d), frac_delay(mono, d)])


def test_azimuth_from_cues_inverts_woodworth():
    lateral = np.linspace(-90.0, 90.0, 181)
    itd = np.sign(lateral) * A / C * (np.radians(np.abs(lateral)) + np.sin(np.radians(np.abs(lateral))))
    # The default map is Woodworth's table at 0.5 degree steps, linearly interpolated.
    np.testing.assert_allclose(dm.azimuth_from_cues(itd), lateral, atol=0.01)
    assert abs(itd[-1] - 656e-6) < 1e-6  # the reference sheet's figure at 90 degrees
    np.testing.assert_allclose(dm.azimuth_from_cues([1e-3, -2e-3]), [90.0, -90.0])  # beyond the model: clipped
    assert np.isnan(dm.azimuth_from_cues(np.nan))
    # The ILD is a fallback only where the ITD is missing.
    out = dm.azimuth_from_cues([np.nan, itd[120], np.nan], ild_db=[11.0 * np.sin(np.radians(30.0)), -5.0, 20.0])
    np.testing.assert_allclose(out, [30.0, 30.0, 90.0], atol=1e-9)


def test_lateral_angle_folds_front_back():
    np.testing.assert_allclose(dm.lateral_angle_deg([30, 150, -120, 180, 90], 0.0), [30, 30, -60, 0, 90], atol=1e-9)
    np.testing.assert_allclose(dm.lateral_angle_deg(90.0, 60.0), 30.0, atol=1e-9)


@pytest.fixture(scope="module")
def scene():
    """Six clips of 1 s, one noise source each at a fixed azimuth (front and back), rendered with its Woodworth
    ITD; the source is silent for frames 0-2, and a second source also sounds in frames 20-21."""
    azimuths = np.array([70.0, -30.0, 120.0, -160.0, 3.0, 89.0])
    num_frames, n = 25, SR
    rng = np.random.default_rng(0)
    audio = np.zeros((len(azimuths), 2, n))
    for i, az in enumerate(azimuths):
        audio[i] = render_itd(0.2 * rng.standard_normal(n), woodworth_itd_s(az))
    audio[:, :, : int(3 * SR / FPS)] = 0.0
    true_az = np.zeros((len(azimuths), num_frames, 2))
    true_az[:, :, 0] = azimuths[:, None]
    true_az[:, :, 1] = -45.0
    sounding = np.zeros((len(azimuths), num_frames, 2), bool)
    sounding[:, 3:, 0] = True
    sounding[:, 20:22, 1] = True
    return audio.astype(np.float32), true_az, sounding


def test_direction_error_is_small_for_woodworth_rendering(scene):
    audio, true_az, sounding = scene
    result = dm.direction_error(audio, true_az, sounding, FPS, SR)
    assert result.per_frame_deg.shape == (6, 25)
    assert result.count == 6 * (25 - 3 - 2)
    evaluated = np.isfinite(result.per_frame_deg)
    assert not evaluated[:, :3].any() and not evaluated[:, 20:22].any()
    assert result.mean_deg < 0.3 and np.nanmax(result.per_frame_deg) < 1.0


def test_direction_error_of_swapped_ears(scene):
    audio, true_az, sounding = scene
    result = dm.direction_error(audio[:, ::-1], true_az, sounding, FPS, SR)
    expected = 2 * np.abs(dm.lateral_angle_deg(true_az[:, 0, 0]))
    np.testing.assert_allclose(np.nanmean(result.per_frame_deg, axis=1), expected, atol=1.0)


def test_left_right_agreement(scene):
    audio, true_az, sounding = scene
    good = dm.left_right_agreement(audio, true_az, sounding, FPS, SR)
    assert good.count == 5 * 20  # the 3-degree clip is ignored (|lateral| < 5)
    assert good.fraction == 1.0
    assert dm.left_right_agreement(audio[:, ::-1], true_az, sounding, FPS, SR).fraction == 0.0
    mono = np.repeat(audio.mean(axis=1, keepdims=True), 2, axis=1)  # identical ears name no side
    assert dm.left_right_agreement(mono, true_az, sounding, FPS, SR).fraction == 0.0


def test_overshoot_of_wider_and_narrower_renderings(scene):
    """The scene's sources rendered 12 degrees wider / narrower than the truth (the same side): the overshoot is
    the rendered minus the true |lateral angle| on every evaluated frame; ears swapped, no frame is on the right
    side."""
    audio, true_az, sounding = scene
    lateral = dm.lateral_angle_deg(true_az[:, 0, 0])
    rng = np.random.default_rng(1)
    for shift in (12.0, -12.0):
        rendered = np.sign(lateral) * np.clip(np.abs(lateral) + shift, 0.0, 90.0)
        sided = np.abs(lateral) >= dm.MIN_LATERAL_DEG
        wide = np.stack([render_itd(0.2 * rng.standard_normal(SR), woodworth_itd_s(az)) for az in rendered])
        wide[:, :, : int(3 * SR / FPS)] = 0.0
        result = dm.left_right_agreement(wide.astype(np.float32), true_az, sounding, FPS, SR)
        assert result.count == sided.sum() * 20 and result.fraction == 1.0
        expected = np.mean((np.abs(rendered) - np.abs(lateral))[sided])  # 89 deg + 12 is clipped at 90
        assert result.overshoot_deg == pytest.approx(expected, abs=0.5)
        # With as many frames on the wrong side (the scene's ears swapped), only the right-side frames count.
        both = np.concatenate([wide.astype(np.float32), audio[:, ::-1]])
        mixed = dm.left_right_agreement(both, np.tile(true_az, (2, 1, 1)), np.tile(sounding, (2, 1, 1)), FPS, SR)
        assert mixed.fraction == 0.5 and mixed.overshoot_deg == pytest.approx(result.overshoot_deg, abs=1e-9)
    assert abs(dm.left_right_agreement(audio, true_az, sounding, FPS, SR).overshoot_deg) < 0.3
    swapped = dm.left_right_agreement(audio[:, ::-1], true_az, sounding, FPS, SR)
    assert swapped.fraction == 0.0 and np.isnan(swapped.overshoot_deg)  # no frame on the right side


def test_direction_error_silence_and_bad_shapes(scene):
    audio, true_az, sounding = scene
    result = dm.direction_error(np.zeros_like(audio), true_az, sounding, FPS, SR)
    assert result.count == 0 and np.isnan(result.mean_deg) and np.isnan(result.per_frame_deg).all()
    with pytest.raises(ValueError):
        dm.direction_error(audio[:, :1], true_az, sounding, FPS, SR)
    with pytest.raises(ValueError):
        dm.direction_error(audio, true_az, sounding[:, :, :1], FPS, SR)
    with pytest.raises(ValueError):
        dm.direction_error(audio[:2], true_az, sounding, FPS, SR)


def burst_train(onsets_s, duration_s, kind, seed=0):
    """[2, N] sequence of 150 ms bursts (tones of different pitch, or noise) starting at onsets_s, over a
    -60 dB noise floor; the right ear is 0.7 x the left."""
    rng = np.random.default_rng(seed)
    x = 1e-3 * rng.standard_normal(int(duration_s * SR))
    length = int(0.15 * SR)
    t = np.arange(length) / SR
    for i, onset in enumerate(onsets_s):
        start = int(round(onset * SR))
        burst = 0.5 * np.sin(2 * np.pi * (300 + 450 * i) * t) if kind == "tone" else 0.3 * rng.standard_normal(length)
        x[start : start + length] += burst
    return np.stack([x, 0.7 * x])


@pytest.mark.parametrize("kind", ["tone", "noise"])
def test_detect_onsets_of_bursts(kind):
    onsets = np.array([0.0, 0.2037, 0.7312, 1.3155, 1.9001])
    found = dm.detect_onsets(burst_train(onsets, 2.4, kind), SR)
    assert found.shape == (len(onsets),)
    np.testing.assert_allclose(found, onsets, atol=0.02)


def test_detect_onsets_pads_batch_and_silence():
    batch = np.stack([burst_train([0.3, 0.9], 1.5, "tone"), np.zeros((2, int(1.5 * SR)))])
    found = dm.detect_onsets(batch, SR)
    assert found.shape == (2, 2)
    np.testing.assert_allclose(found[0], [0.3, 0.9], atol=0.02)
    np.testing.assert_array_equal(found[1], [-1.0, -1.0])
    assert dm.detect_onsets(np.zeros((2, 2, 1000)), SR).shape == (2, 0)


def test_av_sync_offset_of_shifted_burst_train():
    true = np.array([0.25, 0.85, 1.45, 2.05])
    audio = np.stack(
        [
            burst_train(true + shift, 2.8, kind, seed=i)
            for i, (shift, kind) in enumerate([(0.1, "noise"), (0.1, "tone")])
        ]
    )
    onsets = np.full((2, 2, 4), -1.0)  # two source slots, the second one unused (-1 padding)
    onsets[:, 0] = true
    shifted = dm.av_sync_offset(audio, onsets, SR)
    assert shifted.n_matched == 8 and shifted.n_detected == 8
    np.testing.assert_allclose(shifted.mean_offset_s, 0.1, atol=0.01)
    aligned = dm.av_sync_offset(audio, onsets + np.where(onsets >= 0, 0.1, 0.0), SR)
    assert aligned.mean_offset_s < 0.01
    far = dm.av_sync_offset(audio, onsets, SR, max_offset_s=0.05)  # all detections are outside the window
    assert far.n_matched == 0 and far.n_detected == 8 and np.isnan(far.mean_offset_s)
    with pytest.raises(ValueError):
        dm.av_sync_offset(audio, onsets[:1], SR)


def test_ild_cue_follows_the_louder_ear(scene):
    audio, true_az, sounding = scene
    # The scene has ITDs only; give each clip the ILD of its side (6 dB, the law's ~33 degrees).
    lateral = np.sign(np.sin(np.radians(true_az[:, 0, 0])))[:, None]
    gains = 10.0 ** (np.stack([3.0 * lateral, -3.0 * lateral], axis=1) / 20.0)  # [B, 2, 1]
    leveled = (audio * gains).astype(np.float32)
    by_ild = dm.left_right_agreement(leveled, true_az, sounding, FPS, SR, cue="ild")
    assert by_ild.count > 0 and by_ild.fraction == 1.0
    assert dm.left_right_agreement(leveled[:, ::-1], true_az, sounding, FPS, SR, cue="ild").fraction == 0.0
    error = dm.direction_error(leveled, true_az, sounding, FPS, SR, cue="ild")
    expected = np.degrees(np.arcsin(6.0 / dm.ILD_90_DB))
    truth = dm.lateral_angle_deg(true_az[:, :, 0])
    evaluated = np.isfinite(error.per_frame_deg)
    np.testing.assert_allclose(
        error.per_frame_deg[evaluated], np.abs(np.sign(truth) * expected - truth)[evaluated], atol=1.0
    )  # ITD edge effects
    # ITDs with equal levels have no ILD: no side (the ITD cue finds it).
    assert dm.left_right_agreement(audio, true_az, sounding, FPS, SR, cue="ild").fraction == 0.0
    with pytest.raises(ValueError, match="cue"):
        dm.direction_error(audio, true_az, sounding, FPS, SR, cue="ipd")


def test_lateral_correlation_follows_the_source_from_clip_to_clip(scene):
    audio, true_az, sounding = scene
    good = dm.lateral_correlation(audio, true_az, sounding, FPS, SR)
    assert good.num_clips == 6 and good.r > 0.99
    assert dm.lateral_correlation(audio[:, ::-1], true_az, sounding, FPS, SR).r < -0.99
    # Every clip rendered at the first clip's direction: right as often as that side is, but no trend.
    same = np.repeat(audio[:1], len(audio), axis=0)
    assert np.isnan(dm.lateral_correlation(same, true_az, sounding, FPS, SR).r)
    few = dm.lateral_correlation(audio, true_az, sounding, FPS, SR, min_frames=21)
    assert few.num_clips == 0 and np.isnan(few.r)


def _lateral_deg_of_delay(samples):
    """Independent Woodworth inversion: the lateral angle whose ITD (a / c)(theta + sin theta) is `samples` / SR."""
    from scipy.optimize import brentq

    itd = abs(samples) / SR
    theta = brentq(lambda th: A / C * (th + np.sin(th)) - itd, 0.0, np.pi / 2)
    return np.sign(samples) * np.degrees(theta)


def test_reference_direction_against_independent_woodworth_angles():
    """Three clips of noise with whole-sample interaural delays (left leads for > 0): generated vs recorded
    +6/+6 (same side, same angle), -6/+6 (other side) and -8/-6 (same side, wider)."""
    rng = np.random.default_rng(5)
    n = SR  # 1 s: 25 video frames

    def clip(delay):
        mono = 0.1 * rng.standard_normal(n + 16)
        lead, lag = mono[16:], mono[16 - abs(delay) : 16 - abs(delay) + n]  # `lag` = `lead` delayed by |delay|
        return np.stack([lead, lag] if delay > 0 else [lag, lead])

    pred = np.stack([clip(6), clip(-6), clip(-8)])
    ref = np.stack([clip(6), clip(6), clip(-6)])
    result = dm.reference_direction(pred, ref, FPS, SR)
    assert result.frames == result.sided_frames == 3 * 25
    assert result.agreement == pytest.approx(2 / 3)
    six, eight = _lateral_deg_of_delay(6), _lateral_deg_of_delay(8)
    expected = (0.0 + 2 * six + (eight - six)) / 3
    assert result.difference_deg == pytest.approx(expected, abs=1.0)
    same = dm.reference_direction(ref, ref, FPS, SR)
    assert same.difference_deg == 0.0 and same.agreement == 1.0
    mono = dm.reference_direction(np.repeat(ref.mean(axis=1, keepdims=True), 2, axis=1), ref, FPS, SR)
    assert mono.agreement == 0.0  # identical ears name no side
    silent = dm.reference_direction(np.zeros_like(ref), ref, FPS, SR)
    assert silent.frames == 0 and np.isnan(silent.difference_deg) and np.isnan(silent.agreement)


def test_cue_agreement_of_consistent_and_contradicting_cues():
    """Noise with a 6-sample interaural delay and a 4 dB level difference per clip: left leads and left louder
    (agree), left leads and right louder (contradict), and identical ears (no confident frame)."""
    rng = np.random.default_rng(7)
    n = SR  # 1 s: 25 video frames
    mono = 0.1 * rng.standard_normal(n + 16)
    lead, lag = mono[16:], mono[10 : 10 + n]  # `lag` is `lead` delayed by 6 samples
    louder, quieter = 10.0 ** (2.0 / 20.0), 10.0 ** (-2.0 / 20.0)
    agreeing = np.stack([louder * lead, quieter * lag])
    contradicting = np.stack([quieter * lead, louder * lag])
    centred = np.stack([lead, lead])
    result = dm.cue_agreement(np.stack([agreeing, contradicting, agreeing[::-1]]), FPS, SR)
    assert result.count == 3 * 25 and result.fraction == pytest.approx(2 / 3)
    assert dm.cue_agreement(contradicting[None], FPS, SR).fraction == 0.0
    # Left ahead by 6 samples but within 1 dB: its level names no side, so no frame counts.
    weak = np.stack([10.0 ** (0.4 / 20.0) * lead, lag])[None]
    assert dm.cue_agreement(weak, FPS, SR).count == 0
    none = dm.cue_agreement(centred[None], FPS, SR)
    assert none.count == 0 and np.isnan(none.fraction)
    with pytest.raises(ValueError, match="cue_agreement"):
        dm.cue_agreement(agreeing, FPS, SR)


def test_cue_agreement_reads_the_level_difference_above_the_head_shadow_band():
    """Left leads by 6 samples in every clip; a 6 dB level difference only below 1 kHz is not the head's (it names
    no side), one only above 2 kHz is (left louder agrees, right louder contradicts)."""
    import scipy.signal

    rng = np.random.default_rng(8)
    mono = 0.1 * rng.standard_normal(SR + 16)
    low = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 1000.0, "lowpass", fs=SR, output="sos"), mono)
    high = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 2000.0, "highpass", fs=SR, output="sos"), mono)
    lead, lag = slice(16, 16 + SR), slice(10, 10 + SR)  # the right ear hears the same 6 samples later

    def clip(low_db, high_db):  # left-ear gain over the right ear's in each band
        gl, gh = 10.0 ** (low_db / 40.0), 10.0 ** (high_db / 40.0)
        return np.stack([low[lead] * gl + high[lead] * gh, low[lag] / gl + high[lag] / gh])

    assert dm.cue_agreement(clip(-6.0, 0.0)[None], FPS, SR).count == 0
    result = dm.cue_agreement(np.stack([clip(-6.0, 6.0), clip(6.0, -6.0), clip(-6.0, 0.0)]), FPS, SR)
    assert result.count == 2 * 25 and result.fraction == pytest.approx(0.5)


def test_high_band_ild_measures_the_level_difference_above_the_head_shadow_band():
    """A level difference only above 2 kHz is read in full, one only below 1 kHz not at all (within 0.5 dB)."""
    import scipy.signal

    rng = np.random.default_rng(9)
    mono = 0.1 * rng.standard_normal(SR)
    low = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 1000.0, "lowpass", fs=SR, output="sos"), mono)
    high = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 2000.0, "highpass", fs=SR, output="sos"), mono)
    gain = 10.0 ** (5.0 / 20.0)
    clips = np.stack([np.stack([low + gain * high, low + high]), np.stack([gain * low + high, low + high])])
    ild = dm.high_band_ild_db(clips, 25, FPS, SR)
    assert ild.shape == (2, 25)
    inner = slice(3, -3)  # away from the filter's edge transients
    np.testing.assert_allclose(ild[0, inner], 5.0, atol=0.5)
    np.testing.assert_allclose(ild[1, inner], 0.0, atol=0.5)


def test_high_band_ild_matches_the_time_domain_zero_phase_filter():
    """The frequency-domain filter (jit-traceable) against scipy's forward-backward Butterworth in float64, computed
    here: the same per-frame ILD on a reverberant source away from the clip's ends, and it traces under jit."""
    import scipy.signal

    rng = np.random.default_rng(4)
    n = 40 * SR // 25
    mono = 0.1 * rng.standard_normal(n + 3) * np.repeat(rng.uniform(0.1, 1.0, 20), n // 20 + 1)[: n + 3]
    audio = np.stack([np.stack([mono[3:], 0.5 * mono[:n]]), np.stack([0.7 * mono[:n], mono[2 : n + 2]])])
    sos = scipy.signal.butter(4, dm.CUE_ILD_LOW_HZ, "highpass", fs=SR, output="sos")
    high = scipy.signal.sosfiltfilt(sos, audio.astype(np.float64), axis=-1)
    power = (high.reshape(2, 2, 40, SR // 25) ** 2).mean(axis=-1)
    window = np.ones(2 * itd.CONTEXT_FRAMES + 1)
    context = np.stack([[np.convolve(p, window, mode="same") for p in ears] for ears in power])
    expected = 10.0 * np.log10(context[:, 0] / context[:, 1])
    ild = np.asarray(jax.jit(dm.high_band_ild_db, static_argnums=(1, 2, 3))(audio.astype(np.float32), 40, FPS, SR))
    inner = slice(3, -3)
    np.testing.assert_allclose(ild[:, inner], expected[:, inner], atol=0.05)
    assert ild[0, inner].mean() > 5.0 and ild[1, inner].mean() < -2.0  # the levels the clips were given

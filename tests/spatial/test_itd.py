"""The frame-wise ITD estimator against Woodworth's formula on rendered scenes, and against plain GCC-PHAT
where reverberation or a quiet broadband background decides the latter."""

import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.metrics import binaural
from v2a_jax.spatial import geometry, hrtf, itd, renderer

SR = 16000
FRAME = 512
MAX_LAG = itd.HEAD_MAX_LAG_S * SR


def _render(signal: np.ndarray, azimuth_deg: float) -> np.ndarray:
    out = renderer.render_moving_source(signal, azimuth_deg, 0.0, 1.0, hrtf.make_hrtf("spherical", SR))
    return out[:, : signal.size].astype(np.float32)


@pytest.mark.parametrize("azimuth", [-60.0, 0.0, 30.0, 90.0])
def test_rendered_noise_gives_woodworth_itd(azimuth):
    audio = _render(np.random.default_rng(0).standard_normal(2 * SR) * 0.1, azimuth)[None]
    est = np.asarray(itd.frame_itd(jnp.asarray(audio), FRAME, MAX_LAG, SR))
    assert est.shape == (1, 2 * SR // FRAME)
    expected = geometry.woodworth_itd(azimuth) * SR
    np.testing.assert_allclose(est[0, 1:-1], expected, atol=0.5)  # half a sample = 31 us; edges half padded
    if azimuth:
        assert np.all(np.sign(est) == np.sign(azimuth))  # + = left leads = source on the left


def test_silence_gives_zero_and_num_frames_pads():
    est = itd.frame_itd(jnp.zeros((2, 2, 3 * FRAME + 100)), FRAME, MAX_LAG, SR, num_frames=5)
    assert est.shape == (2, 5) and np.all(np.asarray(est) == 0)


def test_tone_over_quiet_hiss_is_not_outvoted():
    """A harmonic tone from the left (right ear 5 samples late) over a centred broadband hiss 40 dB down: plain
    GCC-PHAT weighs the hiss's many bins like the tone's few and is pulled to 0; PHAT-beta finds the tone."""
    n, lag = 8 * FRAME, 5
    t = np.arange(n + lag) / SR
    tone = sum(np.sin(2 * np.pi * 440.0 * h * t + h) for h in (1, 2, 3))
    hiss = 0.01 * np.random.default_rng(0).standard_normal(n)
    audio = np.stack([tone[lag:] + hiss, tone[:n] + hiss]).astype(np.float32)
    plain, _ = binaural.gcc_phat_itd(audio, SR)
    assert np.mean(np.abs(plain * SR - lag)) > 2.0  # pulled towards the hiss's lag 0
    est = np.asarray(itd.frame_itd(jnp.asarray(audio[None]), FRAME, MAX_LAG, SR))[0]
    np.testing.assert_allclose(est, lag, atol=0.5)


def test_context_averages_out_a_reverberant_tail():
    """Bursts of a harmonic source at 40 degrees in an independent diffuse tail per ear: summing the
    cross-spectrum over +-2 frames brings the estimate closer to Woodworth's ITD than one frame alone."""
    rng = np.random.default_rng(3)
    n = 4 * SR
    t = np.arange(n) / SR
    source = sum(np.sin(2 * np.pi * 330.0 * h * t + rng.uniform(0, 6)) / h for h in range(1, 8))
    source *= np.sin(2 * np.pi * 3.0 * t) > 0  # 3 Hz bursts
    audio = _render(source * 0.1, 40.0) + renderer.diffuse_reverb(source * 0.1, SR, 0.5, rng, wet_gain=0.5)
    truth = geometry.woodworth_itd(40.0) * SR
    on = np.mean(audio.reshape(2, -1, FRAME) ** 2, axis=-1).min(axis=0) > 1e-4
    errors = {}
    for context in (0, 2):
        est = np.asarray(itd.frame_itd(jnp.asarray(audio[None]), FRAME, MAX_LAG, SR, context=context))[0]
        errors[context] = np.mean(np.abs(est - truth)[on])
    assert errors[2] < 0.6 * errors[0]
    assert errors[2] < 1.5  # samples (94 us)

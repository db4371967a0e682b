"""The baselines' spatial cues, measured with the project's own estimators."""

import numpy as np

from v2a_jax.evaluation import baselines
from v2a_jax.metrics import binaural, direction

RATE = 16000


def _noise(batch, n, seed=0):
    return np.random.default_rng(seed).normal(0.0, 0.1, size=(batch, 2, n)).astype(np.float32)


def test_mono_copy_has_identical_ears_equal_to_the_downmix():
    audio = _noise(2, 1000)
    out = baselines.mono_copy(audio)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    np.testing.assert_allclose(out[:, 0], (audio[:, 0] + audio[:, 1]) / 2, atol=1e-7)


def test_two_stage_renders_each_frame_at_the_localised_azimuth():
    audio = _noise(1, RATE)
    fps = 25.0
    azimuth = np.where(np.arange(25) < 12, 60.0, -60.0)[None]  # left for 12 frames, then right
    out = baselines.two_stage(audio, azimuth, fps, RATE)
    itd, valid = binaural.gcc_phat_itd(out[0], RATE)  # 64 ms frames every 32 ms
    lateral = direction.azimuth_from_cues(itd)
    assert valid.all()
    np.testing.assert_allclose(lateral[:7], 60.0, atol=3.0)  # frames ending before 0.48 s
    np.testing.assert_allclose(lateral[-10:], -60.0, atol=3.0)


def test_per_sample_holds_each_frame_value():
    values = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(baselines.per_sample(values, 7, fps=2.0, sample_rate=4), [[1, 1, 2, 2, 3, 3, 3]])


def test_random_azimuths_are_seeded_per_clip_and_uniform_in_range():
    a = baselines.random_azimuths(np.arange(400), seed=3)
    np.testing.assert_array_equal(baselines.random_azimuths(np.array([7, 2]), seed=3), a[[7, 2]])
    assert not np.array_equal(baselines.random_azimuths(np.arange(400), seed=4), a)
    assert a.min() >= -90 and a.max() <= 90 and abs(a.mean()) < 10 and a.std() > 45  # uniform: std 52
    out = baselines.random_direction(_noise(2, 4000), np.array([7, 2]), 3, RATE)
    ild = binaural.ild_db(out)
    np.testing.assert_array_equal(np.sign(ild), np.sign(a[[7, 2]]))

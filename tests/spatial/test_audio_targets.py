"""Localisation targets from the recording: rendered sources of known direction, checked against the
projection of the true azimuth (computed here, not read from the module) and against mirrored clips."""

import chex
import jax
import numpy as np
import pytest

from v2a_jax.spatial import audio_targets, renderer
from v2a_jax.spatial import hrtf as hrtf_lib
from v2a_jax.train import partitioning

SR, FPS, SECONDS, WIDTH, FOV = 16000, 25.0, 1.28, 64, 90.0
NUM_FRAMES = int(SECONDS * FPS)


def _scene(azimuth_deg, rng, *, rt60_s=0.3, wet_gain=0.25):
    """A bursty source (noise bursts of random length and level, so some frames are near-silent) at a fixed
    azimuth, with a diffuse reverberant tail: [2, N]."""
    n = int(SECONDS * SR)
    envelope = np.repeat(rng.uniform(0.0, 1.0, 32) > 0.3, n // 32 + 1)[:n] * rng.uniform(0.2, 1.0)
    signal = rng.standard_normal(n) * envelope * 0.1
    dry = renderer.render_moving_source(signal, azimuth_deg, 0.0, 1.5, hrtf_lib.make_hrtf("spherical", SR))
    wet = renderer.diffuse_reverb(signal, SR, rt60_s, rng, wet_gain=wet_gain)
    return (dry + wet[:, :n]).astype(np.float32)


@pytest.fixture(scope="module")
def rendered():
    rng = np.random.default_rng(3)
    azimuths = np.array([-80.0, -50.0, -30.0, -15.0, 15.0, 30.0, 50.0, 80.0, 160.0, -140.0])
    audio = np.stack([_scene(az, rng) for az in azimuths])
    targets = audio_targets.audio_targets(audio, NUM_FRAMES, FPS, SR, width=WIDTH, fov_deg=FOV)
    return azimuths, audio, targets


def test_side_of_confident_frames(rendered):
    azimuths, _, targets = rendered
    confident = targets.confident()
    true_side = np.sign(np.sin(np.radians(azimuths)))[:, None] * np.ones((1, NUM_FRAMES))
    side = np.sign(targets.lateral_deg)
    assert confident.mean() > 0.3  # the gate keeps a usable share of the frames
    assert np.mean(side[confident] == true_side[confident]) >= 0.9


def test_silent_and_diffuse_frames_are_not_confident():
    rng = np.random.default_rng(0)
    n = int(SECONDS * SR)
    silent = np.zeros((2, n), np.float32)
    diffuse = rng.standard_normal((2, n)).astype(np.float32) * 0.1  # independent ears: no direction
    targets = audio_targets.audio_targets(np.stack([silent, diffuse]), NUM_FRAMES, FPS, SR, width=WIDTH, fov_deg=FOV)
    assert np.all(targets.confidence[0] == 0.0)
    assert np.mean(targets.confident()[1]) < 0.05


def test_screen_position_follows_the_pinhole_projection(rendered):
    azimuths, _, targets = rendered
    focal = (WIDTH / 2) / np.tan(np.radians(FOV / 2))
    for i, az in enumerate(azimuths):
        lateral = np.degrees(np.arcsin(np.sin(np.radians(az))))  # front/back folded
        confident = targets.confident()[i]
        if abs(lateral) <= 30.0:  # well inside the 90-degree view
            expected_x = WIDTH / 2 - focal * np.tan(np.radians(lateral))
            x = targets.screen_x[i][confident]
            assert np.all(targets.offscreen[i][confident] == 0)
            assert abs(np.median(x) - expected_x) < 4.0, (az, np.median(x), expected_x)
        elif abs(lateral) >= 70.0:  # far outside it: off-screen on the source's side
            assert np.mean(targets.offscreen[i][confident] == np.sign(lateral)) >= 0.9
            assert np.all(np.isnan(targets.screen_x[i][targets.offscreen[i] != 0]))


def test_mirrored_clip_mirrors_the_targets(rendered):
    _, audio, targets = rendered
    mirrored = audio_targets.audio_targets(audio[:, ::-1], NUM_FRAMES, FPS, SR, width=WIDTH, fov_deg=FOV)
    np.testing.assert_allclose(mirrored.lateral_deg, -targets.lateral_deg, atol=0.5)
    np.testing.assert_allclose(mirrored.confidence, targets.confidence, atol=0.02)
    in_view = targets.offscreen == 0
    np.testing.assert_allclose(mirrored.screen_x[in_view], WIDTH - targets.screen_x[in_view], atol=0.5)
    np.testing.assert_array_equal(mirrored.offscreen, -targets.offscreen)


def test_bad_field_of_view():
    with pytest.raises(ValueError, match="field of view"):
        audio_targets.audio_targets(np.zeros((1, 2, 640), np.float32), 1, FPS, SR, width=WIDTH, fov_deg=180.0)


def test_frames_whose_level_contradicts_their_delay_are_not_confident():
    """Noise with the left ear 4 samples ahead (the ITD says left): left 6 dB louder keeps the frames confident,
    right 6 dB louder (a contradiction past ILD_VETO_DB) drops them, right 2 dB louder (within it) does not."""
    rng = np.random.default_rng(5)
    n = int(SECONDS * SR)
    mono = 0.1 * rng.standard_normal(n + 8)
    lead, lag = mono[8:], mono[4 : 4 + n]  # the right ear hears the same 4 samples later

    def clip(left_db):  # left-ear level over the right ear's
        g = 10.0 ** (left_db / 40.0)
        return np.stack([g * lead, lag / g])

    assert audio_targets.ILD_VETO_DB < 6.0
    clips = np.stack([clip(6.0), clip(-6.0), clip(-2.0)]).astype(np.float32)
    targets = audio_targets.audio_targets(clips, NUM_FRAMES, FPS, SR, width=WIDTH, fov_deg=FOV)
    assert np.all(targets.lateral_deg > 5.0)  # every clip's ITD says left
    confident = targets.confident().mean(axis=1)
    assert confident[0] > 0.9 and confident[2] > 0.9
    assert confident[1] == 0.0


def test_step_stage_traces_once_and_runs_on_a_sharded_batch(rendered):
    """The stage the train step runs: jitted over a batch sharded across the 8 test devices it gives the targets
    of the eager computation, written under the ground-truth names, and a second batch of the same shape does
    not trace it again."""
    _, audio, _ = rendered
    stage = audio_targets.LocalisationTargets(NUM_FRAMES, FPS, SR, FOV, WIDTH)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(batch):
        return stage(batch)

    mesh = partitioning.make_mesh({"data": -1, "fsdp": 1, "tensor": 1})  # the trainer's mesh over 8 devices
    sharding = partitioning.batch_sharding(mesh, partitioning.DEFAULT_LOGICAL_AXIS_RULES)
    for batch_audio in (audio[:8], audio[2:]):
        out = jax.device_get(step({"audio": jax.device_put(batch_audio, sharding)}))
        eager = jax.device_get(audio_targets.audio_targets(batch_audio, NUM_FRAMES, FPS, SR, width=WIDTH, fov_deg=FOV))
        confident = eager.confident()
        np.testing.assert_array_equal(out["target_confident"], confident)
        np.testing.assert_array_equal(out["sounding"][..., 0], confident)
        in_view = confident & (eager.offscreen == 0)
        np.testing.assert_array_equal(out["visible"][..., 0], in_view)
        np.testing.assert_allclose(out["screen_x"][..., 0][in_view], eager.screen_x[in_view], atol=1e-3)
        assert np.all(np.isnan(out["screen_x"][..., 0][~in_view])) and np.all(np.isnan(out["screen_y"]))

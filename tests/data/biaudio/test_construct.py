"""BiAudio clip construction on a synthetic circling disc: the picture and the sound follow the same camera."""

import numpy as np
import pytest

from data.biaudio import construct, trajectory
from tests.data.biaudio import helpers
from v2a_jax.metrics import direction
from v2a_jax.spatial import ambisonics, hrtf

FS, FPS, SIZE, SECONDS = 16000, 10.0, 64, 4.0
T, N = int(SECONDS * FPS), int(SECONDS * FS)
YAW_ONLY = trajectory.TrajectoryConfig(start_pitch_offset_deg=0.0, max_pitch_rate_deg_s=0.0, max_roll_rate_deg_s=0.0)


@pytest.fixture(scope="module")
def decoder():
    return ambisonics.BinauralDecoder(hrtf.SphericalHeadHRTF(sample_rate=FS))


def build(decoder, config, seed):
    return construct.construct_clip(
        helpers.equirect_frames(T, FPS),
        helpers.foa_sound(N, FS),
        FPS,
        FS,
        trajectory.clip_rng(seed, "disc"),
        config,
        decoder,
        SIZE,
        SIZE,
    )


def relative_azimuth(clip):
    return np.mod(helpers.disc_azimuth_deg(np.arange(T) / FPS) - clip["camera_yaw_deg"] + 180.0, 360.0) - 180.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_screen_x_follows_the_projection_of_azimuth_minus_yaw(decoder, seed):
    clip = build(decoder, YAW_ONLY, seed)
    rel = relative_azimuth(clip)
    focal = (SIZE / 2) / np.tan(np.radians(45.0))
    expected = SIZE / 2 - focal * np.tan(np.radians(rel))
    # The whole disc (6 degrees, so ~ 8 px wide) inside the frame.
    in_view = np.abs(rel) < 45.0 - 10.0
    assert in_view.sum() >= 5
    error = np.abs(helpers.red_centroid_x(clip["video"]) - expected)[in_view]
    assert np.max(error) < 2.0, error
    # Out of view (behind the camera): no red at all.
    assert np.all(np.isnan(helpers.red_centroid_x(clip["video"])[np.abs(rel) > 70.0]))


def test_itd_lateral_angle_tracks_the_relative_azimuth(decoder):
    for seed in (0, 1, 2):
        clip = build(decoder, trajectory.TrajectoryConfig(), seed)
        rel = relative_azimuth(clip)
        # The camera's pitch and roll also move the disc: its direction in camera axes, worked out here.
        axes = ambisonics.rotation_matrix(clip["camera_yaw_deg"], clip["camera_pitch_deg"], clip["camera_roll_deg"])
        world = np.stack(
            [
                np.cos(np.radians(rel + clip["camera_yaw_deg"])),
                np.sin(np.radians(rel + clip["camera_yaw_deg"])),
                np.zeros(T),
            ],
            axis=-1,
        )
        camera = np.einsum("tji,tj->ti", axes, world)
        lateral_true = np.degrees(np.arcsin(camera[:, 1]))
        in_view = (camera[:, 0] > 0) & (np.abs(camera[:, 1] / camera[:, 0]) < 1.0)
        lateral = direction.itd_lateral_deg(clip["audio"][None], T, FPS, FS)[0]
        r = np.corrcoef(lateral[in_view], lateral_true[in_view])[0, 1]
        assert in_view.sum() >= 5 and r >= 0.9, (seed, r)


def test_stored_angles_and_phi_max(decoder):
    clip = build(decoder, trajectory.TrajectoryConfig(), 3)
    assert clip["video"].shape == (T, SIZE, SIZE, 3) and clip["video"].dtype == np.uint8
    assert clip["audio"].shape == (2, N) and clip["audio"].dtype == np.float32
    for key in ("camera_yaw_deg", "camera_pitch_deg", "camera_roll_deg"):
        assert clip[key].shape == (T,) and clip[key].dtype == np.float32
    # The disc circles at 60 deg/s from 0: its energy direction over 4 s is the mean of its direction vectors.
    az = np.radians(helpers.disc_azimuth_deg(np.arange(N) / FS))
    expected = np.degrees(np.arctan2(np.sin(az).mean(), np.cos(az).mean()))
    assert clip["phi_max_deg"][0] == pytest.approx(expected, abs=3.0)
    assert clip["phi_max_deg"][1] == pytest.approx(0.0, abs=1.0)


def test_lr_difference_and_caption():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    assert construct.lr_difference(np.stack([x, x])) == 0.0
    assert construct.lr_difference(np.stack([x, np.zeros_like(x)])) == pytest.approx(1.0)
    assert construct.lr_difference(np.stack([x, 0.98 * x])) == pytest.approx(0.02 / 1.98)
    assert construct.lr_difference(np.zeros((2, 10))) == 0.0
    assert construct.caption(["dog", "car"], []) == "Visible sound: dog, car. Invisible sound: none."

"""The visual localiser on synthetic frames: a bright blob on a textured background at a known screen x."""

import numpy as np

from v2a_jax.evaluation import localiser


def _video_with_blob(columns, rng):
    """[1, 3, 32, 32, 3]: frame 0 background only, frames 1-2 a white 3x3 blob at `columns` (pixel indices)."""
    video = rng.uniform(-0.6, -0.4, size=(1, 3, 32, 32, 3)).astype(np.float32)
    video[0, 1:, 10:13, columns] = 1.0
    return video


def test_blob_right_of_centre_gives_its_pinhole_azimuth():
    video = _video_with_blob(slice(22, 25), np.random.default_rng(0))
    x = localiser.screen_x(video)
    np.testing.assert_allclose(x[0, 1:], 23.5, atol=0.05)  # centre of columns 22..24
    # Pinhole with a 90 degree FOV: f = 16 px, x = 16 - f tan(az) -> az = atan((16 - 23.5) / 16), to the right.
    expected = np.degrees(np.arctan(-7.5 / 16.0))
    az = localiser.azimuth_deg(video, 90.0)
    np.testing.assert_allclose(az[0, 1:], expected, atol=0.2)
    assert expected < -20


def test_non_square_frames_use_the_width_and_the_given_field_of_view():
    video = np.random.default_rng(1).uniform(-0.6, -0.4, size=(1, 2, 24, 40, 3)).astype(np.float32)
    video[0, 1, 5:8, 30:33] = 1.0  # blob centre x = 31.5 of a 40 px wide frame
    focal = 20.0 / np.tan(np.radians(30.0))  # 60 degree horizontal field of view
    az = localiser.azimuth_deg(video, 60.0)
    np.testing.assert_allclose(az[0, 1], np.degrees(np.arctan((20.0 - 31.5) / focal)), atol=0.2)


def test_blob_on_the_left_is_positive_and_empty_frames_hold_the_last_estimate():
    video = np.full((1, 4, 32, 32, 3), -0.5, np.float32)  # flat frames have nothing salient
    video[0, 1:3, 10:13, 2:5] = 1.0
    az = localiser.azimuth_deg(video, 90.0)
    assert az.shape == (1, 4)
    assert az[0, 0] == 0.0  # nothing seen yet: straight ahead
    np.testing.assert_allclose(az[0, 1:3], np.degrees(np.arctan((16 - 3.5) / 16.0)), atol=0.2)
    assert az[0, 3] == az[0, 2]


def test_azimuth_error_counts_frames_with_one_visible_sounding_source():
    estimate = np.array([[10.0, 10.0, 10.0, 10.0]])
    azimuth = np.array([[[20.0, -50.0], [20.0, -50.0], [20.0, -50.0], [20.0, -50.0]]])
    visible = np.array([[[True, True], [True, True], [False, True], [True, True]]])
    sounding = np.array([[[True, False], [True, True], [True, True], [False, False]]])
    # Frame 0: source 0 (error 10); frame 1: two sources (skipped); frame 2: source 1 (error 60); frame 3: none.
    assert localiser.azimuth_error(estimate, azimuth, visible, sounding) == (35.0, 2)

"""Gnomonic cameras in an equirectangular scene, checked against closed-form pinhole geometry."""

import numpy as np
import pytest

from v2a_jax.spatial import projection

SIZE = 64


def panorama_with_dot(az_deg, el_deg, height=90, width=180):
    """Equirect frame [1, H, W, 3]: black with one white pixel at (az, el) (column x at 180 - 360 x / W)."""
    frame = np.zeros((1, height, width, 3), np.uint8)
    col = int(np.floor((180.0 - az_deg) / 360.0 * width)) % width
    row = int(np.floor((90.0 - el_deg) / 180.0 * height))
    frame[0, row, col] = 255
    return frame, 180.0 - 360.0 * (col + 0.5) / width, 90.0 - 180.0 * (row + 0.5) / height


def bright_centroid(view):
    w = view[0, ..., 0].astype(np.float64)
    ys, xs = np.mgrid[: w.shape[0], : w.shape[1]] + 0.5
    return (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()


@pytest.mark.parametrize("az, el, yaw, pitch", [(0, 0, 0, 0), (20, 10, 0, 0), (170, -15, -160, 0), (50, 40, 30, 25)])
def test_a_dot_lands_where_the_pinhole_formula_puts_it(az, el, yaw, pitch):
    frame, az_c, el_c = panorama_with_dot(az, el)
    view = projection.equirect_to_perspective(frame, yaw, pitch, 0.0, SIZE, SIZE)
    x, y = bright_centroid(view)
    # Closed form: camera axes for yaw + pitch (roll 0), the dot's direction in them, x = W/2 - f left / fwd.
    a, e, cy, p = np.radians([az_c, el_c, yaw, pitch])
    d = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    fwd = np.array([np.cos(p) * np.cos(cy), np.cos(p) * np.sin(cy), np.sin(p)])
    left = np.array([-np.sin(cy), np.cos(cy), 0.0])
    up = np.cross(fwd, left)
    f = SIZE / 2
    assert x == pytest.approx(SIZE / 2 - f * (d @ left) / (d @ fwd), abs=0.5)
    assert y == pytest.approx(SIZE / 2 - f * (d @ up) / (d @ fwd), abs=0.5)
    px, py, front = projection.project(az_c, el_c, yaw, pitch, 0.0, SIZE, SIZE)
    assert front and px == pytest.approx(x, abs=0.5) and py == pytest.approx(y, abs=0.5)


def test_roll_raises_the_left_side():
    # Rolled +90 degrees, the camera's left looks at the sky: a point above the view axis appears on the left.
    x, y, _ = projection.project(0.0, 20.0, 0.0, 0.0, 90.0, SIZE, SIZE)
    assert x == pytest.approx(SIZE / 2 - (SIZE / 2) * np.tan(np.radians(20.0)))
    assert y == pytest.approx(SIZE / 2)


def test_behind_the_camera_is_not_in_front():
    x, y, front = projection.project(180.0, 0.0, 0.0, 0.0, 0.0, SIZE, SIZE)
    assert not front and np.isnan(x) and np.isnan(y)


def test_screen_to_direction_inverts_project():
    rng = np.random.default_rng(0)
    az, el = rng.uniform(-40, 40, 20), rng.uniform(-30, 30, 20)
    x, y, _ = projection.project(az, el, 0.0, 0.0, 0.0, 48, 80, fov_deg=70.0)
    back_az, back_el = projection.screen_to_direction(x, y, 48, 80, fov_deg=70.0)
    np.testing.assert_allclose(back_az, az, atol=1e-9)
    np.testing.assert_allclose(back_el, el, atol=1e-9)


def test_view_across_the_seam_is_seamless_and_per_frame():
    pano = np.zeros((2, 32, 64, 3), np.uint8)
    pano[:, :, :2] = pano[:, :, -2:] = 200  # a band straddling azimuth 180
    views = projection.equirect_to_perspective(pano, np.array([180.0, 0.0]), 0.0, 0.0, 16, 32)
    band = views[0, 8, :, 0]
    lit = np.flatnonzero(band > 100)
    # 22.5 degrees wide, i.e. 2 f tan(11.25 deg) = 6.4 px, in one piece: no gap at the seam.
    assert band.max() == 200 and 5 <= lit.size <= 8 and np.all(np.diff(lit) == 1)
    assert abs(np.flatnonzero(band).mean() + 0.5 - 16) < 1.0
    assert views[1].max() == 0  # looking ahead, the band is behind
    with pytest.raises(ValueError, match="fov_deg"):
        projection.focal_px(64, 180.0)


def test_blocks_of_frames_give_the_same_views(monkeypatch):
    rng = np.random.default_rng(1)
    pano = rng.integers(0, 256, (5, 16, 32, 3), dtype=np.uint8)
    yaw, pitch, roll = rng.uniform(-180, 180, 5), rng.uniform(-40, 40, 5), rng.uniform(-20, 20, 5)
    whole = projection.equirect_to_perspective(pano, yaw, pitch, roll, 8, 12)
    monkeypatch.setattr(projection, "_CHUNK_PIXELS", 2 * 8 * 12)  # two frames per block
    np.testing.assert_array_equal(projection.equirect_to_perspective(pano, yaw, pitch, roll, 8, 12), whole)

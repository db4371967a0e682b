"""Tests for data/binaural_synth/raster.py: shape placement, size, colour, depth order, and the panorama camera."""

import numpy as np
import pytest

from data.binaural_synth import raster


def _draw_one(shape, cx, cy, radius, size=64, colour=(200, 100, 50), brightness=1.0):
    frames = np.zeros((1, size, size, 3), np.uint8)
    one = lambda v: np.array([[v]], np.float64)  # noqa: E731
    return raster.draw_shapes(
        frames, [shape], one(cx), one(cy), one(radius), np.array([colour]), one(brightness), one(1.0)
    )[0]


@pytest.mark.parametrize("shape", raster.SHAPES)
def test_shape_is_centred_and_sized(shape):
    cx, cy, radius = 30.3, 25.7, 10.0
    img = _draw_one(shape, cx, cy, radius)
    coverage = img[..., 0].astype(np.float64) / 200.0  # anti-aliased coverage from the red channel
    rows, cols = np.mgrid[0:64, 0:64] + 0.5
    area = coverage.sum()
    # Every shape is symmetric about its centre's vertical axis and has its area centroid at the centre.
    assert abs((coverage * cols).sum() / area - cx) < 0.1
    assert abs((coverage * rows).sum() / area - cy) < 0.1, shape
    # Visible size: between ~1/4 and all of the enclosing disc, and nothing outside 1.2 radii.
    assert 0.25 * np.pi * radius**2 < area <= np.pi * (1.15 * radius) ** 2, (shape, area)
    assert coverage[np.hypot(cols - cx, rows - cy) > 1.2 * radius + 1].max() == 0.0


def test_circle_area_colour_and_brightness():
    img = _draw_one("circle", 32.0, 32.0, 12.0, colour=(200, 100, 50), brightness=0.5)
    np.testing.assert_array_equal(img[32, 32], [100, 50, 25])
    coverage = img[..., 0].astype(np.float64) / 100.0
    np.testing.assert_allclose(coverage.sum(), np.pi * 12.0**2, rtol=0.01)


def test_triangle_points_up_and_bars_are_oriented():
    tri = _draw_one("triangle", 32.0, 32.0, 12.0)[..., 0] > 100
    rows = np.flatnonzero(tri.any(1))
    top_width, bottom_width = tri[rows[1]].sum(), tri[rows[-2]].sum()
    assert top_width < bottom_width  # apex at the top (small row index)
    hbar = _draw_one("hbar", 32.0, 32.0, 12.0)[..., 0] > 100
    vbar = _draw_one("vbar", 32.0, 32.0, 12.0)[..., 0] > 100
    assert hbar.any(0).sum() > 2 * hbar.any(1).sum()
    assert vbar.any(1).sum() > 2 * vbar.any(0).sum()


def test_nearer_shape_is_on_top_per_frame():
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    cx = np.array([[14.0, 18.0], [14.0, 18.0]])
    cy = np.full((2, 2), 16.0)
    radius = np.full((2, 2), 8.0)
    colour = np.array([[255, 0, 0], [0, 0, 255]])
    depth = np.array([[1.0, 2.0], [3.0, 2.0]])  # frame 0: red nearer; frame 1: blue nearer
    out = raster.draw_shapes(frames, ["circle", "circle"], cx, cy, radius, colour, np.ones((2, 2)), depth)
    np.testing.assert_array_equal(out[0, 16, 16], [255, 0, 0])
    np.testing.assert_array_equal(out[1, 16, 16], [0, 0, 255])


def test_undrawn_objects_and_background_untouched():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    cx = np.array([[np.nan], [8.0], [8.0]])
    radius = np.array([[4.0], [0.0], [4.0]])
    out = raster.draw_shapes(
        frames, ["square"], cx, np.full((3, 1), 8.0), radius, np.array([[0, 255, 0]]), np.ones((3, 1)), np.ones((3, 1))
    )
    np.testing.assert_array_equal(out[:2], frames[:2])
    np.testing.assert_array_equal(out[2, 8, 8], [0, 255, 0])
    np.testing.assert_array_equal(out[2, 0, 0], frames[2, 0, 0])


def test_draw_shapes_rejects_bad_shapes():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="centre_x"):
        raster.draw_shapes(
            frames,
            ["circle"],
            np.zeros((3, 1)),
            np.zeros((2, 1)),
            np.ones((2, 1)),
            np.zeros((1, 3)),
            np.ones((2, 1)),
            np.ones((2, 1)),
        )
    with pytest.raises(ValueError, match="unknown shape"):
        raster.draw_shapes(
            frames,
            ["blob"],
            np.zeros((2, 1)),
            np.zeros((2, 1)),
            np.ones((2, 1)),
            np.zeros((1, 3)),
            np.ones((2, 1)),
            np.ones((2, 1)),
        )


def test_panorama_is_desaturated_and_seeded():
    pano = raster.make_panorama(np.random.default_rng(3))
    assert pano.dtype == np.uint8 and pano.shape == (480, 1440, 3)
    spread = pano.max(-1).astype(int) - pano.min(-1).astype(int)
    assert spread.max() <= 40
    np.testing.assert_array_equal(pano, raster.make_panorama(np.random.default_rng(3)))
    assert not np.array_equal(pano, raster.make_panorama(np.random.default_rng(4)))


def test_background_follows_pinhole_and_yaw():
    """A white pillar spanning world azimuth [-1.5, 1.5) degrees is seen at x = W/2 - f tan(0 - yaw)."""
    pano = np.zeros((480, 1440, 3), np.uint8)
    pano[:, 714:726] = 255  # cell c spans azimuth [-180 + c/4, -180 + (c+1)/4) degrees
    size, focal = 64, 32.0  # 90-degree FOV
    yaws = np.array([0.0, 20.0, -30.0])
    frames = raster.render_background(pano, yaws, focal, size, size)
    assert frames.shape == (3, size, size, 3) and frames.dtype == np.uint8
    for frame, yaw in zip(frames, yaws):
        cols = np.flatnonzero(frame[size // 2, :, 0] == 255)
        expected = size / 2 - focal * np.tan(np.radians(-yaw))  # camera turned left -> pillar to the right
        assert cols.size >= 1
        assert abs(cols.mean() + 0.5 - expected) <= 1.0, (yaw, cols, expected)
        # Vertical lines stay vertical: the same column in every row.
        np.testing.assert_array_equal(frame[:, cols[0], 0], 255)

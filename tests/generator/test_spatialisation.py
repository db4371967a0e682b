"""Spatialisation branch: the five heatmap statistics against a numpy computation, their gradients, and the
ground-truth heatmap targets."""

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.generator import spatialisation

GRID = (3, 4)  # rows, columns


def _numpy_statistics(prob: np.ndarray, grid) -> np.ndarray:
    """Straight from the definitions, on an explicit pixel-centre grid."""
    gh, gw = grid
    rows, cols = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    x = ((cols + 0.5) / gw * 2 - 1).ravel()
    y = ((rows + 0.5) / gh * 2 - 1).ravel()
    mass = prob.sum()
    w = prob / (mass + 1e-6)
    s_h, m_y = (w * x).sum(), (w * y).sum()
    left, right = prob[x < 0].sum(), prob[x > 0].sum()
    entropy = -(w * np.log(w + 1e-6)).sum() / np.log(prob.size)
    return np.array(
        [s_h, prob.mean(), (w * ((x - s_h) ** 2 + (y - m_y) ** 2)).sum(), (left - right) / (mass + 1e-6), entropy]
    )


def test_statistics_match_their_definitions():
    rng = np.random.default_rng(0)
    maps = [rng.uniform(size=12), np.eye(12)[4], np.full(12, 0.3)]
    for prob in maps:
        got = np.asarray(spatialisation.heatmap_statistics(jnp.asarray(prob, jnp.float32), GRID))
        np.testing.assert_allclose(got, _numpy_statistics(prob, GRID), rtol=1e-4, atol=1e-5)


def test_statistics_of_a_single_source_on_the_left():
    prob = np.zeros(12, np.float32)
    prob[4] = 1.0  # row 1, column 0: the image's left edge
    s_h, area, var, lr, shape = np.asarray(spatialisation.heatmap_statistics(jnp.asarray(prob), GRID))
    np.testing.assert_allclose([s_h, area, var, lr], [-0.75, 1 / 12, 0.0, 1.0], atol=1e-5)
    assert shape < 1e-3
    uniform = np.asarray(spatialisation.heatmap_statistics(jnp.full((12,), 0.5), GRID))
    np.testing.assert_allclose(uniform[[0, 3, 4]], [0.0, 0.0, 1.0], atol=1e-5)


def test_statistics_are_differentiable_and_move_with_the_source():
    logits = jnp.zeros((12,)).at[5].set(3.0)

    def horizontal(lg):
        return spatialisation.heatmap_statistics(jax.nn.sigmoid(lg), GRID)[0]

    grad = jax.grad(horizontal)(logits)
    assert np.all(np.isfinite(grad))
    x = np.tile((np.arange(4) + 0.5) / 4 * 2 - 1, 3)
    # Raising a patch right of the current centre of mass pulls S_h right, and vice versa.
    s_h = float(horizontal(logits))
    assert np.all(np.asarray(grad)[x > s_h + 0.1] > 0) and np.all(np.asarray(grad)[x < s_h - 0.1] < 0)
    jac = jax.jacobian(lambda lg: spatialisation.heatmap_statistics(jax.nn.sigmoid(lg), GRID))(logits)
    assert np.all(np.abs(np.asarray(jac)).sum(axis=1) > 0)  # every statistic responds


def test_heatmap_targets_mark_the_patch_of_each_visible_sounding_source():
    # One clip, 4 video frames, 2 source slots, 64-pixel frames on a 3 x 4 grid; 2 heatmap frames read video
    # frames 1 and 3 (the frames under their centres).
    nan = np.nan
    sx = np.array([[[10, 60], [10, 60], [nan, 60], [40, nan]]], np.float32)
    sy = np.array([[[5, 63], [5, 63], [nan, 63], [30, nan]]], np.float32)
    visible = np.isfinite(sx)
    sounding = np.array([[[1, 0], [1, 1], [1, 1], [1, 1]]], bool)
    got = np.asarray(spatialisation.heatmap_targets(sx, sy, visible, sounding, (64, 64), GRID, 2))
    expected = np.zeros((1, 2, 12))
    # Frame 1: source 0 at (x 10, y 5) -> column 0, row 0; source 1 at (60, 63) -> column 3, row 2.
    expected[0, 0, [0 * 4 + 0, 2 * 4 + 3]] = 1
    # Frame 3: source 0 at (40, 30) -> column 2, row 1; source 1 not visible.
    expected[0, 1, 1 * 4 + 2] = 1
    np.testing.assert_array_equal(got, expected)
    silent = np.asarray(spatialisation.heatmap_targets(sx, sy, visible, np.zeros_like(sounding), (64, 64), GRID, 2))
    assert silent.sum() == 0

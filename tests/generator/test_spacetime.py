"""ViSAudio's spacetime module: the ear-relative position codes, mirror symmetry between the two branches, and a
per-branch difference that is large from initialisation (what the generator's adaLN layers learn from)."""

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.generator import spacetime

GRID = (3, 4)  # rows, columns
B, TP, T, DP, D = 2, 3, 5, 12, 32


def _mirror(x: np.ndarray, axis: int) -> np.ndarray:
    """Reflects the row-major patch axis of a GRID left-right, written out by (row, column)."""
    gh, gw = GRID
    shape = x.shape[:axis] + (gh, gw) + x.shape[axis + 1 :]
    return np.flip(x.reshape(shape), axis=axis + 1).reshape(x.shape)


def _module_and_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    patches = jnp.asarray(rng.normal(size=(B, TP, GRID[0] * GRID[1], DP)), jnp.float32)
    sync = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
    global_c = jnp.asarray(rng.normal(size=(B, D)), jnp.float32)
    module = spacetime.Spacetime(D, 2, 48, GRID)
    params = module.init(jax.random.PRNGKey(seed), patches, T, global_c)
    return module, params, patches, sync, global_c


def test_codes_put_each_ears_own_side_positive():
    codes = np.asarray(spacetime.ear_relative_codes(GRID))
    u_left, u_right, y = codes[0, :, 0], codes[1, :, 0], codes[0, :, 1]
    column = np.tile(np.arange(GRID[1]), GRID[0])
    # The image's left columns are the left ear's own side, and the right ear's far side.
    assert np.all(u_left[column < 2] > 0) and np.all(u_left[column >= 2] < 0)
    np.testing.assert_allclose(u_right, -u_left)
    np.testing.assert_allclose(codes[1], _mirror(codes[0], axis=0))
    np.testing.assert_allclose(y, np.repeat([-2 / 3, 0.0, 2 / 3], GRID[1]), atol=1e-6)


def test_right_branch_is_the_left_branch_of_the_mirrored_picture():
    module, params, patches, sync, global_c = _module_and_inputs()
    out = np.asarray(module.apply(params, patches, T, global_c))
    assert out.shape == (B, 2, T, D)
    mirrored = np.asarray(module.apply(params, jnp.asarray(_mirror(np.asarray(patches), axis=2)), T, global_c))
    np.testing.assert_allclose(out[:, 1], mirrored[:, 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[:, 0], mirrored[:, 1], rtol=1e-4, atol=1e-5)


def test_symmetric_picture_gives_both_ears_the_same_condition():
    module, params, patches, sync, global_c = _module_and_inputs(1)
    symmetric = np.asarray(patches).reshape(B, TP, GRID[0], GRID[1], DP).copy()
    symmetric[:, :, :, 2:] = symmetric[:, :, :, 1::-1]  # columns 2, 3 := columns 1, 0
    out = np.asarray(module.apply(params, jnp.asarray(symmetric.reshape(B, TP, -1, DP)), T, global_c))
    np.testing.assert_allclose(out[:, 0], out[:, 1], rtol=1e-4, atol=1e-5)


def test_an_off_centre_object_separates_the_ears_from_initialisation():
    """One distinct patch at the image's left edge on a uniform background: the two branches' conditions differ
    by a sizeable share of their size before any training, and the difference flips with the object's side."""
    module, params, _, sync, global_c = _module_and_inputs(2)
    rng = np.random.default_rng(3)
    background, obj = rng.normal(size=DP), 4.0 * rng.normal(size=DP)
    picture = np.tile(background, (B, TP, GRID[0] * GRID[1], 1))
    picture[:, :, 1 * GRID[1] + 0] = obj  # row 1, column 0
    out = np.asarray(module.apply(params, jnp.asarray(picture, jnp.float32), T, global_c))
    diff = out[:, 0] - out[:, 1]
    assert np.linalg.norm(diff) / np.linalg.norm(out[:, 0]) > 0.1
    flipped = np.asarray(module.apply(params, jnp.asarray(_mirror(picture, axis=2), jnp.float32), T, global_c))
    np.testing.assert_allclose(flipped[:, 0] - flipped[:, 1], -diff, rtol=1e-4, atol=1e-5)


def test_saliency_on_the_object_makes_its_side_the_main_difference():
    """Sounding logits that mark the object concentrate both branches' pooling on it: the ears' difference then
    carries the object's ear-relative position, several times the share it has without the saliency."""
    module, params, _, _, global_c = _module_and_inputs(2)
    rng = np.random.default_rng(3)
    picture = np.tile(rng.normal(size=DP), (B, TP, GRID[0] * GRID[1], 1))
    picture[:, :, 1 * GRID[1] + 0] = 4.0 * rng.normal(size=DP)
    saliency = np.full((B, TP, GRID[0] * GRID[1]), -6.0, np.float32)
    saliency[:, :, 1 * GRID[1] + 0] = 3.0

    def share(p, s):
        out = np.asarray(module.apply(params, jnp.asarray(p, jnp.float32), T, global_c, s))
        return np.linalg.norm(out[:, 0] - out[:, 1]) / np.linalg.norm(out[:, 0])

    steered = share(picture, jnp.asarray(saliency))
    assert steered > 0.3 and steered > 3 * share(picture, None)
    # A saliency that marks no patch in particular changes nothing (softmax is shift-invariant).
    np.testing.assert_allclose(share(picture, jnp.full(saliency.shape, -2.0)), share(picture, None), rtol=1e-5)

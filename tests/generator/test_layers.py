"""Layers: RoPE (relative positions, time alignment), nearest resampling, ConvMLP locality, adaLN zero init."""

from fractions import Fraction

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.generator import layers, transformer


def _dot_after_rope(q, k, m, n):
    """<rope(q) at position m, rope(k) at position n> for single vectors q, k [Dh]."""
    rq = layers.rope(q[None, None], jnp.array([m], jnp.float32))[0, 0]
    rk = layers.rope(k[None, None], jnp.array([n], jnp.float32))[0, 0]
    return float(jnp.dot(rq, rk))


def test_rope_rotates_each_feature_pair_by_position_times_its_frequency():
    """Against the docstring's maths in float64 numpy: pair (i, i + Dh/2) rotated by pos * theta^(-2i/Dh)."""
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 8))  # [B, L, H, Dh]
    positions = np.array([0.0, 1.0, 2.5, 7.0, 31.25])
    angles = positions[:, None] * 10000.0 ** (-np.arange(4) / 4)  # [L, Dh/2]
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x1, x2 = x[..., :4], x[..., 4:]
    want = np.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)
    got = layers.rope(jnp.asarray(x, jnp.float32), jnp.asarray(positions, jnp.float32))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_rope_scores_depend_only_on_relative_position():
    q, k = jax.random.normal(jax.random.PRNGKey(0), (2, 16))
    base = _dot_after_rope(q, k, 3.0, 1.0)
    np.testing.assert_allclose(_dot_after_rope(q, k, 10.5, 8.5), base, rtol=1e-5)
    np.testing.assert_allclose(_dot_after_rope(q, k, 0.0, 0.0), float(jnp.dot(q, k)), rtol=1e-5)
    assert abs(_dot_after_rope(q, k, 5.0, 1.0) - base) > 1e-3  # a different offset changes the score


def test_aligned_positions_put_video_and_audio_of_the_same_time_together():
    # 8 s: 64 semantic frames at 8 fps, 250 latent frames at 31.25 fps (MMAudio's shapes).
    video = np.asarray(layers.aligned_positions(64, 250, aligned=True))
    k = np.arange(64)
    np.testing.assert_allclose(video, (k / 8.0) * 31.25, rtol=1e-6)  # start time of frame k in latent frames
    np.testing.assert_array_equal(np.asarray(layers.aligned_positions(64, 250, aligned=False)), k)
    # Semantic frame 8 starts at 1 s, exactly where latent frame 31.25 would: it gets that rotation.
    q = jax.random.normal(jax.random.PRNGKey(1), (16,))
    np.testing.assert_allclose(_dot_after_rope(q, q, video[8], 31.25), float(jnp.dot(q, q)), rtol=1e-5)


def test_nearest_indices_pick_the_input_frame_under_each_output_centre():
    for num_out, num_in in ((40, 32), (32, 8), (250, 200), (8, 32)):
        expected = []
        for i in range(num_out):
            centre = (Fraction(i) + Fraction(1, 2)) / num_out  # in units of the common span
            expected.append(next(j for j in range(num_in) if Fraction(j, num_in) <= centre < Fraction(j + 1, num_in)))
        np.testing.assert_array_equal(layers.nearest_indices(num_out, num_in), expected)
    x = jnp.arange(4.0)[None, :, None]
    np.testing.assert_array_equal(layers.resample_nearest(x, 8, axis=1)[0, :, 0], [0, 0, 1, 1, 2, 2, 3, 3])


def test_conv_mlp_sees_two_neighbours_each_side():
    mlp = layers.ConvMLP(hidden=16, kernel_size=3)
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 12, 8))
    params = jax.jit(mlp.init)(jax.random.PRNGKey(1), x)
    jac = jax.jit(jax.jacobian(lambda x: mlp.apply(params, x)[0, 6].sum()))(x)[0]  # d out[6] / d x [12, 8]
    reach = np.flatnonzero(np.abs(np.asarray(jac)).sum(axis=1) > 0)
    np.testing.assert_array_equal(reach, [4, 5, 6, 7, 8])  # two stacked kernel-3 convolutions


def test_blocks_start_as_the_identity():
    """adaLN gates are zero-initialised, so an untrained joint block passes every stream through."""
    b, t, tv, tt, d = 2, 6, 3, 4, 16
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    audio = jax.random.normal(keys[0], (b, 2, t, d))
    video = jax.random.normal(keys[1], (b, tv, d))
    text = jax.random.normal(keys[2], (b, tt, d))
    c_g = jax.random.normal(keys[3], (b, d))
    c_f = jax.random.normal(keys[4], (b, 2, t, d))
    mask = jnp.ones((b, tt), bool)
    block = transformer.JointBlock(d, 2, 32)
    args = (
        (audio, video, text),
        c_g,
        c_f,
        mask,
        jnp.arange(t, dtype=jnp.float32),
        layers.aligned_positions(tv, t, True),
    )
    params = jax.jit(block.init)(jax.random.PRNGKey(1), *args)
    apply = jax.jit(block.apply)
    (a_out, v_out, t_out), _ = apply(params, *args)
    np.testing.assert_array_equal(a_out, audio)
    np.testing.assert_array_equal(v_out, video)
    np.testing.assert_array_equal(t_out, text)
    # With the gates opened the block does change the audio.
    params = jax.tree.map(lambda x: x + 0.1, params)
    (a_out, _, _), _ = apply(params, *args)
    assert float(jnp.abs(a_out - audio).max()) > 1e-3


@pytest.mark.parametrize("kernel_size,use_bias", [(1, True), (3, False), (4, True), (7, True)])
def test_conv1d_matches_flax_conv_in_value_and_gradient(kernel_size, use_bias):
    """The matmul formulation computes nn.Conv's 'SAME' convolution, with the same parameters and gradients."""
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 11, 5))
    ours = layers.conv1d(6, kernel_size, ("embed", "mlp"), dtype=jnp.float32, use_bias=use_bias)
    params = nn.unbox(ours.init(jax.random.PRNGKey(1), x))
    params = jax.tree.map(lambda p: p + jax.random.normal(jax.random.PRNGKey(2), p.shape), params)  # non-zero bias
    reference = nn.Conv(6, (kernel_size,), padding="SAME", use_bias=use_bias)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, reference.init(jax.random.PRNGKey(1), x))

    def loss(module, p, inputs):
        return jnp.sum(jnp.sin(module.apply(p, inputs)))

    np.testing.assert_allclose(ours.apply(params, x), reference.apply(params, x), atol=1e-5)
    grads = jax.grad(loss, argnums=(1, 2))(ours, params, x)
    expected = jax.grad(loss, argnums=(1, 2))(reference, params, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4), grads, expected)

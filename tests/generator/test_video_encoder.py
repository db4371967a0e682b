"""The pixel video encoder on frames of any stored size: area resampling to image_size x image_size, checked against
block means and hand-computed overlaps, the encoder on non-square frames, and its tubelet embedding against the
strided 3-D convolution it computes."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.generator import video_encoder
from v2a_jax.generator.video_encoder import PixelVideoEncoder, area_resample, area_weights


def test_area_weights_are_block_means_or_pixel_overlaps():
    x = np.random.default_rng(0).standard_normal(48)
    np.testing.assert_allclose(area_weights(48, 16) @ x, x.reshape(16, 3).mean(axis=1), rtol=1e-6, atol=1e-7)
    w = area_weights(24, 16)  # each output pixel covers 1.5 input pixels
    np.testing.assert_allclose(w[0, :3], [2 / 3, 1 / 3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(w[1, :3], [0.0, 1 / 3, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(area_weights(8, 16)[:4, :2], [[1, 0], [1, 0], [0, 1], [0, 1]])  # upsampling repeats


@pytest.mark.parametrize("hw", [(32, 48), (24, 40), (16, 16), (8, 12)])
def test_area_resample_is_the_area_weights_contraction(hw):
    """Whole factors (32 x 48, 16 x 16) take the block-mean path, the others the weights' contraction: both give
    the area_weights matrices applied to rows and columns (float64 numpy)."""
    video = np.random.default_rng(2).uniform(-1, 1, size=(2, 3, *hw, 3)).astype(np.float32)
    want = np.einsum("ih,bthwc,jw->btijc", area_weights(hw[0], 8), video.astype(np.float64), area_weights(hw[1], 8))
    np.testing.assert_allclose(jax.jit(area_resample, static_argnums=1)(video, 8), want, rtol=1e-5, atol=1e-6)


def test_non_square_frames_encode_as_their_area_resampled_square():
    encoder = PixelVideoEncoder(
        image_size=16,
        patch_size=4,
        tubelet_frames=3,
        width=32,
        depth=1,
        num_heads=2,
        semantic_frames_per_video_frame=0.25,
    )
    video = np.random.default_rng(1).uniform(-1, 1, size=(2, 8, 32, 48, 3)).astype(np.float32)  # H 32, W 48
    square = video.reshape(2, 8, 16, 2, 16, 3, 3).mean(axis=(3, 5))  # block means: factors 2 (rows), 3 (columns)
    params = jax.jit(encoder.init)(jax.random.PRNGKey(0), square)
    wide, reference = (jax.jit(encoder.apply)(params, v) for v in (video, square))
    assert wide.patches.shape == (2, 2, 16, 32) and wide.sync.shape == (2, 8, 32)
    for got, want in zip(jax.tree.leaves(wide), jax.tree.leaves(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    odd = jax.jit(encoder.apply)(params, video[:, :, :24, :40])  # 24 x 40: no whole factor at all
    assert odd.patches.shape == (2, 2, 16, 32) and np.all(np.isfinite(odd.patches))


@pytest.mark.parametrize("frames", [3, 2])
def test_tubelet_embedding_is_the_strided_3d_convolution_in_value_gradient_and_init(frames):
    """TubeletEmbedding against flax's nn.Conv (kernel frames x 4 x 4, stride (1, 4, 4), time padded as the
    encoder pads it): same params at init, same outputs and gradients (float32 summation order apart)."""
    video = jax.random.uniform(jax.random.PRNGKey(0), (2, 5, 8, 12, 3), minval=-1.0, maxval=1.0)
    ours = video_encoder.TubeletEmbedding(features=6, frames=frames, patch=4)
    conv = nn.Conv(6, (frames, 4, 4), strides=(1, 4, 4), padding=(((frames - 1) // 2, frames // 2), (0, 0), (0, 0)))
    params = nn.meta.unbox(ours.init(jax.random.PRNGKey(1), video)["params"])
    conv_params = conv.init(jax.random.PRNGKey(1), video)["params"]
    chex.assert_trees_all_close(params["kernel"], conv_params["kernel"], rtol=0, atol=0)
    params = {"kernel": params["kernel"], "bias": jax.random.normal(jax.random.PRNGKey(2), (6,))}

    def loss(module, p, x):
        return jnp.sum(jnp.sin(module.apply({"params": p}, x)))

    out = ours.apply({"params": params}, video)
    assert out.shape == (2, 5, 2, 3, 6)
    np.testing.assert_allclose(out, conv.apply({"params": params}, video), rtol=1e-5, atol=1e-5)
    chex.assert_trees_all_close(
        jax.grad(loss, argnums=(1, 2))(ours, params, video),
        jax.grad(loss, argnums=(1, 2))(conv, params, video),
        rtol=1e-4,
        atol=1e-5,
    )

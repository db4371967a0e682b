"""SpatialV2A's visual-guided spatialisation branch: sounding-region heatmap -> five statistics -> condition.

SpatialV2A (arXiv 2601.15017) reads a per-frame heatmap of sounding regions from a localisation network, takes
five spatial statistics of it, and turns them into a spatial condition C_s added to every block's conditioning:
statistics -> ConvMLP -> upsample to the latent rate -> BatchNorm. Here:

- Heatmap: a small trainable network over the visual patch features ([B, T, P, D] -> logits [B, T, P]): a
  per-patch MLP with a kernel-3 convolution over time (a sounding object pulses, so motion helps). Optionally
  supervised by the benchmark's ground-truth positions of visible, sounding sources (`heatmap_targets`,
  binary cross-entropy, weight `aux_weight`; the paper reports no such loss, hence a switch).
- Statistics (`heatmap_statistics`), differentiable, from p = sigmoid(logits) over patch centres (x, y) in
  [-1, 1] (x = -1 at the image's left edge, y = -1 at the top; the listener's left is the image's left),
  w = p / (sum p + eps):
    S_h     horizontal position        sum w x
    S_area  sounding-area ratio        mean p
    S_var   spatial variance           sum w ((x - S_h)^2 + (y - mean_y)^2)
    S_LR    left-right energy bias     sum p (-sign x) / (sum p + eps)   (> 0: more on the left; in [-1, 1])
    S_shape distribution shape         normalised entropy -sum w log w / log P   (0: one patch, 1: uniform)
  The paper names the five but does not define S_shape; entropy is chosen because it separates one compact
  source from a spread or multi-source distribution, which the variance alone (a geometric spread) does not.
- Normalisation: LayerNorm over the feature axis instead of BatchNorm. BatchNorm needs mutable batch
  statistics threaded through the train step and mixes the conditional and unconditional halves of a guided
  sampling batch; LayerNorm is per example, stateless under jit and sharding.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from v2a_jax.generator import layers

NUM_STATISTICS = 5
STATISTIC_NAMES = ("horizontal_position", "area_ratio", "variance", "left_right_bias", "shape")
_EPS = 1e-6


def patch_centres(grid: tuple[int, int]) -> tuple[jax.Array, jax.Array]:
    """x, y [P] of the patch centres of a row-major (grid_h, grid_w) grid, in [-1, 1] (x: left -> right)."""
    gh, gw = grid
    ys = (jnp.arange(gh, dtype=jnp.float32) + 0.5) / gh * 2 - 1
    xs = (jnp.arange(gw, dtype=jnp.float32) + 0.5) / gw * 2 - 1
    return jnp.tile(xs, gh), jnp.repeat(ys, gw)


def heatmap_statistics(prob: jax.Array, grid: tuple[int, int]) -> jax.Array:
    """The five statistics (module docstring) of heatmaps prob [..., P] in [0, 1] -> [..., 5]."""
    if prob.shape[-1] != grid[0] * grid[1]:
        raise ValueError(f"heatmap_statistics: {prob.shape[-1]} patches do not fill a {grid} grid")
    prob = prob.astype(jnp.float32)
    x, y = patch_centres(grid)
    mass = jnp.sum(prob, axis=-1, keepdims=True)
    w = prob / (mass + _EPS)
    s_h = jnp.sum(w * x, axis=-1)
    mean_y = jnp.sum(w * y, axis=-1)
    s_area = jnp.mean(prob, axis=-1)
    s_var = jnp.sum(w * ((x - s_h[..., None]) ** 2 + (y - mean_y[..., None]) ** 2), axis=-1)
    s_lr = jnp.sum(prob * -jnp.sign(x), axis=-1) / (mass[..., 0] + _EPS)
    s_shape = -jnp.sum(w * jnp.log(w + _EPS), axis=-1) / jnp.log(float(prob.shape[-1]))
    return jnp.stack([s_h, s_area, s_var, s_lr, s_shape], axis=-1)


def heatmap_targets(
    screen_x: jax.Array,
    screen_y: jax.Array,
    visible: jax.Array,
    sounding: jax.Array,
    frame_hw: tuple[int, int],
    grid: tuple[int, int],
    num_frames: int,
) -> jax.Array:
    """Ground-truth sounding-region maps [B, num_frames, P] (1 on every patch holding the centre of a visible,
    sounding source) from per-video-frame ground truth [B, T_video, S] in pixels of frames of `frame_hw`
    (height, width): the grid spans the whole frame, square or not (as the pixel encoder's patches do). A source
    with a horizontal position but no vertical one (screen_y NaN: the targets taken from a recording's interaural
    cues, v2a_jax/spatial/audio_targets.py) marks its whole column of patches.

    Heatmap frame k uses the video frame under its centre (`layers.nearest_indices`), the frame the pixel
    encoder reads its patch features from.
    """
    idx = layers.nearest_indices(num_frames, screen_x.shape[1])
    sx, sy, vis, snd = (a[:, idx] for a in (screen_x, screen_y, visible, sounding))
    gh, gw = grid
    on = vis & snd & jnp.isfinite(sx)
    height, width = frame_hw
    col = jnp.clip(jnp.floor(jnp.nan_to_num(sx) / width * gw), 0, gw - 1).astype(jnp.int32)
    row = jnp.clip(jnp.floor(jnp.nan_to_num(sy) / height * gh), 0, gh - 1).astype(jnp.int32)
    # [B, K, S, gh, gw]: the source's row, or every row when its height is unknown.
    rows = jnp.where(jnp.isfinite(sy)[..., None], jax.nn.one_hot(row, gh), 1.0)
    hits = rows[..., :, None] * jax.nn.one_hot(col, gw)[..., None, :] * on[..., None, None]
    return jnp.max(hits, axis=2).reshape((*hits.shape[:2], gh * gw))


class HeatmapNet(nn.Module):
    """patches [B, T, P, Dp] -> sounding-region logits [B, T, P]."""

    hidden: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, patches: jax.Array) -> jax.Array:
        b, t, p, _ = patches.shape
        h = layers.LayerNorm(self.dtype, name="norm")(patches.astype(self.dtype))
        h = nn.gelu(layers.dense(self.hidden, ("embed", "mlp"), dtype=self.dtype, name="fc1")(h))
        # Convolve over time per patch: [B, P, T, H].
        h = h.transpose(0, 2, 1, 3)
        h = nn.gelu(layers.conv1d(self.hidden, 3, ("mlp", None), dtype=self.dtype, name="time_conv")(h))
        logits = layers.dense(1, (None, None), dtype=self.dtype, name="out")(h)[..., 0]
        return logits.transpose(0, 2, 1).astype(jnp.float32)


class SpatialCondition(nn.Module):
    """statistics [B, Tp, 5] -> spatial condition C_s [B, T, D] at the latent rate (T = num_latent_frames)."""

    dim: int
    mlp_hidden: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, stats: jax.Array, num_latent_frames: int) -> jax.Array:
        h = layers.dense(self.dim, (None, "embed"), dtype=self.dtype, name="in_proj")(stats.astype(self.dtype))
        h = h + layers.ConvMLP(self.mlp_hidden, 3, self.dtype, name="ffn")(h)
        h = layers.resample_nearest(h, num_latent_frames, axis=1)
        return layers.LayerNorm(self.dtype, name="norm")(h)

"""Trainable spatio-temporal video encoder from pixels, and the precomputed-feature alternative.

Both produce `VideoFeatures`, the three visual streams MMAudio-style generators consume:
  semantic [B, T_sem, D]: frame tokens at the low semantic rate (MMAudio: CLIP at 8 fps);
  sync     [B, T_video, D]: features at the video frame rate (MMAudio: Synchformer);
  patches  [B, T_sem, P, D]: patch-level features that keep image position (ViSAudio's spatially tuned
           encoder; SpatialV2A's localisation input), P = grid_h * grid_w in row-major order.

The pixel encoder is a divided space-time transformer (TimeSformer): a tubelet embedding (a 3-D convolution
of `tubelet_frames` x patch x patch, stride 1 in time, so it keeps the video rate while seeing motion such as
an object's pulse), a learned spatial position embedding, then blocks of temporal attention (per patch
position, RoPE over frame index) followed by spatial attention (per frame). Semantic frames and patch features
are read at the video frames under each semantic frame's centre (`layers.nearest_indices`).

Frames of any stored size H x W (H != W included) are first area-resampled to image_size x image_size
(`area_resample`: each output pixel the mean of the input area it covers; an exact block mean when H and W are
multiples of image_size). A non-square frame is squeezed, not cropped: patch column j still covers the j-th share
of the frame's width, so the patch-centre grid (spatialisation.patch_centres, x in [-1, 1] from the left edge to
the right one) keeps meaning horizontal position in the stored picture, which is what the spatial modules read.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from v2a_jax.generator import layers


class VideoFeatures(struct.PyTreeNode):
    """semantic [B, T_sem, Ds]; sync [B, T_sync, Dy]; patches [B, T_patch, P, Dp] (see module docstring)."""

    semantic: jax.Array
    sync: jax.Array
    patches: jax.Array


def area_weights(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] area-resampling weights along one axis: row i averages the input interval
    [i, i + 1) * size_in / size_out by its overlap with each input pixel (rows sum to 1)."""
    edges = np.arange(size_out + 1) * (size_in / size_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    pixels = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(hi, pixels + 1) - np.maximum(lo, pixels), 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def area_resample(video: jax.Array, size: int) -> jax.Array:
    """video [B, T, H, W, C] -> [B, T, size, size, C], each output pixel the mean of the input area it covers.

    When H and W are whole multiples of `size` that is a block mean, computed as a reshape and a mean: the same
    numbers as the `area_weights` contraction (which the other sizes take) without the contraction's layout copy
    of the whole video, which dominated its time on CPU (experiments/RESULTS.md, "Generator: speed work")."""
    b, t, h, w, c = video.shape
    if h % size == 0 and w % size == 0:
        return video.reshape(b, t, size, h // size, size, w // size, c).mean(axis=(3, 5))
    rows = jnp.asarray(area_weights(h, size), video.dtype)
    cols = jnp.asarray(area_weights(w, size), video.dtype)
    return jnp.einsum("ih,bthwc,jw->btijc", rows, video, cols, precision=jax.lax.Precision.HIGHEST)


class TubeletEmbedding(nn.Module):
    """video [B, T, H, W, C] -> [B, T, H / patch, W / patch, features]: the 3-D convolution of `frames` x patch x
    patch with stride (1, patch, patch), time padded to keep T (params as nn.Conv's: kernel [frames, patch, patch,
    C, features], bias [features]).

    Written as one matmul of every frame's patches with every frame offset's kernel, then a shifted sum over the
    offsets, rather than nn.Conv (whose XLA CPU backward for this stride is more than twice as slow) or a matmul
    over stacked time windows (which copies the video `frames` times): the same sums
    (experiments/RESULTS.md, "Generator: speed work")."""

    features: int
    frames: int
    patch: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, video: jax.Array) -> jax.Array:
        b, t, h, w, c = video.shape
        gh, gw, p = h // self.patch, w // self.patch, self.patch
        kernel = self.param(
            "kernel",
            layers.boxed(nn.initializers.lecun_normal(), ("conv_kernel", None, None, None, "embed")),
            (self.frames, p, p, c, self.features),
        )
        bias = self.param("bias", layers.boxed(layers.ZEROS, ("embed",)), (self.features,))
        patches = video.reshape(b, t, gh, p, gw, p, c).transpose(0, 1, 2, 4, 3, 5, 6)  # [B, T, gh, gw, p, p, C]
        # [B, T, gh, gw, frames, features]: frame s through kernel offset k.
        per_offset = jnp.einsum("btijpqc,kpqcd->btijkd", patches, kernel.astype(self.dtype))
        before, after = (self.frames - 1) // 2, self.frames // 2
        padded = jnp.pad(per_offset, ((0, 0), (before, after)) + ((0, 0),) * 4)
        # Output frame t sums frame t - before + k through offset k (k = 0 .. frames - 1), as the convolution does.
        out = sum(padded[:, k : k + t, :, :, k] for k in range(self.frames))
        return out + bias.astype(self.dtype)


class SpaceTimeBlock(nn.Module):
    """Temporal attention over frames (per patch), then spatial attention over patches (per frame), then MLP.

    (x [B, T, P, D], None) -> (x [B, T, P, D], None): the scan carry signature.
    """

    num_heads: int
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, x: jax.Array, _) -> tuple[jax.Array, None]:
        b, t, p, d = x.shape
        head_dim = d // self.num_heads
        # Temporal: sequences over T for every (clip, patch position).
        xt = x.transpose(0, 2, 1, 3).reshape(b * p, t, d)
        q, k, v = layers.QKV(self.num_heads, head_dim, dtype=self.dtype, name="time_qkv")(
            layers.LayerNorm(self.dtype, name="time_norm")(xt)
        )
        frames = jnp.arange(t, dtype=jnp.float32)
        q, k = layers.rope(q, frames), layers.rope(k, frames)
        h = layers.dense(d, ("heads", "embed"), dtype=self.dtype, name="time_proj")(
            layers.merge_heads(layers.attention(q, k, v, None, self.execution.attention))
        )
        x = x + h.reshape(b, p, t, d).transpose(0, 2, 1, 3)
        # Spatial: sequences over P for every (clip, frame); position comes from the patch embedding.
        xs = x.reshape(b * t, p, d)
        q, k, v = layers.QKV(self.num_heads, head_dim, dtype=self.dtype, name="space_qkv")(
            layers.LayerNorm(self.dtype, name="space_norm")(xs)
        )
        h = layers.dense(d, ("heads", "embed"), dtype=self.dtype, name="space_proj")(
            layers.merge_heads(layers.attention(q, k, v, None, self.execution.attention))
        )
        x = x + h.reshape(b, t, p, d)
        hm = layers.LayerNorm(self.dtype, name="mlp_norm")(x)
        hm = nn.gelu(layers.dense(4 * d, ("embed", "mlp"), dtype=self.dtype, name="fc1")(hm))
        return x + layers.dense(d, ("mlp", "embed"), dtype=self.dtype, name="fc2")(hm), None


class PixelVideoEncoder(nn.Module):
    """video [B, T, H, W, 3] in [-1, 1] -> VideoFeatures with T_sem = T * `semantic_frames_per_video_frame`
    (semantic rate / video rate; must give a whole number), so one model encodes clips of any length.

    Frames of any size H x W are area-resampled to image_size x image_size first (module docstring).
    """

    image_size: int
    patch_size: int
    tubelet_frames: int
    width: int
    depth: int
    num_heads: int
    semantic_frames_per_video_frame: float
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    def _num_semantic_frames(self, num_video_frames: int) -> int:
        count = num_video_frames * self.semantic_frames_per_video_frame
        if abs(count - round(count)) > 1e-6 or round(count) < 1:
            raise ValueError(
                f"PixelVideoEncoder: {num_video_frames} video frames give {count:g} semantic frames at "
                f"{self.semantic_frames_per_video_frame:g} per video frame, not a whole number"
            )
        return int(round(count))

    @nn.compact
    def __call__(self, video: jax.Array) -> VideoFeatures:
        b, t, h, w, _ = video.shape
        if self.image_size % self.patch_size:
            raise ValueError(
                f"PixelVideoEncoder: image_size={self.image_size} is not a multiple of patch_size={self.patch_size}"
            )
        video = video.astype(self.dtype)
        if (h, w) != (self.image_size, self.image_size):
            video = area_resample(video, self.image_size)
        x = TubeletEmbedding(self.width, self.tubelet_frames, self.patch_size, self.dtype, name="tubelet")(
            video
        )  # [B, T, gh, gw, D]
        grid = self.image_size // self.patch_size
        x = x.reshape(b, t, grid * grid, self.width)
        pos = self.param(
            "patch_position", layers.boxed(nn.initializers.normal(0.02), ("length", "embed")), (grid * grid, self.width)
        )
        x = x + pos.astype(self.dtype)
        blocks = layers.layer_stack(SpaceTimeBlock, self.depth, self.execution, in_axes=0)
        x, _ = blocks(self.num_heads, self.dtype, self.execution, name="blocks")(x, None)
        x = layers.LayerNorm(self.dtype, name="final_norm")(x)
        picked = x[:, layers.nearest_indices(self._num_semantic_frames(t), t)]  # [B, T_sem, P, D]
        head = lambda name: layers.dense(self.width, ("embed", "mlp"), dtype=self.dtype, name=name)  # noqa: E731
        return VideoFeatures(
            semantic=head("semantic_head")(picked.mean(axis=2)),
            sync=head("sync_head")(x.mean(axis=2)),
            patches=head("patch_head")(picked),
        )

"""ViSAudio's conditional spacetime module: a frame-aligned condition of its own for each ear's branch.

ViSAudio (arXiv 2512.03036) fuses visual patch features carrying separate left and right position embeddings
(E^l, E^r) with the sync features and the global condition into a per-branch spatio-temporal condition F_sp^a,
injected by adaLN into that branch in the slot MMAudio uses for its frame-aligned sync condition. The paper
gives no layer-level recipe; this module realises it as:

  1. ear-relative position embeddings: E^a[p] = LayerNorm(Dense(code(u_a[p], y[p]))), where y is the patch
     centre's height and u_a its horizontal position as seen from ear a (u_l = -x, u_r = +x, x = -1 at the
     image's left edge), so u > 0 is that ear's own side. One Dense serves both ears, so E^r is E^l of the
     mirrored grid: the module treats the right ear of a scene exactly as the left ear of its mirror image
     (F^r(video) = F^l(mirrored video)), which is how a binaural scene behaves under reflection;
  2. per frame, each branch pools the patch features by attention: keys/values come from
     LayerNorm(patch features) + E^a, the query from a learned query plus the global condition (one for both
     branches), so a branch can look for a sounding patch and read where it is relative to its ear. With a
     spatially tuned encoder (the pixel encoder trained to mark sounding patches, `model.video.
     localisation_weight` > 0: the from-scratch stand-in for ViSAudio's spatially tuned pretrained encoder),
     its per-patch sounding logits are added to the attention logits, so the pooling starts where the sound is;
  3. the pooled frames [B, nb, T_patch, D] are resampled to the latent rate (nearest, by time) and refined by a
     residual kernel-3 ConvMLP; a LayerNorm gives F_sp^a;
  4. the fusion with the sync features and the global condition is their sum in the branch's frame-level
     condition, c_f^a = c_g + sync + F_sp^a (model.py), the adaLN slot of MMAudio's sync condition.

Scale is the design point. With small random embeddings added before one LayerNorm, a zero-initialised output,
and sync and global features summed inside the module, the two branches' conditions started nearly equal
(measured: F_l - F_r was 1-3 % of F after 1,500 steps) and the generator's zero-initialised adaLN layers got
no gradient from a difference that was not there. Here E^a has unit scale, F_sp^a is layer-normalised and holds
nothing but the pooled picture, like SpatialV2A's spatial condition, and with the saliency the pooled patch's
ear-relative position is about half of the difference between the branches from the first step. Measured
(experiments/generator.py): without the saliency the branches' conditions carried the side but the generator
ignored them (swapping F_l and F_r left the generated side as it was); with it, visaudio-tiny's generated side
follows the picture (left/right agreement 0.88 on held-out clips, 0.85 with the flipped video) and swapping F_l
and F_r flips it.

The global condition in the query is the timestep-free one (video + text), so the module runs once per clip,
not once per sampling step.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from v2a_jax.generator import layers, spatialisation

NUM_FREQUENCIES = 4


def ear_relative_codes(grid: tuple[int, int]) -> jax.Array:
    """Position codes [2, P, 2 + 4 NUM_FREQUENCIES] of a row-major patch grid, seen from the left (0) and the
    right (1) ear: (u, y, sin/cos(pi k u / 2), sin/cos(pi k y / 2)) for k = 1..NUM_FREQUENCIES, with the patch
    centres x, y in [-1, 1] of `spatialisation.patch_centres` (x left -> right, y top -> bottom) and u = -x
    (left ear), +x (right ear)."""
    x, y = spatialisation.patch_centres(grid)
    k = jnp.arange(1, NUM_FREQUENCIES + 1, dtype=jnp.float32)

    def code(u):
        fu, fy = jnp.pi * k * u[:, None] / 2, jnp.pi * k * y[:, None] / 2
        return jnp.concatenate([u[:, None], y[:, None], jnp.sin(fu), jnp.cos(fu), jnp.sin(fy), jnp.cos(fy)], axis=1)

    return jnp.stack([code(-x), code(x)])


class Spacetime(nn.Module):
    """patches [B, Tp, P, Dp] on a `grid` (rows, cols), global_c [B, D], optional saliency logits [B, Tp, P]
    -> F_sp [B, 2, T, D] (0 = left ear) at T = num_latent_frames."""

    dim: int
    num_heads: int
    mlp_hidden: int
    grid: tuple[int, int]
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, patches: jax.Array, num_latent_frames: int, global_c: jax.Array, saliency: jax.Array | None = None
    ) -> jax.Array:
        b, tp, p, _ = patches.shape
        if p != self.grid[0] * self.grid[1]:
            raise ValueError(f"Spacetime: {p} patches do not fill a {self.grid} grid")
        heads, head_dim = self.num_heads, self.dim // self.num_heads
        x = layers.dense(self.dim, (None, "embed"), dtype=self.dtype, name="patch_proj")(patches.astype(self.dtype))
        x = layers.LayerNorm(self.dtype, name="patch_norm")(x)
        codes = ear_relative_codes(self.grid).astype(self.dtype)  # [2, P, K]
        ear_pos = layers.LayerNorm(self.dtype, name="position_norm")(
            layers.dense(self.dim, (None, "embed"), dtype=self.dtype, name="position")(codes)
        )  # E^l, E^r
        keys_in = x[:, :, None] + ear_pos[None, None]  # [B, Tp, 2, P, D]
        kv = layers.Projection((2, heads, head_dim), ("embed", None, "heads", "kv"), dtype=self.dtype, name="kv")(
            keys_in
        )
        k, v = kv[..., 0, :, :], kv[..., 1, :, :]  # [B, Tp, 2, P, H, Dh]
        query = self.param("query", layers.boxed(nn.initializers.normal(0.02), ("embed",)), (self.dim,))
        q = layers.Projection((heads, head_dim), ("embed", "heads", "kv"), dtype=self.dtype, name="q")(
            query.astype(self.dtype)[None] + global_c.astype(self.dtype)
        )  # [B, H, Dh]
        logits = jnp.einsum("bhd,btnphd->btnhp", q, k).astype(jnp.float32) / jnp.sqrt(head_dim)
        if saliency is not None:
            logits = logits + saliency.astype(jnp.float32)[:, :, None, None, :]
        weights = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
        pooled = jnp.einsum("btnhp,btnphd->btnhd", weights, v).reshape(b, tp, 2, self.dim)
        pooled = layers.dense(self.dim, ("heads", "embed"), dtype=self.dtype, name="pool_proj")(pooled)
        frames = layers.resample_nearest(pooled, num_latent_frames, axis=1).transpose(0, 2, 1, 3)  # [B, 2, T, D]
        frames = layers.constrain(frames, ("batch", "channels", "length", "embed"))
        frames = frames + layers.ConvMLP(self.mlp_hidden, 3, self.dtype, name="ffn")(
            layers.LayerNorm(self.dtype, name="norm")(frames)
        )
        return layers.LayerNorm(self.dtype, name="out_norm")(frames)

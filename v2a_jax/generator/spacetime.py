"""ViSAudio's conditional spacetime module: a frame-aligned condition of its own for each ear's branch.

ViSAudio (arXiv 2512.03036) fuses visual patch features carrying separate left and right position embeddings
(E^l, E^r) with the sync features and the global condition into a per-branch spatio-temporal condition F_sp^a,
injected by adaLN into that branch in the slot MMAudio uses for its frame-aligned sync condition. The paper
gives no layer-level recipe; this module realises it as:

  1. per frame, each branch pools the patch features by attention: keys/values are the patch features plus that
     branch's position embedding E^a [P, D], the query is a learned branch query plus the global condition, so
     the left branch can weigh the patches differently from the right one (e.g. by image side);
  2. the pooled frames [B, nb, T_patch, D] are resampled to the latent rate (nearest, by time);
  3. fused with the sync features (already at the latent rate) and the global condition by addition,
     LayerNorm and a kernel-3 ConvMLP; a zero-initialised output projection gives F_sp^a.

The generator adds F_sp^a to the sync condition of branch a, so at initialisation the conditioning is exactly
MMAudio's. The global condition used here is the timestep-free one (video + text), so the module runs once per
clip, not once per sampling step.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from v2a_jax.generator import layers


class Spacetime(nn.Module):
    """patches [B, Tp, P, Dp], sync [B, T, D] (latent rate), global_c [B, D] -> F_sp [B, nb, T, D]."""

    dim: int
    num_heads: int
    mlp_hidden: int
    num_branches: int = 2
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, patches: jax.Array, sync: jax.Array, global_c: jax.Array) -> jax.Array:
        b, tp, p, _ = patches.shape
        t = sync.shape[1]
        nb, heads, head_dim = self.num_branches, self.num_heads, self.dim // self.num_heads
        x = layers.dense(self.dim, (None, "embed"), dtype=self.dtype, name="patch_proj")(patches.astype(self.dtype))
        branch_pos = self.param("branch_position",
                                layers.boxed(nn.initializers.normal(0.02), (None, "length", "embed")),
                                (nb, p, self.dim)).astype(self.dtype)  # E^l, E^r
        branch_query = self.param("branch_query", layers.boxed(nn.initializers.normal(0.02), (None, "embed")),
                                  (nb, self.dim)).astype(self.dtype)
        keys_in = layers.LayerNorm(self.dtype, name="patch_norm")(x[:, :, None] + branch_pos[None, None])
        kv = layers.Projection((2, heads, head_dim), ("embed", None, "heads", "kv"), dtype=self.dtype,
                               name="kv")(keys_in)
        k, v = kv[..., 0, :, :], kv[..., 1, :, :]  # [B, Tp, nb, P, H, Dh]
        q = layers.Projection((heads, head_dim), ("embed", "heads", "kv"), dtype=self.dtype, name="q")(
            branch_query[None] + global_c[:, None].astype(self.dtype))  # [B, nb, H, Dh]
        logits = jnp.einsum("bnhd,btnphd->btnhp", q, k).astype(jnp.float32) / jnp.sqrt(head_dim)
        weights = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
        pooled = jnp.einsum("btnhp,btnphd->btnhd", weights, v).reshape(b, tp, nb, self.dim)
        pooled = layers.dense(self.dim, ("heads", "embed"), dtype=self.dtype, name="pool_proj")(pooled)
        frames = layers.resample_nearest(pooled, t, axis=1).transpose(0, 2, 1, 3)  # [B, nb, T, D]
        fused = frames + sync[:, None].astype(self.dtype) + global_c[:, None, None].astype(self.dtype)
        fused = layers.constrain(fused, ("batch", "channels", "length", "embed"))
        h = layers.ConvMLP(self.mlp_hidden, 3, self.dtype, name="ffn")(layers.LayerNorm(self.dtype, name="norm")(fused))
        return layers.dense(self.dim, ("embed", "mlp"), dtype=self.dtype, zero=True, name="out")(h)

"""MMAudio-style multimodal transformer blocks over audio-latent, video and text tokens.

Audio tokens carry a branch axis: [B, nb, T, D] with nb = 2 for the dual-branch (per-ear) layout and nb = 1 for
a single stream (joint stereo, mono). Joint blocks attend over the audio tokens of every branch together with
the video and text tokens (SD3-style joint attention, separate weights per modality; branches share the audio
weights). Single blocks then refine each branch on its own; a branch ends in adaLN + a kernel-7 convolution
giving the velocity (MMAudio's FinalBlock). Branch weights are shared (branches folded into the batch; they
are told apart by a branch embedding added to their tokens and conditions) or separate (`nn.vmap` over the
branch axis, params gaining a leading 'channels' axis).

Conditioning (adaLN): the audio stream of every block is modulated per token by the frame-level condition
c_f [B, nb, T, D] (global + sync (+ spacetime) (+ spatial)); video and text streams by the global condition
c_g [B, D]. RoPE: audio positions are latent-frame indices (every branch restarts at 0, so the two ears of the
same instant share a rotation), video positions are time-aligned or raw indices (`layers.aligned_positions`),
text has none.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from v2a_jax.generator import layers

AUDIO = ("batch", "channels", "length", "embed")
TOKENS = ("batch", "length", "embed")


class StreamBlock(nn.Module):
    """One modality's half of a block, split around the (possibly joint) attention.

    pre_attention(x [..., L, D], c [..., L or 1, D], positions [L] | None) -> ((q, k, v) [..., L, H, Dh], mods)
    post_attention(x, attn [..., L, H, Dh], mods) -> x [..., L, D]
    Attention output projection and feed-forward are convolutions over L of `kernel_size` (1 for text).
    """

    dim: int
    num_heads: int
    mlp_hidden: int
    kernel_size: int
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.adaln = layers.AdaLN(self.dim, 6, self.dtype)
        self.qkv = layers.QKV(self.num_heads, self.dim // self.num_heads, self.dtype)
        self.proj = layers.conv1d(self.dim, self.kernel_size, ("heads", "embed"), dtype=self.dtype)
        self.ffn = layers.ConvMLP(self.mlp_hidden, self.kernel_size, self.dtype)

    def pre_attention(self, x, c, positions):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaln(c)
        q, k, v = self.qkv(layers.modulate(layers.layer_norm(x), shift_msa, scale_msa))
        if positions is not None:
            q, k = layers.rope(q, positions), layers.rope(k, positions)
        return (q, k, v), (gate_msa, shift_mlp, scale_mlp, gate_mlp)

    def post_attention(self, x, attn, mods):
        gate_msa, shift_mlp, scale_mlp, gate_mlp = mods
        x = x + self.proj(layers.merge_heads(attn)) * gate_msa
        return x + self.ffn(layers.modulate(layers.layer_norm(x), shift_mlp, scale_mlp)) * gate_mlp


def _flatten_branches(x: jax.Array) -> jax.Array:
    """[B, nb, T, ...] -> [B, nb * T, ...]."""
    return x.reshape((x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:]))


class JointBlock(nn.Module):
    """Joint attention over audio (all branches), video and text tokens; scan-compatible signature.

    carry = (audio [B, nb, T, D], video [B, Tv, D], text [B, L, D] | None)
    c_g [B, D]; c_f [B, nb, T, D]; text_mask [B, L] | None; audio_pos [T]; video_pos [Tv].
    """

    dim: int
    num_heads: int
    mlp_hidden: int
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, carry, c_g, c_f, text_mask, audio_pos, video_pos):
        audio, video, text = carry
        b, nb, t = audio.shape[:3]
        block = lambda kernel, name: StreamBlock(  # noqa: E731
            self.dim, self.num_heads, self.mlp_hidden, kernel, self.dtype, name=name
        )
        audio_block, video_block = block(3, "audio"), block(3, "video")
        c_global = c_g[:, None, :]
        a_qkv, a_mods = audio_block.pre_attention(audio, c_f, audio_pos)
        v_qkv, v_mods = video_block.pre_attention(video, c_global, video_pos)
        streams = [tuple(_flatten_branches(x) for x in a_qkv), v_qkv]
        masks = [jnp.ones((b, nb * t), bool), jnp.ones(video.shape[:2], bool)]
        if text is not None:
            text_block = block(1, "text")
            t_qkv, t_mods = text_block.pre_attention(text, c_global, None)
            streams.append(t_qkv)
            masks.append(text_mask)
        q, k, v = (jnp.concatenate([s[i] for s in streams], axis=1) for i in range(3))
        out = layers.attention(q, k, v, jnp.concatenate(masks, axis=1), self.execution.attention)
        a_out = out[:, : nb * t].reshape(b, nb, t, *out.shape[2:])
        v_out = out[:, nb * t : nb * t + video.shape[1]]
        audio = layers.constrain(audio_block.post_attention(audio, a_out, a_mods), AUDIO)
        video = layers.constrain(video_block.post_attention(video, v_out, v_mods), TOKENS)
        if text is not None:
            t_out = out[:, nb * t + video.shape[1] :]
            text = layers.constrain(text_block.post_attention(text, t_out, t_mods), TOKENS)
        return (audio, video, text), None


class SingleBlock(nn.Module):
    """Self-attention block over one branch's audio tokens: (x [B', T, D], None) -> (x, None), given
    c [B', T, D] and positions [T]."""

    dim: int
    num_heads: int
    mlp_hidden: int
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, x, c, positions):
        block = StreamBlock(self.dim, self.num_heads, self.mlp_hidden, 3, self.dtype, name="audio")
        (q, k, v), mods = block.pre_attention(x, c, positions)
        return layers.constrain(
            block.post_attention(x, layers.attention(q, k, v, None, self.execution.attention), mods), TOKENS
        ), None


class FinalLayer(nn.Module):
    """adaLN(c) -> LayerNorm -> zero-initialised kernel-7 convolution: x [B', T, D] -> [B', T, out_dim]."""

    out_dim: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, c):
        shift, scale = layers.AdaLN(x.shape[-1], 2, self.dtype, name="adaln")(c)
        x = layers.modulate(layers.layer_norm(x), shift, scale)
        return layers.conv1d(self.out_dim, 7, ("embed", None), dtype=self.dtype, zero=True, name="out")(x)


class Branch(nn.Module):
    """`depth` single blocks (one stack) + FinalLayer: x [B', T, D], c [B', T, D] -> velocity [B', T, out_dim]."""

    dim: int
    num_heads: int
    mlp_hidden: int
    depth: int
    out_dim: int
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, x, c):
        positions = jnp.arange(x.shape[-2], dtype=jnp.float32)
        blocks = layers.layer_stack(SingleBlock, self.depth, self.execution, in_axes=(nn.broadcast, nn.broadcast))
        x, _ = blocks(self.dim, self.num_heads, self.mlp_hidden, self.dtype, self.execution, name="single_blocks")(
            x, c, positions
        )
        return FinalLayer(self.out_dim, self.dtype, name="final")(x, c)


class JointStack(nn.Module):
    """`depth` stacked JointBlocks: returns the audio tokens [B, nb, T, D] after the last one."""

    dim: int
    num_heads: int
    mlp_hidden: int
    depth: int
    aligned_rope: bool
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, audio, video, text, c_g, c_f, text_mask):
        t = audio.shape[2]
        audio_pos = jnp.arange(t, dtype=jnp.float32)
        video_pos = layers.aligned_positions(video.shape[1], t, self.aligned_rope)
        blocks = layers.layer_stack(JointBlock, self.depth, self.execution, in_axes=(nn.broadcast,) * 5)
        (audio, _, _), _ = blocks(
            self.dim, self.num_heads, self.mlp_hidden, self.dtype, self.execution, name="joint_blocks"
        )((audio, video, text), c_g, c_f, text_mask, audio_pos, video_pos)
        return audio


class Branches(nn.Module):
    """Per-branch single blocks + final layer over audio [B, nb, T, D] with conditions c_f [B, nb, T, D]
    -> [B, nb, T, out_dim]; weights shared by all branches or separate per branch (`separate`)."""

    dim: int
    num_heads: int
    mlp_hidden: int
    depth: int
    out_dim: int
    separate: bool
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, audio, c_f):
        args = (self.dim, self.num_heads, self.mlp_hidden, self.depth, self.out_dim, self.dtype, self.execution)
        if self.separate:
            per_branch = nn.vmap(
                Branch,
                variable_axes={"params": 0},
                split_rngs={"params": True},
                in_axes=1,
                out_axes=1,
                metadata_params={nn.PARTITION_NAME: "channels"},
            )
            return per_branch(*args, name="branch")(audio, c_f)
        b, nb, t, d = audio.shape
        out = Branch(*args, name="branch")(audio.reshape(b * nb, t, d), c_f.reshape(b * nb, t, d))
        return out.reshape(b, nb, t, self.out_dim)

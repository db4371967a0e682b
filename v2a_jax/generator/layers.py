"""Building blocks of the generator: dense/conv layers with logical axis names, adaLN modulation, ConvMLP,
rotary position embeddings (with time-aligned positions), attention, timestep embedding, nearest resampling.

Logical axis names (v2a_jax/train/partitioning.py): activations are [batch, length, embed] (or [batch,
channels, length, embed] when an ear axis is present, 'channels' = the two ears); attention tensors are
[batch, length, heads, kv]; MLP hidden activations [batch, length, mlp]. Every parameter is boxed with
`nn.with_logical_partitioning`.

Conventions follow MMAudio (Cheng et al., CVPR 2025): pre-LayerNorm without affine parameters, modulated by
adaLN as x * (1 + scale) + shift; SwiGLU ConvMLP whose hidden width is 2/3 of mlp_ratio * dim rounded up to a
multiple; RMS-normalised queries and keys; RoPE on audio and video tokens only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Names = tuple[str | None, ...]

# Inits follow MMAudio: xavier-uniform linear kernels, zero biases; adaLN and output layers zero-initialised.
XAVIER = nn.initializers.xavier_uniform()
ZEROS = nn.initializers.zeros_init()
ONES = nn.initializers.ones_init()


def boxed(init, names: Names):
    return nn.with_logical_partitioning(init, names)


def constrain(x: jax.Array, names: Names) -> jax.Array:
    """Sharding constraint by logical names (a no-op outside a mesh/rules context)."""
    return nn.with_logical_constraint(x, names)


def dense(
    features: int, names: Names, *, dtype, zero: bool = False, use_bias: bool = True, name: str | None = None
) -> nn.Dense:
    """nn.Dense with kernel names `names` = (in, out) and bias names (out,)."""
    return nn.Dense(
        features,
        use_bias=use_bias,
        dtype=dtype,
        name=name,
        kernel_init=boxed(ZEROS if zero else XAVIER, names),
        bias_init=boxed(ZEROS, names[1:]),
    )


class Conv1D(nn.Module):
    """'SAME' 1-D convolution over the second-to-last axis: [..., T, C_in] -> [..., T, features].

    The same maths and parameters as `nn.Conv(features, (k,), padding="SAME")` (kernel [k, C_in, features],
    bias [features]), computed as one matmul of the k shifted copies of the input concatenated on the feature
    axis ([..., T, k C_in] @ [k C_in, features]). Why: XLA's CPU backend runs the weight gradient of a 1-D
    convolution as a convolution whose window is the whole sequence, on a slow path (most of the generator's
    training step went there); here every gradient is a matmul, which every backend runs at its matmul rate.
    """

    features: int
    kernel_size: int
    kernel_init: nn.initializers.Initializer
    bias_init: nn.initializers.Initializer
    use_bias: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, length, c_in = self.kernel_size, x.shape[-2], x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (k, c_in, self.features), jnp.float32)
        x = x.astype(self.dtype)
        if k > 1:
            padded = jnp.pad(x, [(0, 0)] * (x.ndim - 2) + [((k - 1) // 2, k // 2), (0, 0)])
            x = jnp.concatenate([padded[..., i : i + length, :] for i in range(k)], axis=-1)
        y = x @ kernel.reshape(k * c_in, self.features).astype(self.dtype)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32).astype(self.dtype)
        return y


def conv1d(
    features: int,
    kernel_size: int,
    names: Names,
    *,
    dtype,
    zero: bool = False,
    use_bias: bool = True,
    name: str | None = None,
) -> Conv1D:
    """'SAME' 1-D convolution over the second-to-last axis of [..., T, C_in]; kernel names
    ('conv_kernel', in, out)."""
    return Conv1D(
        features,
        kernel_size,
        use_bias=use_bias,
        dtype=dtype,
        name=name,
        kernel_init=boxed(ZEROS if zero else nn.initializers.lecun_normal(), ("conv_kernel", *names)),
        bias_init=boxed(ZEROS, names[1:]),
    )


def fold_leading(x: jax.Array, keep: int) -> tuple[jax.Array, tuple[int, ...]]:
    """Merges all leading axes of x except the last `keep` into one: [..., *rest] -> [N, *rest]."""
    lead = x.shape[:-keep]
    return x.reshape((-1, *x.shape[-keep:])), lead


def layer_norm(x: jax.Array) -> jax.Array:
    """LayerNorm over the last axis without affine parameters, computed in float32."""
    y = x.astype(jnp.float32)
    mean = jnp.mean(y, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(y - mean), axis=-1, keepdims=True)
    return ((y - mean) * jax.lax.rsqrt(var + 1e-6)).astype(x.dtype)


def modulate(x: jax.Array, shift: jax.Array, scale: jax.Array) -> jax.Array:
    return x * (1 + scale) + shift


class Projection(nn.Module):
    """Dense map of the last axis to a multi-axis output: x [..., D] -> [..., *features].

    Kernel [D, *features] named `names` (len(features) + 1 names), bias [*features] named `names[1:]`; the
    kernel is created at its real shape (flax's DenseGeneral initialises a flattened kernel, which breaks
    logical-axis boxing of the multi-axis shape). Xavier-uniform over fan-in D and fan-out prod(features), or
    zeros.
    """

    features: tuple[int, ...]
    names: Names
    zero: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        n = len(self.features)
        init = ZEROS if self.zero else nn.initializers.xavier_uniform(in_axis=0, out_axis=tuple(range(1, n + 1)))
        kernel = self.param("kernel", boxed(init, self.names), (x.shape[-1], *self.features))
        bias = self.param("bias", boxed(ZEROS, self.names[1:]), self.features)
        y = jnp.tensordot(x.astype(self.dtype), kernel.astype(self.dtype), axes=1)
        return y + bias.astype(self.dtype)


class LayerNorm(nn.Module):
    """LayerNorm with learned scale and bias ('embed'), float32 statistics."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim = x.shape[-1]
        scale = self.param("scale", boxed(ONES, ("embed",)), (dim,))
        bias = self.param("bias", boxed(ZEROS, ("embed",)), (dim,))
        return (layer_norm(x) * scale + bias).astype(self.dtype)


class RMSNorm(nn.Module):
    """RMS normalisation over the last axis with a learned scale named `name_of_axis`."""

    axis_name: str = "kv"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        scale = self.param("scale", boxed(ONES, (self.axis_name,)), (x.shape[-1],))
        y = x.astype(jnp.float32)
        y = y * jax.lax.rsqrt(jnp.mean(jnp.square(y), axis=-1, keepdims=True) + 1e-6)
        return (y * scale).astype(x.dtype)


class AdaLN(nn.Module):
    """adaLN modulation: SiLU -> zero-initialised Dense, split into `num_chunks` tensors of width `dim`.

    c: [..., D] condition (global [B, 1, D] or per-token [B, T, D]) -> tuple of `num_chunks` arrays [..., dim].
    Zero init makes every block start as the identity (gates are 0), as in DiT and MMAudio.
    """

    dim: int
    num_chunks: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, c: jax.Array) -> tuple[jax.Array, ...]:
        out = Projection((self.num_chunks, self.dim), ("embed", None, "mlp"), zero=True, dtype=self.dtype)(nn.silu(c))
        return tuple(out[..., i, :] for i in range(self.num_chunks))


def mlp_hidden(dim: int, mlp_ratio: float, multiple_of: int) -> int:
    """MMAudio's SwiGLU hidden width: int(2/3 * mlp_ratio * dim) rounded up to a multiple of `multiple_of`."""
    hidden = int(2 * int(dim * mlp_ratio) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class ConvMLP(nn.Module):
    """SwiGLU feed-forward whose three projections are 1-D convolutions over time (kernel 1 = plain MLP).

    x: [..., T, D] -> [..., T, D]; w2(silu(w1 x) * w3 x), no biases.
    """

    hidden: int
    kernel_size: int = 3
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        flat, lead = fold_leading(x, 2)
        dim = x.shape[-1]
        h1 = conv1d(self.hidden, self.kernel_size, ("embed", "mlp"), dtype=self.dtype, use_bias=False, name="w1")(flat)
        h3 = conv1d(self.hidden, self.kernel_size, ("embed", "mlp"), dtype=self.dtype, use_bias=False, name="w3")(flat)
        h = constrain(nn.silu(h1) * h3, ("batch", "length", "mlp"))
        out = conv1d(dim, self.kernel_size, ("mlp", "embed"), dtype=self.dtype, use_bias=False, name="w2")(h)
        return out.reshape((*lead, *out.shape[-2:]))


class TimestepEmbedding(nn.Module):
    """t in [0, 1] -> [B, D]: sinusoidal features of 1000 t (256 frequencies, max period 10^4), then an MLP.

    The 1000x scale puts the flow time on the DiT timestep scale, where the sinusoids resolve small steps.
    """

    dim: int
    num_frequencies: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, t: jax.Array) -> jax.Array:
        half = self.num_frequencies // 2
        freqs = jnp.exp(-np.log(10000.0) * jnp.arange(half, dtype=jnp.float32) / half)
        args = 1000.0 * t.astype(jnp.float32)[:, None] * freqs[None]
        emb = jnp.concatenate([jnp.cos(args), jnp.sin(args)], axis=-1).astype(self.dtype)
        h = nn.silu(dense(self.dim, (None, "embed"), dtype=self.dtype)(emb))
        return dense(self.dim, ("mlp", "embed"), dtype=self.dtype)(h)


def rope(x: jax.Array, positions: jax.Array, theta: float = 10000.0) -> jax.Array:
    """Rotary position embedding (half-split form) of x [..., L, H, Dh] at float `positions` [L].

    Feature pair (i, i + Dh/2) is rotated by positions * theta^(-2i/Dh). Positions may be fractional: video
    tokens use time-aligned positions (`aligned_positions`), so a video and an audio token at the same time get
    the same rotation.
    """
    dim = x.shape[-1]
    if dim % 2:
        raise ValueError(f"rope: head dimension must be even, got {dim}")
    freqs = theta ** (-jnp.arange(dim // 2, dtype=jnp.float32) / (dim // 2))
    angles = positions.astype(jnp.float32)[:, None] * freqs[None]  # [L, Dh/2]
    cos, sin = jnp.cos(angles), jnp.sin(angles)
    # The two halves as an axis of 2 ([..., L, H, 2, Dh/2]): (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) is
    # x cos + reversed(x) (-sin, +sin), elementwise with no split or concatenate (which XLA's CPU backend runs
    # as separate, slower copies).
    cos2 = jnp.stack([cos, cos], axis=-2)[:, None]  # [L, 1, 2, Dh/2]
    sin2 = jnp.stack([-sin, sin], axis=-2)[:, None]
    halves = x.astype(jnp.float32).reshape(*x.shape[:-1], 2, dim // 2)
    return (halves * cos2 + halves[..., ::-1, :] * sin2).reshape(x.shape).astype(x.dtype)


def aligned_positions(num_tokens: int, num_latent_frames: int, aligned: bool) -> jax.Array:
    """RoPE positions [num_tokens] of a stream spanning the same time as `num_latent_frames` audio latents.

    aligned: token k sits at k * num_latent_frames / num_tokens, i.e. at its start time in latent-frame units
    (MMAudio's "aligned RoPE"); otherwise at k (the unaligned ablation).
    """
    k = jnp.arange(num_tokens, dtype=jnp.float32)
    return k * (num_latent_frames / num_tokens) if aligned else k


def nearest_indices(num_out: int, num_in: int) -> np.ndarray:
    """Index into a sequence of `num_in` frames for each of `num_out` frames spanning the same time.

    Frame i of the output covers [i, i + 1) / num_out of the span; it takes the input frame under its centre,
    floor((i + 0.5) num_in / num_out) (PyTorch's 'nearest-exact', as MMAudio upsamples sync features).
    """
    return np.minimum(((np.arange(num_out) + 0.5) * num_in / num_out).astype(np.int64), num_in - 1)


def resample_nearest(x: jax.Array, num_out: int, axis: int = 1) -> jax.Array:
    """Nearest resampling of x along `axis` to `num_out` frames covering the same time (`nearest_indices`)."""
    return jnp.take(x, nearest_indices(num_out, x.shape[axis]), axis=axis)


class QKV(nn.Module):
    """Query/key/value projection with RMS-normalised q and k: [..., L, D] -> 3 x [..., L, H, Dh]."""

    num_heads: int
    head_dim: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        qkv = Projection((3, self.num_heads, self.head_dim), ("embed", None, "heads", "kv"), dtype=self.dtype)(x)
        q, k, v = qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :]
        return RMSNorm(name="q_norm")(q), RMSNorm(name="k_norm")(k), v


# jax.nn.dot_product_attention's implementations: 'xla' (any backend; XLA fuses it on TPU), 'cudnn' (GPU: cuDNN's
# flash attention, bfloat16/float16 only).
ATTENTION_IMPLEMENTATIONS = ("xla", "cudnn")
# What a stacked block keeps for its backward pass (`layer_stack`): 'none' stores every activation; 'full'
# recomputes the block from its input; 'dots' stores the outputs of the weight matmuls (no batch dimensions) and
# recomputes the rest (norms, activations, attention), the usual middle ground for transformers.
REMAT_POLICIES = {
    "none": None,
    "full": jax.checkpoint_policies.nothing_saveable,
    "dots": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
}


@dataclasses.dataclass(frozen=True)
class Execution:
    """How the blocks run, not what they compute (outputs and gradients equal for every setting, to float
    tolerance): the attention implementation (ATTENTION_IMPLEMENTATIONS), the remat policy (REMAT_POLICIES), and
    whether a stack of blocks is one scanned body (`scan_layers`, the default: one compiled body whatever the
    depth) or unrolled (each block its own code, the same stacked parameters: longer compiles, and what lets
    XLA's cost analysis count every block, which counts a loop body once)."""

    attention: str = "xla"
    remat: str = "none"
    scan_layers: bool = True

    def __post_init__(self):
        if self.attention not in ATTENTION_IMPLEMENTATIONS:
            raise ValueError(f"attention={self.attention!r}: must be one of {ATTENTION_IMPLEMENTATIONS}")
        if self.remat not in REMAT_POLICIES:
            raise ValueError(f"remat={self.remat!r}: must be one of {tuple(REMAT_POLICIES)}")


def attention(
    q: jax.Array, k: jax.Array, v: jax.Array, key_mask: jax.Array | None = None, implementation: str = "xla"
) -> jax.Array:
    """Softmax attention. q [B, Lq, H, Dh], k/v [B, Lk, H, Dh], key_mask [B, Lk] bool (True = attend)
    -> [B, Lq, H, Dh], by jax.nn.dot_product_attention's `implementation` (ATTENTION_IMPLEMENTATIONS)."""
    names = ("batch", "length", "heads", "kv")
    q, k, v = (constrain(a, names) for a in (q, k, v))
    mask = None if key_mask is None else key_mask[:, None, None, :]
    return constrain(jax.nn.dot_product_attention(q, k, v, mask=mask, implementation=implementation), names)


def merge_heads(x: jax.Array) -> jax.Array:
    return x.reshape((*x.shape[:-2], x.shape[-2] * x.shape[-1]))


class TransformerLayer(nn.Module):
    """Plain pre-LN transformer layer (attention + GELU MLP) for the encoders: [B, L, D] -> [B, L, D].

    positions: optional RoPE positions [L]; key_mask: optional [B, L] bool.
    """

    num_heads: int
    mlp_ratio: float = 4.0
    dtype: jnp.dtype = jnp.float32
    execution: Execution = Execution()

    @nn.compact
    def __call__(
        self, x: jax.Array, positions: jax.Array | None = None, key_mask: jax.Array | None = None
    ) -> jax.Array:
        dim = x.shape[-1]
        head_dim = dim // self.num_heads
        q, k, v = QKV(self.num_heads, head_dim, dtype=self.dtype, name="qkv")(LayerNorm(self.dtype, name="norm1")(x))
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        out = merge_heads(attention(q, k, v, key_mask, self.execution.attention))
        x = x + dense(dim, ("heads", "embed"), dtype=self.dtype, name="proj")(out)
        h = LayerNorm(self.dtype, name="norm2")(x)
        h = nn.gelu(dense(int(dim * self.mlp_ratio), ("embed", "mlp"), dtype=self.dtype, name="fc1")(h))
        h = constrain(h, ("batch", "length", "mlp"))
        return x + dense(dim, ("mlp", "embed"), dtype=self.dtype, name="fc2")(h)


def layer_stack(block: type[nn.Module], depth: int, execution: Execution, in_axes) -> type[nn.Module]:
    """`depth` copies of `block` over a leading "layers" parameter axis, scanned (one compiled body whatever the
    depth) or unrolled as `execution.scan_layers` says; the parameters are the same either way.
    `execution.remat` (REMAT_POLICIES) decides what each block keeps for the backward pass: with 'full' training
    memory holds one block's activations plus each block's input rather than all of them (about a third more
    compute; what lets the large config train at the papers' batch sizes), 'dots' keeps the matmul outputs.

    `in_axes` as for nn.scan: how the call's non-carry arguments are scanned (nn.broadcast: the same for
    every layer).
    """
    if REMAT_POLICIES[execution.remat] is not None:
        # Inside a scan CSE cannot merge the recomputation into the forward pass; unrolled, it could.
        block = nn.remat(block, prevent_cse=not execution.scan_layers, policy=REMAT_POLICIES[execution.remat])
    return nn.scan(
        block,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=in_axes,
        length=depth,
        # Unrolled: unroll >= 2, since jax lowers a depth-1 stack with unroll 1 as a one-trip loop.
        unroll=1 if execution.scan_layers else max(depth, 2),
        metadata_params={nn.PARTITION_NAME: "layers"},
    )


def check_divisible(value: int, by: int, what: str) -> None:
    if by <= 0 or value % by:
        raise ValueError(f"v2a_jax.generator: {what}: {value} is not divisible by {by}")


def as_tuple(x: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in x)

"""Conditional flow matching on per-ear latents (pure functions).

Linear path between noise x0 ~ N(0, I) at t = 0 and data x1 at t = 1: x_t = t x1 + (1 - t) x0, target velocity
x1 - x0 (MMAudio, ViSAudio). Training times are logit-normal, t = sigmoid(n), n ~ N(mean, std^2). The loss is
the mean squared velocity error per ear (over time and channels), summed over the two ears and averaged over
the batch: sum_{a in {l, r}} E || v^a - (x1^a - x0^a) ||^2. Conditions are dropped independently per example
for classifier-free guidance. Validation evaluates fixed flow times, one per bucket of [0, 1], so the loss
can be read per timestep bucket. Latents are [B, 2, T, C] (0 = left ear).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def logit_normal_times(key: jax.Array, batch: int, mean: float = 0.0, std: float = 1.0) -> jax.Array:
    """t [batch] = sigmoid(mean + std * N(0, 1)), in (0, 1)."""
    return jax.nn.sigmoid(mean + std * jax.random.normal(key, (batch,), jnp.float32))


def interpolate(x0: jax.Array, x1: jax.Array, t: jax.Array) -> jax.Array:
    """x_t = t x1 + (1 - t) x0 with t [B] broadcast over the other axes of x0/x1 [B, ...]."""
    t = t.reshape((-1,) + (1,) * (x1.ndim - 1)).astype(x1.dtype)
    return t * x1 + (1 - t) * x0


def target_velocity(x0: jax.Array, x1: jax.Array) -> jax.Array:
    return x1 - x0


def per_ear_loss(v_pred: jax.Array, v_target: jax.Array) -> jax.Array:
    """Mean squared error per example and ear: [B, 2, T, C] x 2 -> [B, 2] (float32)."""
    err = jnp.square(v_pred.astype(jnp.float32) - v_target.astype(jnp.float32))
    return jnp.mean(err, axis=(2, 3))


def interaural_loss(v_pred: jax.Array, v_target: jax.Array) -> jax.Array:
    """Mean squared error of the ears' difference (side = (left - right) / 2) per example: [B, 2, T, C] x 2 ->
    [B]. The per-ear loss summed over the ears is 2 (mid error + side error); on binaural latents the side
    holds a few percent of the variance, so this term lets a config weigh the interaural part up."""
    err = v_pred.astype(jnp.float32) - v_target.astype(jnp.float32)
    return jnp.mean(jnp.square(0.5 * (err[:, 0] - err[:, 1])), axis=(1, 2))


def flow_loss(per_ear: jax.Array) -> jax.Array:
    """[B, 2] per-ear losses -> scalar: summed over ears, averaged over the batch."""
    return jnp.mean(jnp.sum(per_ear, axis=1))


def drop_masks(key: jax.Array, batch: int, p_video: float, p_text: float) -> tuple[jax.Array, jax.Array]:
    """(drop_video [batch], drop_text [batch]) bool, each True with its probability, independently."""
    k_video, k_text = jax.random.split(key)
    return (jax.random.bernoulli(k_video, p_video, (batch,)), jax.random.bernoulli(k_text, p_text, (batch,)))


def bucket_times(num_buckets: int) -> jax.Array:
    """Centres [num_buckets] of the equal buckets of [0, 1]: (k + 0.5) / num_buckets."""
    return (jnp.arange(num_buckets, dtype=jnp.float32) + 0.5) / num_buckets


def bucket_names(num_buckets: int) -> list[str]:
    """Metric names of the validation buckets, e.g. 'loss_t0.00-0.25'."""
    edges = [k / num_buckets for k in range(num_buckets + 1)]
    return [f"loss_t{lo:.2f}-{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:])]

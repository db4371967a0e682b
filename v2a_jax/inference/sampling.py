"""Sampling the generator's flow: noise -> per-ear latents -> binaural waveforms (pure functions, jittable).

Everything is an argument (the model, its params, the codec, a `samplers.Sampler`), so training summaries,
evaluation and sampling from video files all run the same function with their own settings. Randomness enters
only through `key` (the initial noise): sampling is deterministic given it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from v2a_jax.autoencoder.codec import AudioCodec
from v2a_jax.generator import samplers
from v2a_jax.generator.model import Conditions, Generator, tie_ears


def guided_field(
    model: Generator,
    params,
    cond: Conditions,
    uncond: Conditions,
    cfg_strength: float,
    guidance_interval: tuple[float, float] = samplers.FULL_INTERVAL,
) -> samplers.VelocityFn:
    """The guided velocity field of `model` for a batch's conditional and unconditional `Conditions`
    (samplers.guided_velocity, the audio input projections shared by the two halves; guidance only at the flow
    times of `guidance_interval`)."""
    variables = {"params": params}
    return samplers.guided_velocity(
        lambda h, t, c: model.apply(variables, h, t, c, method=Generator.velocity_of_tokens),
        cond,
        uncond,
        cfg_strength,
        shared=lambda x: model.apply(variables, x, method=Generator.audio_tokens),
        interval=guidance_interval,
    )


def sample_latents(
    model: Generator,
    params,
    inputs: dict[str, jax.Array],
    key: jax.Array,
    *,
    num_latent_frames: int,
    sampler: samplers.Sampler,
) -> jax.Array:
    """Generated normalised latents [B, 2, num_latent_frames, C] for the model's `inputs` (Generator.encode's:
    video or precomputed features [B, ...], caption ids [B, L]) with classifier-free guidance."""
    batch = next(iter(inputs.values())).shape[0]

    def encode(drop):
        return model.apply({"params": params}, inputs, drop, drop, num_latent_frames, method=Generator.encode)

    cond, uncond = encode(jnp.zeros((batch,), bool)), encode(jnp.ones((batch,), bool))
    shape = (batch, 2, num_latent_frames, model.config.latent_dim)
    x0 = tie_ears(jax.random.normal(key, shape, jnp.float32), model.config.layout)
    field = guided_field(model, params, cond, uncond, sampler.cfg_strength, sampler.guidance_interval)
    return samplers.sample(field, x0, num_steps=sampler.num_steps, method=sampler.method, shift=sampler.shift)


def sample_audio(
    model: Generator,
    codec: AudioCodec,
    params,
    inputs: dict[str, jax.Array],
    key: jax.Array,
    *,
    num_latent_frames: int,
    sampler: samplers.Sampler,
) -> jax.Array:
    """Binaural waveforms float32 [B, 2, num_latent_frames * codec.samples_per_latent] (channel 0 = left ear):
    `sample_latents` decoded by `codec`."""
    latents = sample_latents(model, params, inputs, key, num_latent_frames=num_latent_frames, sampler=sampler)
    return codec.decode(latents).astype(jnp.float32)

"""Each ear's arrival time relative to the head centre, per latent frame: the autoencoder's delay channel.

Why the autoencoder needs it: an autoencoder that codes each ear's STFT into 20 learned channels per 32 ms frame
decodes both ears with nearly the same fine structure, so the reconstruction's ITD is ~0 whatever the input's
(its per-frame ITD error is close to that of copying the left ear to the right; experiments/RESULTS.md, "Binaural
autoencoder", has the rows with and without this channel). Interaural delays (|ITD| <= 0.66 ms = 10.5 samples)
are a small shift of the fine structure, and the fine structure of noise-like sources cannot be coded per ear in
a few channels. So one channel of every ear's latent is not learned but measured: the ear's delay relative to
the interaural midpoint, tau_left = -ITD / 2 and tau_right = +ITD / 2 (samples; ITD > 0 when the left ear
leads), with the ITD of each latent frame measured by v2a_jax.spatial.itd.frame_itd. The encoder sees each ear
advanced by its delay; the decoder, still one ear at a time, applies its ear's delay to the spectrum it predicts
(`apply_delay`), so two ears decoded from latents that differ in this channel differ by exactly that delay, and a
generator controls the ITD through one channel per ear.

Conventions: audio `[B, 2, N]`, channel 0 = left; delays in samples, positive = later.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

DELAY_SCALE = 4.0  # samples per unit of the latent channel: |tau| <= 5.5 samples maps to |value| <= 1.4


def ear_delays(itd: jax.Array) -> jax.Array:
    """ITD `[B, T]` (samples, > 0: left leads) -> per-ear delay channel values `[B, 2, T]` (units of
    DELAY_SCALE samples): left -ITD / 2, right +ITD / 2."""
    return jnp.stack([-0.5 * itd, 0.5 * itd], axis=1) / DELAY_SCALE


def apply_delay(spec: jax.Array, delay: jax.Array, samples_per_latent: int, hop: int, n_fft: int) -> jax.Array:
    """Delays each STFT frame of one ear's spectrum by its latent frame's delay, linearly interpolated between
    latent frame centres (so the delay, and the ITD, glide rather than jump).

    Args:
      spec: `[E, T * K, F]` complex STFT (frame j centred on sample j * hop, K = samples_per_latent / hop).
      delay: `[E, T]` delay channel values (units of DELAY_SCALE samples).
    Returns:
      `[E, T * K, F]`: spec * exp(-i 2 pi b tau_j / n_fft), tau_j the delay in samples at frame j.
    """
    num_frames, bins = spec.shape[-2], spec.shape[-1]
    centres = (np.arange(delay.shape[-1]) + 0.5) * samples_per_latent
    tau = jax.vmap(lambda d: jnp.interp(np.arange(num_frames) * hop, centres, d))(delay * DELAY_SCALE)
    phase = -2.0 * np.pi / n_fft * tau[..., None] * np.arange(bins)
    return spec * jnp.exp(1j * phase)

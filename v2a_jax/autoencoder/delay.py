"""Each ear's arrival time relative to the head centre, per latent frame: the autoencoder's delay channel.

Why the autoencoder needs it (measured, experiments/autoencoder.py): an autoencoder that codes each ear's STFT
into 20 learned channels per 32 ms frame decodes both ears with nearly the same fine structure, so the
reconstruction's ITD is ~0 whatever the input's: mean |delta ITD| 88 us on held-out binaural_synth clips, the
same as copying the left ear to the right. Interaural delays (|ITD| <= 0.7 ms = 11 samples) are a small shift of
the fine structure, and the fine structure of noise-like sources cannot be coded per ear in a few channels.
So one channel of every ear's latent is not learned but measured: the ear's delay relative to the interaural
midpoint, tau_left = -ITD / 2 and tau_right = +ITD / 2 (samples; ITD > 0 when the left ear leads), with the
ITD of each latent frame estimated by GCC-PHAT between the two ears. The decoder, still one ear at a time,
applies its ear's delay to the spectrum it predicts (`apply_delay`), so two ears decoded from latents that
differ in this channel differ by exactly that delay, and a generator controls the ITD through one channel
per ear.

Conventions: audio `[B, 2, N]`, channel 0 = left; delays in samples, positive = later.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

DELAY_SCALE = 4.0  # samples per unit of the latent channel: |tau| <= 5.5 samples maps to |value| <= 1.4
ENERGY_FLOOR = 1e-10  # mean-square level (-100 dBFS) below which a frame has no measurable delay (tau = 0)
LAG_RESOLUTION = 8  # lag grid steps per sample of the GCC-PHAT search (1 / 8 sample = 7.8 us at 16 kHz)


def interaural_delay(audio: jax.Array, samples_per_latent: int, max_delay: float, sample_rate: int,
                     band_hz: tuple[float, float] = (50.0, 6000.0), dynamic_range_db: float = 30.0) -> jax.Array:
    """ITD per latent frame in samples (> 0: left leads), by GCC-PHAT over 2 * samples_per_latent samples.

    Frame t is a Hann window of 2 * samples_per_latent samples centred on the latent frame's centre
    (t + 1/2) * samples_per_latent (zero padding at the clip's ends). The PHAT-weighted cross-spectrum over
    `band_hz` is evaluated on a grid of lags in [-max_delay, max_delay] with 1 / LAG_RESOLUTION sample steps
    (an exact DFT at those lags, no circular wrap: the FFT is twice the window). Silent frames give 0.

    Args:
      audio: `[B, 2, N]`, N a multiple of samples_per_latent.
    Returns:
      `[B, N // samples_per_latent]` float32.
    """
    b, _, n = audio.shape
    t = n // samples_per_latent
    win = 2 * samples_per_latent
    padded = jnp.pad(audio.astype(jnp.float32), [(0, 0), (0, 0), (samples_per_latent // 2, samples_per_latent)])
    starts = np.arange(t) * samples_per_latent
    frames = padded[..., starts[:, None] + np.arange(win)] * jnp.asarray(np.hanning(win + 2)[1:-1], jnp.float32)
    spec = jnp.fft.rfft(frames, n=2 * win, axis=-1)  # [B, 2, T, F]
    cross = spec[:, 0] * jnp.conj(spec[:, 1])
    freqs = np.fft.rfftfreq(2 * win, 1.0 / sample_rate)
    band = ((freqs >= band_hz[0]) & (freqs <= band_hz[1])).astype(np.float32)
    power = cross.real ** 2 + cross.imag ** 2
    keep = power >= jnp.max(power * band, axis=-1, keepdims=True) * 10.0 ** (-dynamic_range_db / 5.0)
    phat = cross * jax.lax.rsqrt(power + 1e-30) * band * keep
    lags = np.arange(-int(max_delay * LAG_RESOLUTION), int(max_delay * LAG_RESOLUTION) + 1) / LAG_RESOLUTION
    # r(k) = sum_f C(f) e^{i 2 pi f k / n_fft}; it peaks at k = -ITD (the right ear lags by ITD samples).
    steer = np.exp(2j * np.pi * np.outer(np.arange(freqs.size), lags) / (2 * win)).astype(np.complex64)
    corr = jnp.real(phat @ steer)  # [B, T, lags]
    itd = -jnp.asarray(lags, jnp.float32)[jnp.argmax(corr, axis=-1)]
    energy = jnp.mean(frames ** 2, axis=-1).min(axis=1)  # the quieter ear decides
    return jax.lax.stop_gradient(jnp.where(energy > ENERGY_FLOOR, itd, 0.0))


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

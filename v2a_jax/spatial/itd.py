"""Interaural time difference of binaural audio per frame, for cues that must hold up under reverberation
(jnp, jittable): the autoencoder's measured delay channel (autoencoder/delay.py) and the direction metric of
generated audio (metrics/direction.py) both use `frame_itd`.

Why not plain GCC-PHAT per frame (metrics/binaural.gcc_phat_frames, which the reference's delta-ITD metric
keeps): on binaural_synth's reverberant scenes PHAT gives every frequency bin the same say, so the ears'
independent reverberant tails outvote a tonal source's few strong bins, and one short frame has too little of
the direct sound. `frame_itd` therefore sums the cross-spectrum over +-2 neighbouring frames, so that the
direct sound's coherent bins add up while the independent tails average out, and weights it by PHAT-beta
(beta 0.7 < 1 keeps part of the energy weighting that PHAT discards). The estimators compared, and how often each
gets the ITD's sign right: `python -m experiments.tools.delay_estimators`, figures in experiments/RESULTS.md
("Spatial rendering and cue estimation").

Conventions: audio `[B, 2, N]` (0 = left ear); ITD in samples, > 0 when the LEFT ear leads.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.autoencoder import stft as stft_lib

ENERGY_FLOOR = 1e-10  # mean-square level (-100 dBFS) below which a frame has no measurable ITD (0 is returned)
LAG_RESOLUTION = 8  # lag grid steps per sample (1 / 8 sample = 7.8 us at 16 kHz)
HEAD_MAX_LAG_S = 0.69e-3  # search range: the spherical head gives at most 0.66 ms; wider only admits false peaks
CONTEXT_FRAMES = 2  # frames summed on each side (5 x 32 ms = 160 ms for the autoencoder's latent frames)
PHAT_BETA = 0.7  # cross-spectrum weight 1 / |R|^beta: 1 = PHAT, 0 = plain cross-correlation


@functools.partial(
    jax.jit,
    static_argnames=("frame_len", "max_lag", "sample_rate", "num_frames", "n_fft", "hop", "context", "beta", "band_hz"),
)
def frame_itd(
    audio: jax.Array,
    frame_len: int,
    max_lag: float,
    sample_rate: int,
    num_frames: int | None = None,
    n_fft: int = 512,
    hop: int = 128,
    context: int = CONTEXT_FRAMES,
    beta: float = PHAT_BETA,
    band_hz: tuple[float, float] = (50.0, 8000.0),
) -> jax.Array:
    """ITD of frame t = samples [t * frame_len, (t + 1) * frame_len), in samples, by generalised cross-correlation
    (PHAT-beta) of the cross-spectrum summed over frames t - context .. t + context.

    The cross-spectrum X_L conj(X_R) of an STFT (n_fft, hop; STFT frame k centred on sample k * hop belongs to
    frame k * hop // frame_len) is summed per frame and over the context, weighted by 1 / |R|^beta within
    `band_hz`, and evaluated on lags in [-max_lag, max_lag] samples with 1 / LAG_RESOLUTION sample steps (an
    exact inverse DFT at those lags); the peak is refined by a parabola through it and its two neighbours.
    Frames whose quieter ear is below ENERGY_FLOOR give 0.

    Args:
      audio: `[B, 2, N]`; zero-padded or cut to num_frames * frame_len samples.
      num_frames: T, default N // frame_len.
    Returns:
      `[B, T]` float32 samples.
    """
    b, _, n = audio.shape
    t = n // frame_len if num_frames is None else num_frames
    length = t * frame_len
    audio = jnp.pad(audio.astype(jnp.float32), [(0, 0), (0, 0), (0, max(0, length - n))])[..., :length]
    num_stft = -(-length // hop)
    spec = stft_lib.stft(audio, n_fft, hop, num_frames=num_stft)  # [B, 2, K, F]
    owner = np.minimum(np.arange(num_stft) * hop // frame_len, t - 1)
    # Frame t sums the STFT frames it owns and those of its `context` neighbours on each side.
    distance = np.abs(owner[:, None] - np.arange(t)[None, :])
    gather = jnp.asarray(distance <= context, jnp.float32)  # [K, T]
    cross = jnp.einsum("bkf,kt->btf", spec[:, 0] * jnp.conj(spec[:, 1]), gather.astype(jnp.complex64))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = ((freqs >= band_hz[0]) & (freqs <= band_hz[1])).astype(np.float32)
    weighted = cross * band * (jnp.abs(cross) + 1e-20) ** -beta
    lags = np.arange(-int(round(max_lag * LAG_RESOLUTION)), int(round(max_lag * LAG_RESOLUTION)) + 1)
    lags = lags / LAG_RESOLUTION
    # r(k) = sum_f C(f) e^{i 2 pi f k / n_fft}; it peaks at k = -ITD (the right ear lags by ITD samples).
    steer = np.exp(2j * np.pi * np.outer(np.arange(freqs.size), lags) / n_fft).astype(np.complex64)
    corr = jnp.real(weighted @ steer)  # [B, T, lags]
    # Parabolic refinement around the grid peak (the grid's 1/8-sample steps alone leave up to 4 us of error).
    k = jnp.clip(jnp.argmax(corr, axis=-1), 1, lags.size - 2)
    y_m, y_0, y_p = (jnp.take_along_axis(corr, (k + o)[..., None], axis=-1)[..., 0] for o in (-1, 0, 1))
    denom = y_m - 2.0 * y_0 + y_p
    offset = jnp.where(denom < 0.0, 0.5 * (y_m - y_p) / jnp.where(denom < 0.0, denom, -1.0), 0.0)
    itd = -(jnp.asarray(lags, jnp.float32)[k] + jnp.clip(offset, -0.5, 0.5) / LAG_RESOLUTION)
    energy = jnp.mean(audio.reshape(b, 2, t, frame_len) ** 2, axis=-1).min(axis=1)
    return jnp.where(energy > ENERGY_FLOOR, itd, 0.0)

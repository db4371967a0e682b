"""Training losses of the binaural autoencoder (jax.numpy, float32, differentiable).

Waveforms are `[..., N]` (any leading dims) for the per-signal losses and `[B, 2, N]` (0 = left ear) for the
interaural ones. STFTs are centred with reflect padding (`stft.py`); magnitudes are in raw STFT units and powers
in mean-square units (|S|^2 / sum(window^2)), so floors are levels in dBFS whatever the n_fft.

- Multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN 2020): per resolution, the mean squared
  difference of log magnitudes (powers floored at `log_floor`; squared, like the log-spectral distance it
  lowers, see below) plus the spectral convergence || |G| - |P| ||_F / || G ||_F (norms over the whole batch).
- Decoder spectrum loss: the same squared log-magnitude difference between the magnitudes the decoder predicts
  (before its iSTFT) and the target's STFT at the decoder's n_fft and hop. The waveform losses alone do not tie
  the decoder's per-bin magnitudes to the target's spectrum (the overlap-add mixes neighbouring frames and bins,
  so many different predicted spectra give similar waveforms); with this term the decoder's magnitudes are an
  estimate of the target's, and what the reconstruction still loses is the phase coherence between overlapping
  frames (the diagnosis and the measured effect: experiments/RESULTS.md, "Binaural autoencoder").
- Complex loss: mean squared difference of power-law compressed complex spectra |S|^c e^{i phase} (c = 0.3),
  which, unlike the magnitude losses, sees the phase; the compression gives quiet bins a say (the GCC-PHAT
  ITD counts every bin equally, whatever its level).
- Interaural phase loss: per bin, the interaural cross-spectrum L conj(R) normalised to unit length (its angle
  is the IPD) is compared between prediction and target, weighted by the target's cross-spectrum magnitude to
  the power `ipd_weight_power` and restricted to a frequency band. With power 0 this is the squared distance
  between the PHAT-weighted cross-correlations (Parseval), i.e. what GCC-PHAT reads the ITD from.
- Interaural level loss: per frame and band, |ILD_pred - ILD_target| in dB, weighted by the target band's
  energy (frames and bands where both ears are silent say nothing about level differences).
- KL divergence of the diagonal Gaussian posterior from N(0, I), mean per latent element.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.autoencoder import stft as stft_lib

COMPLEX_POWER = 0.3
COMPLEX_FLOOR = 1e-8  # |S|^2 floor inside the compression, bounds its gradient at silent bins
CROSS_FLOOR = 1e-20  # |L conj(R)|^2 floor of the IPD normalisation: silent bins normalise to ~0 in both signals
ILD_FLOOR = 1e-9  # band power floor (mean square, -90 dBFS) of the ILD


def _window_energy(n_fft: int) -> float:
    """sum(window^2): divides |S|^2 into mean-square units."""
    return float(np.sum(stft_lib.hann_window(n_fft).astype(np.float64) ** 2))


def _power(spec: jax.Array, n_fft: int) -> jax.Array:
    """|S|^2 in mean-square units (a white noise of variance s^2 gives s^2 in every bin)."""
    return (spec.real**2 + spec.imag**2) / _window_energy(n_fft)


def multi_resolution_stft_loss(
    pred: jax.Array, target: jax.Array, resolutions: Sequence[tuple[int, int]], log_floor: float
) -> tuple[jax.Array, jax.Array]:
    """(mean squared log-magnitude difference in nepers^2, spectral convergence pooled over all signals), each
    averaged over the resolutions.

    Args:
      pred, target: `[..., N]` waveforms.
      resolutions: (n_fft, hop) pairs.
      log_floor: power floor (mean-square units) inside the log; 1e-8 = -80 dBFS, the floor of the LSD metric.
    """
    log_terms, sc_terms = [], []
    for n_fft, hop in resolutions:
        p_pow = _power(stft_lib.stft(pred, n_fft, hop), n_fft)
        t_pow = _power(stft_lib.stft(target, n_fft, hop), n_fft)
        # 0.5 * log(power) = log(magnitude): the difference is in nepers of amplitude. Squared, not absolute:
        # binaural_synth spectra are sparse (a few tonal peaks over near-silence), and an L1 loss, whose
        # minimiser is the median, first learns the silence and leaves the peaks at the initial level.
        log_terms.append(jnp.mean((_log_amplitude(p_pow, log_floor) - _log_amplitude(t_pow, log_floor)) ** 2))
        # Pooled over the whole batch: per signal, a silent target (common in binaural_synth crops) would
        # divide by ~0.
        diff = jnp.sqrt(jnp.sum((jnp.sqrt(t_pow + 1e-20) - jnp.sqrt(p_pow + 1e-20)) ** 2) + 1e-20)
        sc_terms.append(diff / jnp.sqrt(jnp.sum(t_pow) + 1e-12))
    return jnp.mean(jnp.stack(log_terms)), jnp.mean(jnp.stack(sc_terms))


def _log_amplitude(power: jax.Array, log_floor: float) -> jax.Array:
    """0.5 log(power + floor) = log magnitude in nepers, floored."""
    return 0.5 * jnp.log(power + log_floor)


def decoder_spectrum_loss(
    log_magnitude: jax.Array, target: jax.Array, n_fft: int, hop: int, log_floor: float
) -> jax.Array:
    """Mean squared log-magnitude difference (nepers^2) between the decoder's predicted STFT and the target's.

    Args:
      log_magnitude: `[..., T, F]` natural log of the predicted |S| (raw STFT units), frame t centred on sample
        t * hop (the decoder's frames).
      target: `[..., N]` waveforms, N = T * hop.
      log_floor: power floor (mean-square units), as in `multi_resolution_stft_loss`.
    """
    num_frames = log_magnitude.shape[-2]
    t_pow = _power(stft_lib.stft(target, n_fft, hop, num_frames=num_frames), n_fft)
    p_pow = jnp.exp(2.0 * log_magnitude) / _window_energy(n_fft)
    return jnp.mean((_log_amplitude(p_pow, log_floor) - _log_amplitude(t_pow, log_floor)) ** 2)


def _compress(spec: jax.Array) -> jax.Array:
    power = spec.real**2 + spec.imag**2
    return spec * (power + COMPLEX_FLOOR) ** (0.5 * (COMPLEX_POWER - 1.0))


def complex_stft_loss(pred: jax.Array, target: jax.Array, resolutions: Sequence[tuple[int, int]]) -> jax.Array:
    """Mean |C(P) - C(G)|^2 of compressed complex STFTs C(S) = S (|S|^2 + 1e-8)^((c - 1) / 2), c = 0.3,
    averaged over the resolutions. `[..., N]` x2 -> scalar."""
    terms = []
    for n_fft, hop in resolutions:
        diff = _compress(stft_lib.stft(pred, n_fft, hop)) - _compress(stft_lib.stft(target, n_fft, hop))
        terms.append(jnp.mean(diff.real**2 + diff.imag**2))
    return jnp.mean(jnp.stack(terms))


def _band_mask(n_fft: int, sample_rate: int, band_hz: tuple[float, float]) -> np.ndarray:
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mask = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    if not mask.any():
        raise ValueError(f"interaural loss: band {band_hz} Hz holds no bin of a {n_fft}-point STFT at {sample_rate} Hz")
    return mask


def _check_binaural(x: jax.Array, name: str) -> None:
    if x.ndim < 2 or x.shape[-2] != 2:
        raise ValueError(f"interaural loss: {name} must be [..., 2, N], got shape {x.shape}")


def interaural_phase_loss(
    pred: jax.Array,
    target: jax.Array,
    *,
    n_fft: int,
    hop: int,
    sample_rate: int,
    band_hz: tuple[float, float],
    weight_power: float,
) -> jax.Array:
    """Weighted mean over bins of |c_pred - c_target|^2, c = L conj(R) / |L conj(R)| (in [0, 4]; 0 iff the
    IPDs agree wherever the target has energy).

    Args:
      pred, target: `[..., 2, N]`.
      band_hz: (low, high) edges of the bins used.
      weight_power: weight = |L_t conj(R_t)|^weight_power (0 weighs every bin in the band alike).
    """
    _check_binaural(pred, "pred")
    _check_binaural(target, "target")
    mask = _band_mask(n_fft, sample_rate, band_hz)

    def unit_cross(x):
        spec = stft_lib.stft(x, n_fft, hop)[..., mask]  # [..., 2, T, F_band]
        cross = spec[..., 0, :, :] * jnp.conj(spec[..., 1, :, :])
        magnitude_sq = cross.real**2 + cross.imag**2
        return cross * jax.lax.rsqrt(magnitude_sq + CROSS_FLOOR), magnitude_sq

    unit_p, _ = unit_cross(pred)
    unit_t, magnitude_sq_t = unit_cross(target)
    weight = jax.lax.stop_gradient(magnitude_sq_t ** (0.5 * weight_power))
    diff = unit_p - unit_t
    return jnp.sum(weight * (diff.real**2 + diff.imag**2)) / (jnp.sum(weight) + 1e-20)


def band_edges(sample_rate: int, num_bands: int, low_hz: float = 50.0) -> np.ndarray:
    """`num_bands` log-spaced bands from low_hz to Nyquist: `[num_bands + 1]` edges in Hz."""
    return np.geomspace(low_hz, sample_rate / 2.0, num_bands + 1)


def interaural_level_loss(
    pred: jax.Array, target: jax.Array, *, n_fft: int, hop: int, sample_rate: int, num_bands: int
) -> jax.Array:
    """Energy-weighted mean over frames and log-spaced bands of |ILD_pred - ILD_target| in dB.

    ILD = 10 log10((P_L + 1e-9) / (P_R + 1e-9)) with P the band's mean-square power; the weight of a
    (frame, band) cell is the square root of the target's mean power over both ears there.

    Args:
      pred, target: `[..., 2, N]`.
    """
    _check_binaural(pred, "pred")
    _check_binaural(target, "target")
    edges = band_edges(sample_rate, num_bands)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    member = ((freqs[:, None] >= edges[None, :-1]) & (freqs[:, None] < edges[None, 1:])).astype(np.float32)
    member = member[:, member.sum(axis=0) > 0]
    member = member / member.sum(axis=0, keepdims=True)  # [F, bands]: mean over a band's bins

    def band_power(x):
        return _power(stft_lib.stft(x, n_fft, hop), n_fft) @ member  # [..., 2, T, bands]

    p_pow, t_pow = band_power(pred), band_power(target)

    def ild(power):
        return 10.0 * (jnp.log10(power[..., 0, :, :] + ILD_FLOOR) - jnp.log10(power[..., 1, :, :] + ILD_FLOOR))

    weight = jax.lax.stop_gradient(jnp.sqrt(0.5 * (t_pow[..., 0, :, :] + t_pow[..., 1, :, :])))
    return jnp.sum(weight * jnp.abs(ild(p_pow) - ild(t_pow))) / (jnp.sum(weight) + 1e-20)


def kl_divergence(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """KL(N(mean, exp(log_var)) || N(0, 1)) per latent element, averaged. Any shape -> scalar."""
    return 0.5 * jnp.mean(mean**2 + jnp.exp(log_var) - 1.0 - log_var)

"""Binaural rendering of a (possibly moving) point source and a diffuse reverberant tail (pure numpy/scipy).

Moving sources: the distance-weighted signal is cut into frames of 2 * hop samples with a periodic Hann
window at hop `hop` (the windows sum to exactly 1), each frame is convolved (FFT) with the HRIR pair of the
direction at its centre sample, and the results are overlap-added. A static source therefore gets exactly the
plain convolution, and a moving one a 2 * hop-sample crossfade between successive HRIRs, which has no clicks.
Directions are sampled every `hop` samples (8 ms at 16 kHz with the default hop = 128).

Distance: inverse distance law on amplitude, gain = ref_distance_m / max(distance_m, min_distance_m), applied
per sample before filtering (so -6.02 dB per doubling of distance; 1 at ref_distance_m). There is no
propagation delay, Doppler shift or air absorption.

Alignment: the output is advanced by the HRTF's `latency_samples`, so a frontal source is not delayed and the
two ears' delays are the HRTF's per-ear delays relative to a frontal source (the near ear of a lateral source
leads the input slightly, as it does in reality relative to the head centre).
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps


def _per_sample(name: str, value, n: int) -> np.ndarray:
    """A scalar or [n] array -> float64 [n]; anything else is a ValueError naming the argument."""
    v = np.asarray(value, np.float64)
    if v.ndim == 0:
        return np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"render_moving_source: {name} must be a scalar or have shape ({n},), got {v.shape}")
    return v


def render_moving_source(
    signal, azimuth_deg, elevation_deg, distance_m, hrtf, *, ref_distance_m=1.0, hop=128, min_distance_m=0.1
) -> np.ndarray:
    """Renders a mono source moving along a path to binaural audio.

    Args:
      signal: [N] mono waveform (any float scale) at hrtf.sample_rate.
      azimuth_deg, elevation_deg: source direction in SOFA degrees (+90 azimuth = left), scalars or [N].
      distance_m: source distance in metres, scalar or [N].
      hrtf: an object with `hrir(az, el) -> [K, 2, taps]` and `latency_samples` (see `spatial.hrtf`).
      ref_distance_m: distance (m) at which the gain is 1.
      hop: frame hop in samples; directions are updated every hop samples and crossfaded over 2 * hop.
      min_distance_m: distances below this (m) are clamped, keeping the gain finite.
    Returns:
      [2, N] float32 binaural waveform (0 = left, 1 = right), time-aligned with `signal`.
    """
    x = np.asarray(signal, np.float64)
    if x.ndim != 1:
        raise ValueError(f"render_moving_source: signal must be 1-D [N], got shape {x.shape}")
    if hop < 1 or ref_distance_m <= 0 or min_distance_m <= 0:
        raise ValueError(
            f"render_moving_source: need hop >= 1, ref_distance_m > 0 and min_distance_m > 0, got "
            f"{hop}, {ref_distance_m}, {min_distance_m}"
        )
    n = x.size
    if n == 0:
        return np.zeros((2, 0), np.float32)
    az = _per_sample("azimuth_deg", azimuth_deg, n)
    el = _per_sample("elevation_deg", elevation_deg, n)
    dist = _per_sample("distance_m", distance_m, n)
    x = x * (ref_distance_m / np.maximum(dist, min_distance_m))

    # Frame m covers input samples [(m - 1) hop, (m + 1) hop) and is centred on sample m * hop; frames
    # 0..M-1 cover every sample twice, with windows summing to 1.
    num_frames = (n - 1) // hop + 2
    padded = np.zeros((num_frames + 1) * hop)
    padded[hop : hop + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, 2 * hop)[::hop][:num_frames]
    window = np.sin(np.pi * np.arange(2 * hop) / (2 * hop)) ** 2  # periodic Hann
    centres = np.minimum(np.arange(num_frames) * hop, n - 1)
    # Static or slowly sampled paths repeat directions: design each distinct HRIR once.
    directions, which = np.unique(np.stack([az[centres], el[centres]], axis=-1), axis=0, return_inverse=True)
    hrirs = np.asarray(hrtf.hrir(directions[:, 0], directions[:, 1]), np.float64)  # [U, 2, taps]
    taps = hrirs.shape[-1]
    out_len = 2 * hop + taps - 1
    n_fft = 1 << int(np.ceil(np.log2(out_len)))
    spectra = np.fft.rfft(frames * window, n_fft, axis=-1)  # [M, F]
    filters = np.fft.rfft(hrirs, n_fft, axis=-1)  # [U, 2, F]
    y = np.fft.irfft(spectra[:, None, :] * filters[which.reshape(-1)], n_fft, axis=-1)[..., :out_len]

    # Overlap-add: frame m's output starts at padded position m * hop; split it into hop-long blocks.
    blocks = -(-out_len // hop)
    y = np.pad(y, ((0, 0), (0, 0), (0, blocks * hop - out_len))).reshape(num_frames, 2, blocks, hop)
    out = np.zeros((2, num_frames + blocks, hop))
    for b in range(blocks):
        out[:, b : b + num_frames] += y[:, :, b].transpose(1, 0, 2)
    start = hop + int(hrtf.latency_samples)
    return out.reshape(2, -1)[:, start : start + n].astype(np.float32)


def diffuse_reverb(signal, sample_rate, rt60_s, rng, *, wet_gain=0.25) -> np.ndarray:
    """Diffuse late reverberation of a mono signal, decorrelated between the ears.

    Each ear's impulse response is independent Gaussian noise under an exponential envelope whose energy
    falls by 60 dB in rt60_s, rt60_s long and scaled to energy wet_gain**2 (so a white input gives a tail
    wet_gain**2 times its power). Independent noise makes the ears' tails nearly uncorrelated, like a diffuse
    field at high frequencies.

    Args:
      signal: [N] mono waveform.
      sample_rate: Hz.
      rt60_s: reverberation time in seconds (> 0).
      rng: np.random.Generator drawing the noise impulse responses.
      wet_gain: amplitude (RMS) gain of each ear's impulse response.
    Returns:
      [2, N] float32 reverberant tail (0 = left, 1 = right), truncated to the input length, to be added to
      the dry binaural signal.
    """
    x = np.asarray(signal, np.float64)
    if x.ndim != 1:
        raise ValueError(f"diffuse_reverb: signal must be 1-D [N], got shape {x.shape}")
    if not rt60_s > 0 or not sample_rate > 0:
        raise ValueError(f"diffuse_reverb: rt60_s and sample_rate must be positive, got {rt60_s}, {sample_rate}")
    n_ir = max(1, int(round(rt60_s * sample_rate)))
    t = np.arange(n_ir) / sample_rate
    envelope = np.exp(-3.0 * np.log(10.0) * t / rt60_s)  # amplitude -60 dB (energy 1e-6) at t = rt60
    ir = rng.standard_normal((2, n_ir)) * envelope
    ir *= wet_gain / np.sqrt(np.sum(ir**2, axis=-1, keepdims=True))
    return sps.fftconvolve(x[None, :], ir, axes=-1)[:, : x.size].astype(np.float32)

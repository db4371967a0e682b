"""Log-mel spectrogram frontend in jax.numpy (jittable, differentiable), shared by the project's classifier and
the pretrained-embedding adapter.

    waveform [..., N] -> frames [..., T, L] -> periodic Hann window -> |rfft(n_fft)|^power -> HTK mel filters
    -> log(mel + log_offset)  =  [..., T, n_mels]

Two framings: `center=True` pads n_fft // 2 samples on both sides by reflection and centres the window in each
n_fft-sample frame, as `v2a_jax.metrics.binaural.stft` (librosa's center=True) does, giving T = 1 + N // hop;
`center=False` takes frames of win_length samples from the first sample on and zero-pads each to n_fft at the
end, as VGGish's `mel_features.stft_magnitude` does, giving T = 1 + (N - win_length) // hop. The two differ only
in frame positions: a magnitude spectrum does not depend on where in the n_fft buffer the window sits.

Mel filters follow VGGish's `spectrogram_to_mel_matrix` (HTK mel scale mel(f) = 1127 ln(1 + f / 700), triangles
of peak 1 spaced evenly in mel between fmin and fmax, evaluated at the rfft bin frequencies, DC bin excluded,
no area normalisation).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal


@dataclasses.dataclass(frozen=True)
class LogMelConfig:
    """Frontend parameters. Lengths in samples, frequencies in Hz; `power` 1 = magnitude, 2 = power spectrum;
    the natural log of (mel energy + log_offset) is taken (the offset floors silence at log(log_offset))."""

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop: int = 160
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 8000.0
    power: float = 2.0
    center: bool = True
    log_offset: float = 1e-6

    def __post_init__(self):
        if not 0 < self.win_length <= self.n_fft:
            raise ValueError(f"LogMelConfig: win_length {self.win_length} must be in 1..n_fft ({self.n_fft})")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(
                f"LogMelConfig: need 0 <= fmin < fmax <= sample_rate / 2, got fmin {self.fmin}, "
                f"fmax {self.fmax}, sample_rate {self.sample_rate}"
            )
        if self.hop < 1 or self.n_mels < 1 or self.log_offset <= 0:
            raise ValueError(f"LogMelConfig: hop, n_mels and log_offset must be positive, got {self}")

    def num_frames(self, num_samples: int) -> int:
        """T for a waveform of `num_samples` samples (ValueError if it is shorter than one frame)."""
        if self.center:
            if num_samples <= self.n_fft // 2:  # reflect padding needs more samples than it pads
                raise ValueError(
                    f"log_mel: {num_samples} samples are too short for centred {self.n_fft}-point "
                    f"frames (need more than {self.n_fft // 2})"
                )
            return 1 + num_samples // self.hop
        if num_samples < self.win_length:
            raise ValueError(f"log_mel: {num_samples} samples are shorter than one {self.win_length}-sample frame")
        return 1 + (num_samples - self.win_length) // self.hop


def hz_to_mel(f):
    """HTK mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


def mel_filterbank(n_fft: int, sample_rate: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """`[n_fft // 2 + 1, n_mels]` float32 triangular filters (peak 1, HTK mel spacing, DC bin 0)."""
    bin_mel = hz_to_mel(np.fft.rfftfreq(n_fft, 1.0 / sample_rate))
    edges = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights.astype(np.float32)


def _window(cfg: LogMelConfig) -> np.ndarray:
    """Periodic Hann of win_length; centred in an n_fft buffer when cfg.center (binaural.stft's layout)."""
    hann = scipy.signal.get_window("hann", cfg.win_length, fftbins=True)
    if not cfg.center:
        return hann.astype(np.float32)
    window = np.zeros(cfg.n_fft)
    start = (cfg.n_fft - cfg.win_length) // 2
    window[start : start + cfg.win_length] = hann
    return window.astype(np.float32)


def log_mel(audio: jax.Array, cfg: LogMelConfig) -> jax.Array:
    """Log-mel spectrogram of `audio` `[..., N]` (float, at cfg.sample_rate) -> `[..., T, n_mels]` float32."""
    audio = jnp.asarray(audio, jnp.float32)
    if cfg.center:
        pad = [(0, 0)] * (audio.ndim - 1) + [(cfg.n_fft // 2, cfg.n_fft // 2)]
        audio = jnp.pad(audio, pad, mode="reflect")
    window = _window(cfg)
    num_frames = cfg.num_frames(audio.shape[-1] - (2 * (cfg.n_fft // 2) if cfg.center else 0))
    index = cfg.hop * np.arange(num_frames)[:, None] + np.arange(window.shape[0])[None, :]
    frames = audio[..., index] * window  # [..., T, L]
    spec = jnp.fft.rfft(frames, n=cfg.n_fft, axis=-1)
    # |X|^2 directly: no square root whose gradient is infinite at zero.
    power = spec.real**2 + spec.imag**2
    spectrum = power if cfg.power == 2 else jnp.abs(spec) ** cfg.power
    mel = spectrum @ mel_filterbank(cfg.n_fft, cfg.sample_rate, cfg.n_mels, cfg.fmin, cfg.fmax)
    return jnp.log(mel + cfg.log_offset)

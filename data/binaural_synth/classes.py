"""Sound classes of `binaural_synth`: each class fixes both its look (shape x colour) and its sound.

A class's sound is a numpy function `synth(rng, n_samples, sample_rate) -> [n_samples] float32` returning a
steady (loopable-in-character) signal at RMS `LEVEL_RMS`; each call draws small per-event variation (pitch,
rate, band edges) from `rng`. The classes are chosen so that their long-term spectra differ (harmonic tones
at different pitches, noise bands, chirps, clicks, AM, FM, inharmonic partials), hence a model can only tell
which sound belongs where by looking at the video. Frequencies above 0.45 * sample_rate are left out, so any
sample rate >= 8 kHz works.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

# Every event is synthesised at this RMS; the scene sets loudness only through distance.
LEVEL_RMS = 0.05

Synth = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclasses.dataclass(frozen=True)
class SoundClass:
    """One class. `shape` is a `raster.SHAPES` name; `colour` is RGB in 0..255 (saturated, so it stands out
    against the desaturated backgrounds); `synth(rng, n_samples, sample_rate) -> [n_samples] float32`."""

    name: str
    shape: str
    colour: tuple[int, int, int]
    synth: Synth


def _normalise(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(np.square(x)))
    return (x * (LEVEL_RMS / max(rms, 1e-12))).astype(np.float32)


def _jitter(rng: np.random.Generator, value: float, rel: float) -> float:
    return value * rng.uniform(1.0 - rel, 1.0 + rel)


def _harmonics(rng, n, sr, f0, amps, vibrato_hz=0.0, vibrato_depth=0.0):
    """Sum of harmonics k*f0 (k = 1..len(amps)) with random phases and optional vibrato (relative depth)."""
    t = np.arange(n) / sr
    f_inst = f0 * (1.0 + vibrato_depth * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f_inst) / sr
    out = np.zeros(n)
    for k, a in enumerate(amps, start=1):
        if k * f0 * (1.0 + vibrato_depth) < 0.45 * sr:
            out += a * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def _band_noise(rng, n, sr, lo_hz, hi_hz):
    """White noise restricted to [lo_hz, hi_hz] by zeroing FFT bins (exact band edges, no filter ringing)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(freqs < lo_hz) | (freqs > min(hi_hz, 0.45 * sr))] = 0.0
    return np.fft.irfft(spec, n)


def flute(rng, n, sr):
    """Soft harmonic tone near 523 Hz, weak overtones, gentle vibrato."""
    return _normalise(_harmonics(rng, n, sr, _jitter(rng, 523.0, 0.03), [1.0, 0.35, 0.12, 0.05], 5.0, 0.006))


def buzzer(rng, n, sr):
    """Sawtooth-like 110 Hz tone: dense 1/k harmonics up to the band limit."""
    return _normalise(_harmonics(rng, n, sr, _jitter(rng, 110.0, 0.03), 1.0 / np.arange(1, 60)))


def bird(rng, n, sr):
    """Repeated upward chirps 1.5 -> 3.5 kHz, 120 ms long, about four per second."""
    period, length = _jitter(rng, 0.25, 0.1), 0.12
    t = np.arange(n) / sr + rng.uniform(0, period)
    local = np.mod(t, period)
    inside = local < length
    lo, hi = _jitter(rng, 1500.0, 0.05), min(_jitter(rng, 3500.0, 0.05), 0.45 * sr)
    f_inst = np.where(inside, lo + (hi - lo) * local / length, lo)
    window = np.where(inside, np.sin(np.pi * local / length) ** 2, 0.0)
    return _normalise(window * np.sin(2 * np.pi * np.cumsum(f_inst) / sr))


def engine(rng, n, sr):
    """Low rumble: noise in 80-300 Hz with a 25 Hz firing modulation."""
    noise = _band_noise(rng, n, sr, _jitter(rng, 80.0, 0.05), _jitter(rng, 300.0, 0.05))
    t = np.arange(n) / sr
    return _normalise(noise * (1.0 + 0.4 * np.sin(2 * np.pi * _jitter(rng, 25.0, 0.1) * t)))


def steam(rng, n, sr):
    """Hiss: noise in 3-6 kHz."""
    return _normalise(_band_noise(rng, n, sr, _jitter(rng, 3000.0, 0.05), _jitter(rng, 6000.0, 0.05)))


def clock(rng, n, sr):
    """Ticks at ~10 Hz; each tick a ~1 ms Gabor-like click with a Gaussian spectrum around 2.2 kHz (sd 600 Hz)."""
    period = int(sr / _jitter(rng, 10.0, 0.1))
    pulses = np.zeros(n)
    pulses[int(rng.integers(0, period)) :: period] = 1.0
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    gain = np.exp(-0.5 * ((freqs - _jitter(rng, 2200.0, 0.03)) / 600.0) ** 2) * (freqs <= 0.45 * sr)
    return _normalise(np.fft.irfft(np.fft.rfft(pulses) * gain, n))


def siren(rng, n, sr):
    """FM tone: 900 Hz carrier swept +-250 Hz at 3 Hz."""
    t = np.arange(n) / sr
    fc, fm, dev = _jitter(rng, 900.0, 0.03), _jitter(rng, 3.0, 0.1), 250.0
    return _normalise(np.sin(2 * np.pi * fc * t + (dev / fm) * np.sin(2 * np.pi * fm * t + rng.uniform(0, 2 * np.pi))))


def horn(rng, n, sr):
    """AM (tremolo) tone: 330 Hz with two overtones, 12 Hz amplitude modulation of depth 0.9."""
    t = np.arange(n) / sr
    am = 1.0 - 0.9 * (0.5 + 0.5 * np.cos(2 * np.pi * _jitter(rng, 12.0, 0.1) * t + rng.uniform(0, 2 * np.pi)))
    return _normalise(am * _harmonics(rng, n, sr, _jitter(rng, 330.0, 0.03), [1.0, 0.5, 0.3]))


def bell(rng, n, sr):
    """Struck bell every ~0.5 s: inharmonic partials 440 x (1, 2.76, 5.40, 8.93), higher ones decay faster.
    Each strike rings on under the next ones (periodic steady state), so the signal has no jumps."""
    t = np.arange(n) / sr
    period = _jitter(rng, 0.5, 0.1)
    since_strike = np.mod(t + rng.uniform(0, period), period)
    f0 = _jitter(rng, 440.0, 0.03)
    out = np.zeros(n)
    # 2 ms strike attack: an instantaneous one would click (broadband energy between the partials).
    attack = 1.0 - np.exp(-since_strike / 0.002)
    for ratio, amp, tau in ((1.0, 1.0, 0.30), (2.76, 0.6, 0.20), (5.40, 0.4, 0.12), (8.93, 0.25, 0.08)):
        if ratio * f0 < 0.45 * sr:
            r = np.exp(-period / tau)  # what one period leaves of a strike; earlier strikes sum to r / (1 - r)
            decay = np.exp(-since_strike / tau) * (attack + r / (1.0 - r))
            out += amp * decay * np.sin(2 * np.pi * ratio * f0 * t + rng.uniform(0, 2 * np.pi))
    return _normalise(out)


def whistle(rng, n, sr):
    """Near-pure 1.9 kHz sine with 6 Hz vibrato."""
    return _normalise(_harmonics(rng, n, sr, _jitter(rng, 1900.0, 0.03), [1.0], 6.0, 0.01))


CLASSES: tuple[SoundClass, ...] = (
    SoundClass("flute", "circle", (230, 30, 30), flute),
    SoundClass("buzzer", "square", (30, 200, 50), buzzer),
    SoundClass("bird", "triangle", (40, 80, 240), bird),
    SoundClass("engine", "diamond", (240, 220, 20), engine),
    SoundClass("steam", "ring", (20, 220, 230), steam),
    SoundClass("clock", "plus", (230, 40, 210), clock),
    SoundClass("siren", "star", (255, 140, 0), siren),
    SoundClass("horn", "hbar", (140, 40, 240), horn),
    SoundClass("bell", "x", (0, 160, 130), bell),
    SoundClass("whistle", "vbar", (120, 240, 20), whistle),
)

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)

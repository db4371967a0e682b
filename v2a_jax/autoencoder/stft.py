"""Short-time Fourier transform and its inverse in jax.numpy (differentiable, jit-friendly).

Frames are centred: frame t covers samples [t * hop - n_fft / 2, t * hop + n_fft / 2) of the signal, which is
padded by n_fft / 2 on both sides with an explicit mode ("reflect" or "constant" = zeros; librosa changed its
default, so nothing here relies on one). The window is a periodic Hann window of n_fft samples, for which
n_fft / hop overlapping squared windows add up to a constant when hop divides n_fft / 2.

`stft(x, n_fft, hop, num_frames=N // hop)` gives the frames centred on samples 0, hop, ..., N - hop (one per hop
of signal: the autoencoder maps n_fft / hop ... frames to one latent frame with no remainder); the default
(`num_frames=None`) is librosa's 1 + N // hop. `istft` is the weighted overlap-add inverse: it divides by the
sum of squared windows actually present at each sample, so `istft(stft(x)) == x` (to float rounding) for any
number of frames whose windows cover every output sample well (the squared-window sum nowhere below 5 % of its
maximum): the librosa layout always, the truncated `N // hop` layout when hop <= n_fft / 4 (the autoencoder's
512 / 128 gives at least 1/6 at the last sample).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

PAD_MODES = ("reflect", "constant")
MIN_ENVELOPE = 0.05  # smallest squared-window sum istft divides by, relative to the largest


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window `[n_fft]` float32 (= scipy.signal.get_window('hann', n_fft, fftbins=True))."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _check(n_fft: int, hop: int) -> None:
    if n_fft < 2 or n_fft % 2 or hop < 1 or (n_fft // 2) % hop:
        raise ValueError(f"stft: need an even n_fft and a hop dividing n_fft / 2, got n_fft={n_fft}, hop={hop}")


def stft(x: jax.Array, n_fft: int, hop: int, *, num_frames: int | None = None, pad_mode: str = "reflect") -> jax.Array:
    """Centred STFT with a periodic Hann window (no normalisation).

    Args:
      x: `[..., N]` real waveform (N > n_fft / 2 for reflect padding).
      num_frames: frames to keep, at most 1 + N // hop (the default); frame t is centred on sample t * hop.
      pad_mode: "reflect" or "constant" (zeros), for the n_fft / 2 samples added at each end.
    Returns:
      `[..., num_frames, n_fft // 2 + 1]` complex64 (frame, frequency).
    """
    _check(n_fft, hop)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"stft: pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    n = x.shape[-1]
    max_frames = 1 + n // hop
    num_frames = max_frames if num_frames is None else num_frames
    if not 1 <= num_frames <= max_frames:
        raise ValueError(f"stft: num_frames={num_frames} not in [1, {max_frames}] for {n} samples, hop {hop}")
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    padded = jnp.pad(x.astype(jnp.float32), pad, mode=pad_mode)
    # Gathering frames by index keeps one code path for every hop (a strided view has no jnp equivalent).
    index = hop * np.arange(num_frames)[:, None] + np.arange(n_fft)[None, :]
    frames = padded[..., index] * hann_window(n_fft)
    return jnp.fft.rfft(frames, axis=-1)


def istft(spec: jax.Array, n_fft: int, hop: int, length: int) -> jax.Array:
    """Inverse of `stft` by weighted overlap-add, normalised by the squared-window envelope.

    Args:
      spec: `[..., T, n_fft // 2 + 1]` complex, frame t centred on sample t * hop.
      length: samples to return (from sample 0); every one must lie under some frame's window:
        length <= (T - 1) * hop + n_fft / 2.
    Returns:
      `[..., length]` float32.
    """
    _check(n_fft, hop)
    num_frames, bins = spec.shape[-2:]
    if bins != n_fft // 2 + 1:
        raise ValueError(f"istft: spec has {bins} bins, expected {n_fft // 2 + 1} for n_fft={n_fft}")
    if not 1 <= length <= (num_frames - 1) * hop + n_fft // 2:
        raise ValueError(f"istft: length={length} is not covered by {num_frames} frames of hop {hop}")
    window = hann_window(n_fft)
    frames = jnp.fft.irfft(spec, n=n_fft, axis=-1).astype(jnp.float32) * window  # [..., T, n_fft]
    overlap = n_fft // hop
    # Overlap-add as a sum of `overlap` shifted copies: chunk r of frame t lands on output chunk t + r.
    chunks = frames.reshape(*frames.shape[:-1], overlap, hop)
    lead = [(0, 0)] * (chunks.ndim - 3)
    total = sum(jnp.pad(chunks[..., r, :], lead + [(r, overlap - 1 - r), (0, 0)]) for r in range(overlap))
    signal = total.reshape(*total.shape[:-2], (num_frames + overlap - 1) * hop)
    # The envelope is a constant of the shapes: computed in numpy, it costs nothing at run time.
    envelope = np.zeros((num_frames + overlap - 1) * hop, np.float64)
    for t in range(num_frames):
        envelope[t * hop : t * hop + n_fft] += window.astype(np.float64) ** 2
    start = n_fft // 2
    envelope = envelope[start : start + length]
    if envelope.min() < MIN_ENVELOPE * envelope.max():
        raise ValueError(
            f"istft: {num_frames} frames of hop {hop} cover the last of {length} samples only with the "
            f"edge of a window (dividing by it would amplify rounding errors); use more frames or a "
            f"smaller hop"
        )
    return signal[..., start : start + length] / envelope.astype(np.float32)

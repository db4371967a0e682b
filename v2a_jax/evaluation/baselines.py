"""Reference systems scored next to the model on the same clips (numpy, host side).

All take the model's generated audio [B, 2, N] and keep only its mono downmix (L + R) / 2, so they share its
content and timing and differ only in how it is put into space:
  mono_copy         the downmix copied to both ears (no spatial cues at all);
  two_stage         the downmix rendered by the spherical-head HRTF along the per-frame azimuth that the visual
                    localiser (localiser.py) estimates from the video (a "generate mono, then spatialise" system;
                    it uses no ground truth, so it runs on recordings too, where the localiser's saliency rule is
                    a weaker guess at the sounding object than on the benchmark's drawn sources);
  random_direction  the downmix rendered at one azimuth per clip drawn uniformly from [-90, 90] degrees, seeded by
                    (seed, clip index) so that a clip gets the same direction whatever the batching.
"""

from __future__ import annotations

import numpy as np

from v2a_jax.spatial import hrtf as hrtf_lib
from v2a_jax.spatial import renderer


def mono_downmix(audio: np.ndarray) -> np.ndarray:
    """[B, 2, N] -> [B, N]."""
    return np.asarray(audio, np.float32).mean(axis=1)


def mono_copy(audio: np.ndarray) -> np.ndarray:
    """[B, 2, N] -> [B, 2, N] with both ears the downmix."""
    mono = mono_downmix(audio)
    return np.stack([mono, mono], axis=1)


def per_sample(values: np.ndarray, num_samples: int, fps: float, sample_rate: int) -> np.ndarray:
    """Per-video-frame values [B, T] held over each frame's samples -> [B, num_samples]."""
    frame = np.minimum((np.arange(num_samples) * fps / sample_rate).astype(np.int64), values.shape[1] - 1)
    return values[:, frame]


def render(mono: np.ndarray, azimuth_deg: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono clips [B, N] rendered at 1 m, elevation 0, along azimuths [B, N] or [B] (SOFA degrees) -> [B, 2, N]."""
    head = hrtf_lib.make_hrtf("spherical", sample_rate)
    azimuth = np.asarray(azimuth_deg, np.float64)
    return np.stack([renderer.render_moving_source(m, az, 0.0, 1.0, head) for m, az in zip(mono, azimuth)])


def two_stage(audio: np.ndarray, localised_azimuth_deg: np.ndarray, fps: float, sample_rate: int) -> np.ndarray:
    """Generated audio [B, 2, N] and the localiser's azimuth per video frame [B, T] -> [B, 2, N]."""
    mono = mono_downmix(audio)
    return render(mono, per_sample(localised_azimuth_deg, mono.shape[-1], fps, sample_rate), sample_rate)


def random_azimuths(clip_indices: np.ndarray, seed: int) -> np.ndarray:
    """One azimuth per clip, uniform in [-90, 90] degrees: [B] clip indices -> [B]."""
    return np.array([np.random.default_rng([seed, int(i)]).uniform(-90.0, 90.0) for i in clip_indices])


def random_direction(audio: np.ndarray, clip_indices: np.ndarray, seed: int, sample_rate: int) -> np.ndarray:
    """Generated audio [B, 2, N] -> the downmix at `random_azimuths` [B, 2, N]."""
    return render(mono_downmix(audio), random_azimuths(clip_indices, seed), sample_rate)

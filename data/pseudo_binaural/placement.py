"""Pseudo-binaural audio from mono (SpatialV2A's BinauralVGGSound construction, after PseudoBinaural): the mono
sound is placed as a virtual source at the direction of the sounding object's image position, seen through the
camera's field of view, in a first-order ambisonic field, optionally with decorrelated ambience, and the field is
rendered to binaural with the configured HRTF (v2a_jax.spatial.ambisonics.BinauralDecoder).

Direction: a per-frame image position (x, y) becomes the camera-relative direction
`projection.screen_to_direction` (pinhole camera, horizontal field of view fov_deg); frames without a position
keep the last known direction (straight ahead before the first one), so the sound does not jump to the centre
while a tracker loses the object. The per-frame directions are interpolated linearly to the audio samples
(frame t at time t / fps), so a moving object moves the sound smoothly.

Ambience (ambience_gain > 0): a diffuse first-order field made of the mono sound's own reverberant tail,
`renderer.diffuse_reverb` drawn for W and for X, Y, Z independently (RMS gain ambience_gain, decay
ambience_rt60_s), the first-order channels scaled by 1 / sqrt(3) as a diffuse field has in SN3D. It decodes to
weakly correlated ears and, through the parametric decoder's diffuseness, does not pull the source's direction.

Ground truth (the names, shapes and dtypes of data/binaural_synth, one source slot S = 1): the direction used is
`relative_azimuth_deg` / `elevation_deg`; `screen_x` / `screen_y` are the positions given (NaN where none) and
`visible` marks frames with a position inside the frame; `sounding` marks frames whose mono RMS is within
sounding_range_db of the clip's loudest frame; `distance_m` is 1 (a plane wave has no distance); the camera does
not turn (`camera_yaw_deg` 0); `class_id` is -1 (no class vocabulary), `onset_s` -1 (onsets unknown).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from v2a_jax.spatial import ambisonics, projection, renderer


@dataclasses.dataclass(frozen=True)
class PlacementConfig:
    """fov_deg: the camera's horizontal field of view; ambience_gain (RMS gain of the diffuse tail, 0 = none)
    and ambience_rt60_s: the decorrelated ambience; sounding_range_db: see the module docstring."""

    fov_deg: float = projection.DEFAULT_FOV_DEG
    ambience_gain: float = 0.0
    ambience_rt60_s: float = 0.4
    sounding_range_db: float = 40.0

    def __post_init__(self):
        if (
            not 0 < self.fov_deg < 180
            or self.ambience_gain < 0
            or self.ambience_rt60_s <= 0
            or self.sounding_range_db <= 0
        ):
            raise ValueError(
                f"PlacementConfig: need 0 < fov_deg < 180, ambience_gain >= 0, ambience_rt60_s > 0 "
                f"and sounding_range_db > 0, got {self}"
            )


def _held(values: np.ndarray, start: float) -> np.ndarray:
    """NaN entries of [T] replaced by the last finite value before them (`start` before the first one)."""
    out = np.empty_like(values)
    last = start
    for i, v in enumerate(values):
        last = v if np.isfinite(v) else last
        out[i] = last
    return out


def place_source(
    mono: np.ndarray,
    screen_x: np.ndarray,
    screen_y: np.ndarray,
    height: int,
    width: int,
    fps: float,
    sample_rate: int,
    decoder: ambisonics.BinauralDecoder,
    config: PlacementConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Binaural audio of a mono sound at a per-frame image position, and the clip's ground truth.

    Args:
      mono: [N] float waveform at sample_rate.
      screen_x, screen_y: [T] continuous pixel coordinates (raster.py conventions) of the sounding object in
        frames of height x width; NaN where unknown.
      rng: draws the ambience.
    Returns:
      audio [2, N] float32 (0 = left), and the truth features of the module docstring.
    """
    mono = np.asarray(mono, np.float64)
    x, y = np.asarray(screen_x, np.float64), np.asarray(screen_y, np.float64)
    t, n = x.shape[0], mono.shape[0]
    known = np.isfinite(x) & np.isfinite(y)
    az_f, el_f = projection.screen_to_direction(
        _held(np.where(known, x, np.nan), width / 2),
        _held(np.where(known, y, np.nan), height / 2),
        height,
        width,
        config.fov_deg,
    )
    frame_times, sample_times = np.arange(t) / fps, np.arange(n) / sample_rate
    field = ambisonics.encode(
        mono, np.interp(sample_times, frame_times, az_f), np.interp(sample_times, frame_times, el_f)
    )
    if config.ambience_gain > 0:
        tails = np.concatenate(
            [
                renderer.diffuse_reverb(mono, sample_rate, config.ambience_rt60_s, rng, wet_gain=config.ambience_gain)
                for _ in range(2)
            ]
        )
        field += tails * np.array([1.0, 3**-0.5, 3**-0.5, 3**-0.5])[:, None]
    audio = decoder(field)

    starts = np.round(frame_times * sample_rate).astype(np.int64)
    ends = np.append(starts[1:], n)
    power = np.array([np.mean(mono[a:b] ** 2) if b > a else 0.0 for a, b in zip(starts, ends)])
    peak = power.max(initial=0.0)
    sounding = (power > peak * 10 ** (-config.sounding_range_db / 10)) & (peak > 0)
    visible = known & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    column = lambda a, dtype=np.float32: np.asarray(a, dtype).reshape(t, 1)  # noqa: E731
    return {
        "audio": audio,
        "relative_azimuth_deg": column(az_f),
        "elevation_deg": column(el_f),
        "distance_m": column(np.ones(t)),
        "screen_x": column(np.where(visible, x, np.nan)),
        "screen_y": column(np.where(visible, y, np.nan)),
        "visible": column(visible, np.bool_),
        "sounding": column(sounding, np.bool_),
        "camera_yaw_deg": np.zeros(t, np.float32),
        "class_id": np.full(1, -1, np.int32),
        "source_present": np.ones(1, np.bool_),
        "onscreen_source": np.array([visible.any()]),
        "onset_s": np.full((1, 1), -1.0, np.float32),
    }

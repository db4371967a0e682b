"""The map from a measured interaural time difference to a lateral angle, for a given head.

Interaural cues only give the lateral angle (the angle from the median plane, [-90, 90] degrees, + = left), and
the ITD a head produces at a lateral angle depends on the head: Woodworth's formula holds for a rigid sphere, a
measured HRTF (a real head, a dummy head's microphones) gives larger or smaller ITDs at the same angle, and the
estimator itself (v2a_jax.spatial.itd.frame_itd, PHAT-beta over a few frames) reads a broadband ITD that is not
the HRTF's onset delay. So every place that turns an ITD into an angle (the localisation targets taken from a
recording, the direction metrics) takes an `ItdMap`:
- `ItdMap.woodworth(head_radius_m)`: the spherical head's formula, the documented fallback when the dataset
  records no HRTF;
- `ItdMap.from_hrtf(hrtf, sample_rate)`: calibrated to a dataset's HRTF by rendering noise from lateral angles
  0..90 degrees through it and measuring each with the same estimator the consumers use, so the map and its
  users read ITDs the same way;
- `dataset_map(hrtf, sample_rate)`: the map of a dataset, from the head its builder records
  (input_pipeline.loader.ClipFormat.hrtf): calibrated to that head, or Woodworth's where none is recorded.
A map is a monotone table (lateral angle -> ITD in seconds, odd in the angle); `lateral_deg` inverts it by
linear interpolation and clips ITDs beyond the table's end to +-90.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.spatial import geometry, itd
from v2a_jax.spatial import hrtf as hrtf_lib

CALIBRATION_STEP_DEG = 5.0  # lateral angles rendered by from_hrtf
CALIBRATION_SECONDS = 1.0  # white noise per direction
CALIBRATION_FRAME_S = 0.04  # frame length of the per-frame estimate (one 25 fps video frame)


@dataclasses.dataclass(frozen=True)
class ItdMap:
    """ITDs `itd_s` (seconds, > 0 = left ear leads) at lateral angles `angles_deg` (rising from 0, up to 90);
    `name` says where the table came from."""

    angles_deg: tuple[float, ...]
    itd_s: tuple[float, ...]
    name: str

    def __post_init__(self):
        lat, itd_s = np.asarray(self.angles_deg), np.asarray(self.itd_s)
        if lat.shape != itd_s.shape or lat.size < 2 or lat[0] != 0.0 or not np.all(np.diff(lat) > 0):
            raise ValueError(f"ItdMap {self.name!r}: angles_deg must rise from 0 and match itd_s in length")
        if itd_s[0] != 0.0 or not np.all(np.diff(itd_s) > 0):
            raise ValueError(f"ItdMap {self.name!r}: itd_s must rise strictly from 0 with the angle")

    @classmethod
    def woodworth(
        cls, head_radius_m: float = geometry.HEAD_RADIUS_M, speed_of_sound_m_s: float = geometry.SPEED_OF_SOUND_M_S
    ) -> ItdMap:
        lateral = np.arange(0.0, 90.0 + 1e-9, 0.5)
        itd_s = geometry.woodworth_itd(lateral, 0.0, head_radius_m, speed_of_sound_m_s)
        return cls(tuple(lateral), tuple(float(v) for v in itd_s), f"woodworth(a={head_radius_m:g} m)")

    @classmethod
    def from_hrtf(cls, hrtf, sample_rate: int, name: str = "hrtf", seed: int = 0) -> ItdMap:
        """Calibrated to `hrtf` (anything with `hrir(azimuth_deg, elevation_deg) -> [2, L]`): the median per-frame
        `itd.frame_itd` of white noise rendered from azimuth = lateral angle on the horizontal plane (`hrir` returns
        `[1, 2, L]` for one direction). Angles whose
        measured ITD does not rise above the previous one's (a head's ITD saturates near 90 degrees) are dropped,
        so the table stays invertible."""
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal(int(CALIBRATION_SECONDS * sample_rate)).astype(np.float32) * 0.1
        frame_len = int(round(CALIBRATION_FRAME_S * sample_rate))
        lateral = np.arange(0.0, 90.0 + 1e-9, CALIBRATION_STEP_DEG)
        rendered = []
        for angle in lateral:
            ir = np.asarray(hrtf.hrir(angle, 0.0), np.float64)[0]
            rendered.append([np.convolve(noise, ir[ear])[: noise.size] for ear in range(2)])
        lags = itd.frame_itd(
            jnp.asarray(np.asarray(rendered, np.float32)),
            frame_len,
            itd.HEAD_MAX_LAG_S * sample_rate * 1.5,
            sample_rate,
        )
        # Skip the first and last frames (the convolution's onset, the cut tail).
        measured = np.median(np.asarray(lags)[:, 1:-1], axis=1) / sample_rate
        keep_lat, keep_itd = [0.0], [0.0]
        for angle, value in zip(lateral[1:], measured[1:]):
            if value > keep_itd[-1]:
                keep_lat.append(float(angle))
                keep_itd.append(float(value))
        return cls(tuple(keep_lat), tuple(keep_itd), name)

    def lateral_deg(self, itd_s):
        """Lateral angle in degrees (+ = left) of ITDs `[...]` in seconds; NaN stays NaN. A jax array (also a
        tracer: the localisation targets run inside the jitted step) gives a float32 jax array; anything else a
        float64 numpy array (the metrics)."""
        if isinstance(itd_s, jax.Array):
            xp, itd_s = jnp, itd_s.astype(jnp.float32)
        else:
            xp, itd_s = np, np.asarray(itd_s, np.float64)
        magnitude = xp.interp(xp.abs(itd_s), xp.asarray(self.itd_s), xp.asarray(self.angles_deg), right=90.0)
        return xp.where(xp.isnan(itd_s), np.nan, xp.sign(itd_s) * magnitude)

    def to_dict(self) -> dict:
        """JSON-able form (reports record which map they used)."""
        return dataclasses.asdict(self)


@functools.cache
def dataset_map(hrtf: tuple[str, float | str] | None, sample_rate: int) -> ItdMap:
    """The ItdMap of a dataset whose binaural audio was rendered with `hrtf` (loader.ClipFormat.hrtf:
    ('spherical', head radius in m) or ('sofa', path)): `ItdMap.from_hrtf` of that head, named after it. None
    (recordings, whose head is not recorded) gives the documented fallback, Woodworth's 8.75 cm sphere, as does a
    SOFA file that is not on this machine (the map's name says so)."""
    if hrtf is None:
        return ItdMap.woodworth()
    kind, value = hrtf
    if kind == "sofa" and not os.path.isfile(value):
        # Built on another machine: the same fallback, named so that the report says the head was not available.
        return dataclasses.replace(ItdMap.woodworth(), name=f"woodworth (the dataset's SOFA file {value} is missing)")
    head = hrtf_lib.make_hrtf(
        kind, sample_rate, **({"head_radius_m": value} if kind == "spherical" else {"path": value})
    )
    return ItdMap.from_hrtf(head, sample_rate, name=f"{kind}({value}) calibrated")

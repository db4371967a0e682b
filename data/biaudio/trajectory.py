"""BiAudio camera trajectories: start near the sound field's energy direction, then piecewise-linear drift.

A trajectory is piecewise linear in yaw, pitch and roll (degrees, `ambisonics.rotation_matrix` conventions):
knots every `segment_s` seconds (each segment's length drawn uniformly in the range); at every new knot each
angle moves from the previous knot at a rate drawn uniformly within +-its maximum rate (the drift), staying
within its bounds (pitch and roll; yaw is free and unwrapped, so it may turn all the way round). The start is
phi_max plus a uniform random offset, yaw within +-start_yaw_offset_deg and pitch within +-start_pitch_offset_deg
(clipped to the pitch bounds); roll starts at 0 plus a uniform offset within +-start_roll_offset_deg.
Everything is drawn from one np.random.Generator, which the builder seeds from the clip id, so a clip's
trajectory does not depend on the order clips are built in.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np


@dataclasses.dataclass(frozen=True)
class TrajectoryConfig:
    """Random camera trajectory parameters (degrees, degrees per second, seconds)."""

    start_yaw_offset_deg: float = 30.0
    start_pitch_offset_deg: float = 10.0
    start_roll_offset_deg: float = 0.0
    max_yaw_rate_deg_s: float = 20.0
    max_pitch_rate_deg_s: float = 5.0
    max_roll_rate_deg_s: float = 2.0
    max_abs_pitch_deg: float = 30.0
    max_abs_roll_deg: float = 10.0
    segment_s: tuple[float, float] = (1.0, 3.0)

    def __post_init__(self):
        values = dataclasses.asdict(self)
        if any(not np.isfinite(v) or v < 0 for k, v in values.items() if k != "segment_s"):
            raise ValueError(f"TrajectoryConfig: offsets, rates and bounds must be finite and >= 0, got {values}")
        lo, hi = self.segment_s
        if not 0 < lo <= hi:
            raise ValueError(
                f"TrajectoryConfig: segment_s must be (min, max) with 0 < min <= max, got {self.segment_s}"
            )


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """Knots of a piecewise-linear camera path: times [K] seconds from the window start, angles [K] degrees."""

    knot_s: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    roll_deg: np.ndarray

    def at(self, times_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(yaw, pitch, roll) in degrees at times_s [...] (seconds from the window start); yaw is unwrapped."""
        return tuple(np.interp(times_s, self.knot_s, a) for a in (self.yaw_deg, self.pitch_deg, self.roll_deg))


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """A generator that depends only on (seed, clip_id): the same clip draws the same trajectory in any worker."""
    digest = hashlib.sha256(clip_id.encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def sample_trajectory(
    rng: np.random.Generator,
    duration_s: float,
    start_azimuth_deg: float,
    start_elevation_deg: float,
    config: TrajectoryConfig,
) -> Trajectory:
    """A random trajectory covering [0, duration_s] that starts at (start_azimuth, start_elevation) plus the
    configured random offsets (module docstring)."""
    c = config
    yaw = [start_azimuth_deg + rng.uniform(-c.start_yaw_offset_deg, c.start_yaw_offset_deg)]
    pitch = [
        float(
            np.clip(
                start_elevation_deg + rng.uniform(-c.start_pitch_offset_deg, c.start_pitch_offset_deg),
                -c.max_abs_pitch_deg,
                c.max_abs_pitch_deg,
            )
        )
    ]
    roll = [
        float(
            np.clip(
                rng.uniform(-c.start_roll_offset_deg, c.start_roll_offset_deg), -c.max_abs_roll_deg, c.max_abs_roll_deg
            )
        )
    ]
    knots = [0.0]
    while knots[-1] < duration_s:
        length = rng.uniform(*c.segment_s)
        yaw.append(yaw[-1] + length * rng.uniform(-c.max_yaw_rate_deg_s, c.max_yaw_rate_deg_s))
        for values, rate, bound in (
            (pitch, c.max_pitch_rate_deg_s, c.max_abs_pitch_deg),
            (roll, c.max_roll_rate_deg_s, c.max_abs_roll_deg),
        ):
            v = values[-1]
            values.append(rng.uniform(max(-bound, v - rate * length), min(bound, v + rate * length)))
        knots.append(knots[-1] + length)
    return Trajectory(*(np.asarray(a, np.float64) for a in (knots, yaw, pitch, roll)))

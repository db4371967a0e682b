"""Head geometry shared by the binaural renderers (pure numpy).

Angles follow SOFA/AES69: azimuth in degrees counter-clockwise from straight ahead (+90 = listener's left),
elevation in degrees up from the horizontal plane. The head sits at the origin with the ears on the y axis
(left ear at +y), x pointing ahead and z up.
"""

from __future__ import annotations

import numpy as np

HEAD_RADIUS_M = 0.0875
SPEED_OF_SOUND_M_S = 343.0


def direction_vector(azimuth_deg, elevation_deg=0.0) -> np.ndarray:
    """Unit vectors of directions: angles broadcast to shape S -> [*S, 3] (x ahead, y left, z up)."""
    az = np.deg2rad(np.asarray(azimuth_deg, np.float64))
    el = np.deg2rad(np.asarray(elevation_deg, np.float64))
    az, el = np.broadcast_arrays(az, el)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def lateral_angle(azimuth_deg, elevation_deg=0.0) -> np.ndarray:
    """Angle between a direction and the median plane, radians in [-pi/2, pi/2], > 0 to the left.

    Args:
      azimuth_deg, elevation_deg: degrees, broadcastable arrays or scalars.
    Returns:
      float64 array of the broadcast shape. Directions on one cone of confusion share a lateral angle.
    """
    y = direction_vector(azimuth_deg, elevation_deg)[..., 1]
    # Clip guards arcsin against |y| rounding a hair above 1 at +-90 degrees.
    return np.arcsin(np.clip(y, -1.0, 1.0))


def woodworth_itd(
    azimuth_deg, elevation_deg=0.0, head_radius_m=HEAD_RADIUS_M, speed_of_sound=SPEED_OF_SOUND_M_S
) -> np.ndarray:
    """Woodworth's interaural time difference of a rigid sphere, seconds, > 0 when the left ear leads.

    ITD = (a / c) (theta + sin theta) with theta the lateral angle (about 656 us at 90 degrees for a = 8.75 cm).

    Args:
      azimuth_deg, elevation_deg: degrees, broadcastable arrays or scalars.
      head_radius_m: sphere radius a in metres; speed_of_sound: c in m/s.
    Returns:
      float64 array of the broadcast shape.
    """
    theta = lateral_angle(azimuth_deg, elevation_deg)
    return (head_radius_m / speed_of_sound) * (theta + np.sin(theta))

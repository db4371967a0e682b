"""Pinhole (gnomonic) cameras looking into a 360-degree scene: equirectangular -> perspective frames, world
directions -> screen positions and back (pure numpy).

Camera: orientation (yaw, pitch, roll) as in `ambisonics.rotation_matrix` (yaw = world azimuth of the viewing
axis, SOFA; pitch up > 0; roll > 0 raises the camera's left side), horizontal field of view fov_deg, focal
length f = (W / 2) / tan(fov / 2) pixels for both axes (square pixels). Image conventions as
data/binaural_synth/raster.py: pixel (row i, column j) covers [j, j + 1) x [i, i + 1), y grows downwards, and a
direction (forward, left, up) in camera axes lands at x = W/2 - f left / forward, y = H/2 - f up / forward, so
left of the camera is left in the image.

Equirectangular frames follow the public 360-video corpora (and YouTube's spatial-audio convention, whose FOA
front is the frame's centre): column x (continuous, 0..W) is azimuth 180 - 360 x / W, so the frame's centre is
straight ahead and azimuth grows to the left; row y (0..H) is elevation 90 - 180 y / H.
"""

from __future__ import annotations

import numpy as np

from v2a_jax.spatial import ambisonics, geometry

DEFAULT_FOV_DEG = 90.0
# Output pixels per block of equirect_to_perspective (~100 MB of float64 intermediates).
_CHUNK_PIXELS = 1 << 20


def focal_px(width: int, fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels of a camera `width` pixels wide with a horizontal field of view fov_deg."""
    if not 0 < fov_deg < 180:
        raise ValueError(f"projection: fov_deg must be in (0, 180), got {fov_deg}")
    return (width / 2) / np.tan(np.radians(fov_deg / 2))


def pixel_rays(height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """Unit rays through the pixel centres in camera axes (forward, left, up): [H, W, 3]."""
    f = focal_px(width, fov_deg)
    left = (width / 2 - (np.arange(width) + 0.5)) / f
    up = (height / 2 - (np.arange(height) + 0.5)) / f
    rays = np.stack(np.broadcast_arrays(1.0, left[None, :], up[:, None]), axis=-1)
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def equirect_to_perspective(
    frames: np.ndarray, yaw_deg, pitch_deg, roll_deg, height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG
) -> np.ndarray:
    """Perspective views cut from equirectangular frames, one camera orientation per frame, bilinear sampling.

    Args:
      frames: [T, He, We, 3] uint8 equirectangular frames (module docstring).
      yaw_deg, pitch_deg, roll_deg: [T] (or scalars) camera orientation per frame, degrees.
      height, width: output size in pixels; fov_deg: horizontal field of view.
    Returns:
      [T, height, width, 3] uint8. Columns wrap around the panorama; rows are clamped at the poles.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"equirect_to_perspective: expected frames [T, H, W, 3], got shape {frames.shape}")
    t = frames.shape[0]
    angles = [np.broadcast_to(np.asarray(a, np.float64), (t,)) for a in (yaw_deg, pitch_deg, roll_deg)]
    rot = ambisonics.rotation_matrix(*angles)  # [T, 3, 3], camera axes -> world
    rays = pixel_rays(height, width, fov_deg)
    out = np.empty((t, height, width, 3), np.uint8)
    step = max(1, _CHUNK_PIXELS // (height * width))  # bounds the float64 working set whatever the size
    for start in range(0, t, step):
        out[start : start + step] = _sample(frames[start : start + step], rot[start : start + step], rays)
    return out


def _sample(frames: np.ndarray, rot: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """Bilinear samples of frames [T, He, We, 3] along camera rays [H, W, 3] turned by rot [T, 3, 3]."""
    t, he, we, _ = frames.shape
    world = np.einsum("tij,hwj->thwi", rot, rays)  # [T, H, W, 3]
    az = np.arctan2(world[..., 1], world[..., 0])
    el = np.arcsin(np.clip(world[..., 2], -1.0, 1.0))
    # Continuous source coordinates in pixel-centre units (centre of pixel j at j).
    sx = (0.5 - az / (2 * np.pi)) * we - 0.5
    sy = np.clip((0.5 - el / np.pi) * he - 0.5, 0.0, he - 1.0)
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = (sx - x0)[..., None].astype(np.float32), (sy - y0)[..., None].astype(np.float32)
    x0 = x0.astype(np.int64) % we
    x1 = (x0 + 1) % we
    y0 = y0.astype(np.int64)
    y1 = np.minimum(y0 + 1, he - 1)
    ti = np.arange(t)[:, None, None]
    # Gather the four neighbours as uint8 and convert only them: the panorama is much larger than the view.
    corner = lambda y, x: frames[ti, y, x].astype(np.float32)  # noqa: E731
    top = corner(y0, x0) * (1 - fx) + corner(y0, x1) * fx
    bottom = corner(y1, x0) * (1 - fx) + corner(y1, x1) * fx
    return np.clip(np.round(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def project(
    azimuth_deg, elevation_deg, yaw_deg, pitch_deg, roll_deg, height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen position of world directions seen by a camera, all arguments broadcast to one shape S.

    Returns:
      (x, y, in_front): x, y [S] float64 continuous pixel coordinates (NaN behind the camera); in_front [S]
      bool, the direction is in front of the image plane. A direction is in view when in_front and
      0 <= x < width, 0 <= y < height.
    """
    d = ambisonics.world_to_camera(geometry.direction_vector(azimuth_deg, elevation_deg), yaw_deg, pitch_deg, roll_deg)
    f = focal_px(width, fov_deg)
    in_front = d[..., 0] > 1e-9
    forward = np.where(in_front, d[..., 0], np.nan)
    return width / 2 - f * d[..., 1] / forward, height / 2 - f * d[..., 2] / forward, in_front


def screen_to_direction(x, y, height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG):
    """Camera-relative direction (azimuth, elevation) in SOFA degrees of screen points (x, y) (continuous
    pixel coordinates, broadcastable) -> two arrays of the broadcast shape."""
    f = focal_px(width, fov_deg)
    left = (width / 2 - np.asarray(x, np.float64)) / f
    up = (height / 2 - np.asarray(y, np.float64)) / f
    return np.degrees(np.arctan2(left, 1.0)), np.degrees(np.arctan2(up, np.hypot(1.0, left)))

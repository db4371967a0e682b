"""A tiny synthetic 360-degree scene: a red disc circling the listener on the horizon over a grey panorama with a
dark stripe pattern, its noise sound encoded as first-order ambisonics at the disc's direction."""

import numpy as np

from v2a_jax.spatial import ambisonics

RED = (255, 0, 0)


def disc_azimuth_deg(times_s, start_deg=0.0, rate_deg_s=60.0):
    """World azimuth of the disc at times_s (it circles counter-clockwise, i.e. towards the left)."""
    return start_deg + rate_deg_s * np.asarray(times_s, np.float64)


def equirect_frames(num_frames, fps, height=64, width=128, radius_deg=6.0, **motion):
    """uint8 [T, height, width, 3] equirectangular frames (column x at azimuth 180 - 360 x / W, row y at elevation
    90 - 180 y / H) of the disc at disc_azimuth_deg(t / fps), elevation 0."""
    az = np.radians(180.0 - 360.0 * (np.arange(width) + 0.5) / width)
    el = np.radians(90.0 - 180.0 * (np.arange(height) + 0.5) / height)
    px = np.stack(
        np.broadcast_arrays(np.cos(el)[:, None] * np.cos(az), np.cos(el)[:, None] * np.sin(az), np.sin(el)[:, None]),
        axis=-1,
    )  # [H, W, 3]
    background = np.full((height, width, 3), 110, np.uint8)
    background[:, (np.arange(width) // 8) % 2 == 0] = (60, 70, 80)  # stripes: the panorama is not uniform
    frames = np.repeat(background[None], num_frames, axis=0)
    for t, a in enumerate(np.radians(disc_azimuth_deg(np.arange(num_frames) / fps, **motion))):
        inside = px @ np.array([np.cos(a), np.sin(a), 0.0]) > np.cos(np.radians(radius_deg))
        frames[t][inside] = RED
    return frames


def foa_sound(num_samples, sample_rate, seed=0, **motion):
    """[4, N] ACN/SN3D noise at the disc's per-sample direction."""
    noise = np.random.default_rng(seed).standard_normal(num_samples) * 0.1
    return ambisonics.encode(noise, disc_azimuth_deg(np.arange(num_samples) / sample_rate, **motion))


def red_centroid_x(frames):
    """Redness-weighted centroid column (continuous x) per frame [T] of frames [T, H, W, 3] (NaN if no red)."""
    f = frames.astype(np.float64)
    red = np.clip(f[..., 0] - np.maximum(f[..., 1], f[..., 2]), 0, None) ** 2  # [T, H, W]
    columns = red.sum(axis=1)
    total = columns.sum(axis=1)
    with np.errstate(invalid="ignore"):
        return (columns * (np.arange(frames.shape[2]) + 0.5)).sum(axis=1) / np.where(total > 0, total, np.nan)

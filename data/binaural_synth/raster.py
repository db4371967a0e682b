"""Vectorised numpy drawing for `binaural_synth`: the 360-degree background panorama and the class shapes.

Image conventions: frames are [T, H, W, 3] uint8 RGB; a pixel (row i, column j) covers [j, j+1) x [i, i+1) in
continuous pixel coordinates, so its centre is (j + 0.5, i + 0.5) and the image centre is (W/2, H/2); y grows
downwards. The camera is a pinhole with focal length f pixels looking along world azimuth `yaw` (SOFA: azimuth
counter-clockwise, +90 = left), pitch and roll 0, so a direction at relative azimuth a appears at
x = W/2 - f tan(a): left of the camera is left in the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SHAPES = ("circle", "ring", "square", "diamond", "triangle", "plus", "x", "star", "hbar", "vbar")

# Panorama: cylindrical lookup table, 0.25 degree cells, elevations +-60 (a 90-degree-FOV square image sees up
# to ~55 degrees in its corners); columns start at azimuth -180 and go counter-clockwise.
PANO_RES_DEG = 0.25
PANO_MAX_EL_DEG = 60.0

# Bounds the float32 working set of `draw_shapes` to ~4 MB per object whatever the clip size.
_CHUNK_PIXELS = 1 << 20


def _box(u, v, half_w, half_h):
    return np.maximum(np.abs(u) - half_w, np.abs(v) - half_h)


def shape_sdf(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Approximate signed distance (negative inside) to `shape`, in units of the shape's radius.

    u, v: coordinates relative to the shape centre divided by its radius, v pointing UP. Shapes fit in the
    unit disc (up to ~1.1 for the thin ones, whose area is otherwise too small to see).
    """
    if shape == "circle":
        return np.hypot(u, v) - 1.0
    if shape == "ring":
        return np.abs(np.hypot(u, v) - 0.7) - 0.3
    if shape == "square":
        return _box(u, v, 0.82, 0.82)
    if shape == "diamond":
        return (np.abs(u) + np.abs(v) - 1.05) / np.sqrt(2.0)
    if shape == "triangle":
        # Upward equilateral triangle, centroid at the origin, circumradius 1.15 (inradius 0.575).
        return np.maximum(-v, 0.5 * np.sqrt(3.0) * np.abs(u) + 0.5 * v) - 0.575
    if shape == "plus":
        return np.minimum(_box(u, v, 1.0, 0.32), _box(u, v, 0.32, 1.0))
    if shape == "x":
        p, q = (u + v) / np.sqrt(2.0), (u - v) / np.sqrt(2.0)
        return np.minimum(_box(p, q, 1.0, 0.3), _box(p, q, 0.3, 1.0))
    if shape == "star":
        # Five points (one up), outer radius 1.1, inner 0.45; the radial distance is scaled by ~sin of the
        # edge angle so that the 1-pixel anti-aliasing ramp keeps roughly its width.
        phase = np.mod(np.arctan2(v, u) - np.pi / 2, 2 * np.pi / 5) / (2 * np.pi / 5)
        boundary = 1.1 - 0.65 * 2.0 * np.minimum(phase, 1.0 - phase)
        return 0.5 * (np.hypot(u, v) - boundary)
    if shape == "hbar":
        return _box(u, v, 1.1, 0.35)
    if shape == "vbar":
        return _box(u, v, 0.35, 1.1)
    raise ValueError(f"raster.shape_sdf: unknown shape {shape!r}, expected one of {SHAPES}")


def draw_shapes(
    frames: np.ndarray,
    shapes: Sequence[str],
    centre_x: np.ndarray,
    centre_y: np.ndarray,
    radius: np.ndarray,
    colour: np.ndarray,
    brightness: np.ndarray,
    depth: np.ndarray,
) -> np.ndarray:
    """Draws K anti-aliased shapes on every frame, far to near (painter's algorithm), returning new frames.

    Args:
      frames: [T, H, W, 3] uint8 background.
      shapes: K names from SHAPES.
      centre_x, centre_y: [T, K] shape centres in pixel coordinates (see module docstring). Objects whose
        centre is not finite or whose radius is <= 0 are not drawn on that frame.
      radius: [T, K] radius in pixels.
      colour: [K, 3] RGB 0..255.
      brightness: [T, K] in [0, 1], multiplies the colour.
      depth: [T, K] distance from the camera; larger is farther, so nearer shapes end up on top.
    Returns:
      [T, H, W, 3] uint8.
    """
    t_len, h, w, _ = frames.shape
    k_len = len(shapes)
    if k_len == 0:
        return frames.copy()
    for name, arr in (
        ("centre_x", centre_x),
        ("centre_y", centre_y),
        ("radius", radius),
        ("brightness", brightness),
        ("depth", depth),
    ):
        if np.shape(arr) != (t_len, k_len):
            raise ValueError(f"raster.draw_shapes: {name} has shape {np.shape(arr)}, expected {(t_len, k_len)}")
    drawn = np.isfinite(centre_x) & np.isfinite(centre_y) & (radius > 0)
    rad = np.where(drawn, radius, 1.0).astype(np.float32)
    cx = np.where(drawn, centre_x, 0.0).astype(np.float32)
    cy = np.where(drawn, centre_y, 0.0).astype(np.float32)
    # Shapes extend up to 1.15 radii; one more pixel for the anti-aliasing ramp.
    reach = 1.2 * rad + 1.0
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    rgb = np.asarray(colour, np.float32)[None] * np.asarray(brightness, np.float32)[..., None]  # [T, K, 3]
    order = np.argsort(-np.asarray(depth), axis=1, kind="stable")  # [T, K], far first
    out = frames.copy()
    chunk = max(1, _CHUNK_PIXELS // (h * w))
    for t0 in range(0, t_len, chunk):
        sl = slice(t0, min(t0 + chunk, t_len))
        n = sl.stop - sl.start
        # Per object, the union of its bounding boxes over the chunk (clipped to the frame); shapes are
        # evaluated and composited only inside these windows.
        boxes = {}
        for k in range(k_len):
            on = drawn[sl, k]
            if on.any():
                lo_x, hi_x = (cx[sl, k] - reach[sl, k])[on].min(), (cx[sl, k] + reach[sl, k])[on].max()
                lo_y, hi_y = (cy[sl, k] - reach[sl, k])[on].min(), (cy[sl, k] + reach[sl, k])[on].max()
                c0, c1 = int(np.clip(np.floor(lo_x), 0, w)), int(np.clip(np.ceil(hi_x), 0, w))
                r0, r1 = int(np.clip(np.floor(lo_y), 0, h)), int(np.clip(np.ceil(hi_y), 0, h))
                if c0 < c1 and r0 < r1:
                    boxes[k] = (r0, r1, c0, c1)
        if not boxes:
            continue
        wr0, wr1 = min(b[0] for b in boxes.values()), max(b[1] for b in boxes.values())
        wc0, wc1 = min(b[2] for b in boxes.values()), max(b[3] for b in boxes.values())
        alpha = np.zeros((k_len, n, wr1 - wr0, wc1 - wc0), np.float32)
        for k, (r0, r1, c0, c1) in boxes.items():
            r = rad[sl, k][:, None, None]
            u = (xs[None, None, c0:c1] - cx[sl, k][:, None, None]) / r
            v = (cy[sl, k][:, None, None] - ys[None, r0:r1, None]) / r
            a = np.clip(0.5 - shape_sdf(shapes[k], u, v) * r, 0.0, 1.0)
            alpha[k, :, r0 - wr0 : r1 - wr0, c0 - wc0 : c1 - wc0] = a * drawn[sl, k][:, None, None]
        img = frames[sl, wr0:wr1, wc0:wc1].astype(np.float32)
        frame_idx = np.arange(n)
        for rank in range(k_len):
            k = order[sl, rank]  # [n]
            a = alpha[k, frame_idx][..., None]  # [n, h', w', 1]
            img += a * (rgb[sl][frame_idx, k][:, None, None, :] - img)
        out[sl, wr0:wr1, wc0:wc1] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return out


def make_panorama(rng: np.random.Generator) -> np.ndarray:
    """A random 360-degree world backdrop: [n_el, n_az, 3] uint8 (rows from +60 down to -60 degrees
    elevation, columns from azimuth -180 counter-clockwise, PANO_RES_DEG cells).

    Desaturated sky and ground split at the horizon, plus vertical pillars of random azimuth, width, height and
    grey level, so that camera yaw is visible as the backdrop sliding sideways. Every colour has max - min channel
    <= 40 (near grey), which keeps the saturated class colours unambiguous.
    """
    n_el = int(round(2 * PANO_MAX_EL_DEG / PANO_RES_DEG))
    n_az = int(round(360.0 / PANO_RES_DEG))
    el = PANO_MAX_EL_DEG - (np.arange(n_el) + 0.5) * PANO_RES_DEG  # [n_el]
    tint = lambda scale: rng.uniform(-scale, scale, 3)  # noqa: E731
    sky = rng.uniform(140, 200) + tint(20)
    ground = rng.uniform(60, 110) + tint(15)
    # Sky brightens towards the horizon and ground darkens away from it, so the horizon reads as an edge.
    col = np.where(
        (el >= 0)[:, None],
        sky[None] + 30 * (1 - el[:, None] / PANO_MAX_EL_DEG),
        ground[None] * (1 + el[:, None] / (2 * PANO_MAX_EL_DEG)),
    )  # [n_el, 3]
    to_u8 = lambda x: np.clip(np.round(x), 0, 255).astype(np.uint8)  # noqa: E731
    pano = np.repeat(to_u8(col)[:, None, :], n_az, axis=1)
    for _ in range(int(rng.integers(10, 21))):
        width = int(rng.uniform(2.0, 12.0) / PANO_RES_DEG)
        start = int(rng.integers(0, n_az))
        top = int((PANO_MAX_EL_DEG - rng.uniform(3.0, 40.0)) / PANO_RES_DEG)
        cols = np.arange(start, start + width) % n_az
        pano[top:, cols] = to_u8(rng.uniform(40, 220) + tint(15))
    return pano


def render_background(
    panorama: np.ndarray, yaw_deg: np.ndarray, focal_px: float, height: int, width: int
) -> np.ndarray:
    """Samples `panorama` (see make_panorama) through the pinhole camera at each yaw.

    Args:
      panorama: [n_el, n_az, 3] uint8.
      yaw_deg: [T] camera world azimuth, degrees.
      focal_px: focal length in pixels.
    Returns:
      [T, height, width, 3] uint8 (nearest-cell lookup).
    """
    n_el, n_az, _ = panorama.shape
    x = np.arange(width) + 0.5 - width / 2
    y = np.arange(height) + 0.5 - height / 2
    rel_az = np.degrees(np.arctan2(-x, focal_px))  # [W]
    el = np.degrees(np.arctan2(-y[:, None], np.hypot(focal_px, x)[None, :]))  # [H, W]
    row = np.clip(((PANO_MAX_EL_DEG - el) / PANO_RES_DEG).astype(np.int64), 0, n_el - 1)
    world = np.asarray(yaw_deg, np.float64)[:, None] + rel_az[None, :] + 180.0  # [T, W]
    col = np.floor(np.mod(world, 360.0) / PANO_RES_DEG).astype(np.int64) % n_az
    return panorama[row[None, :, :], col[:, None, :]]

"""A simple visual localiser for the two-stage baseline: the horizontal direction of the most salient image region
per video frame (numpy, host side).

Saliency of a pixel is how far its colour is from the frame's background, taken as the per-channel median of the
frame (objects are small against the panorama), times its brightness (its largest channel, mapped to [0, 1]):
the benchmark draws a source at full brightness while it sounds and dimmed while silent. The source's screen x
is the saliency-weighted centroid of the pixels within SALIENT_FRACTION of the frame's strongest saliency, turned
into an azimuth by the pinhole camera of `binaural_synth` (data/binaural_synth/raster.py): x = W/2 - f tan(az),
f = (W/2) / tan(fov/2), so a blob right of centre has a negative (SOFA: rightward) azimuth; fov is the dataset's
horizontal field of view (metadata `field_of_view_deg`), W the stored frame width (frames need not be square).

On recorded video the saliency rule is only a guess: it picks the most colourful bright region, which need not be
the sounding one, and a dataset of recordings has no true azimuth to check it against (the report then omits the
localiser's error). The two-stage baseline built on it needs no ground truth either way. Its accuracy on
binaural_synth is in experiments/RESULTS.md ("Spatial rendering and cue estimation").
"""

from __future__ import annotations

import numpy as np

SALIENT_FRACTION = 0.95  # pixels whose saliency is at least this share of the frame's maximum form the blob
MIN_SALIENCY = 1e-3  # a frame whose strongest saliency is below this has no source


def saliency(video: np.ndarray) -> np.ndarray:
    """video [B, T, H, W, 3] in [-1, 1] -> saliency [B, T, H, W] >= 0 (module docstring)."""
    video = np.asarray(video, np.float32)
    if video.ndim != 5 or video.shape[-1] != 3:
        raise ValueError(f"localiser: expected video [B, T, H, W, 3], got shape {video.shape}")
    background = np.median(video, axis=(2, 3), keepdims=True)
    contrast = np.max(np.abs(video - background), axis=-1)
    brightness = (np.max(video, axis=-1) + 1.0) / 2.0
    return contrast * brightness


def screen_x(video: np.ndarray) -> np.ndarray:
    """Centroid column (continuous pixel x, pixel j covers [j, j + 1)) of the salient blob per frame: [B, T];
    NaN where the frame has nothing salient."""
    s = saliency(video)
    peak = s.max(axis=(2, 3), keepdims=True)
    weight = np.where((s >= SALIENT_FRACTION * peak) & (peak >= MIN_SALIENCY), s, 0.0).sum(axis=2)  # [B, T, W]
    columns = np.arange(weight.shape[-1]) + 0.5
    total = weight.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weight * columns).sum(axis=-1) / total, np.nan)


def azimuth_deg(video: np.ndarray, fov_deg: float) -> np.ndarray:
    """Estimated source azimuth (SOFA degrees, + = left) per frame of video [B, T, H, W, 3] -> [B, T]. Frames with
    nothing salient repeat the previous estimate (0, straight ahead, before the first one)."""
    x = screen_x(video)
    width = np.asarray(video).shape[3]
    focal = (width / 2) / np.tan(np.radians(fov_deg / 2))
    az = np.degrees(np.arctan((width / 2 - x) / focal))
    out = np.zeros_like(az)
    previous = np.zeros(az.shape[0])
    for t in range(az.shape[1]):
        previous = np.where(np.isnan(az[:, t]), previous, az[:, t])
        out[:, t] = previous
    return out


def azimuth_error(
    estimate_deg: np.ndarray, azimuth_deg: np.ndarray, visible: np.ndarray, sounding: np.ndarray
) -> tuple[float, int]:
    """Mean |estimate - true azimuth| (degrees) over frames with exactly one visible sounding source, and the
    number of such frames (NaN mean when none): estimate [B, T]; truth [B, T, S] (SOFA degrees; bool)."""
    seen = np.asarray(visible, bool) & np.asarray(sounding, bool)
    one = seen.sum(axis=-1) == 1
    truth = np.where(seen, azimuth_deg, 0.0).sum(axis=-1)
    count = int(one.sum())
    return (float(np.abs(estimate_deg - truth)[one].mean()) if count else float("nan")), count

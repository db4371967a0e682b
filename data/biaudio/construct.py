"""One BiAudio clip from a window of 360-degree video and its first-order ambisonics (ViSAudio's construction):
phi_max of the window's FOA -> a random camera trajectory starting near it (trajectory.py) -> a perspective video
cut from the equirectangular frames along it and the FOA rotated into the camera's frame along the same path,
decoded to binaural (v2a_jax.spatial.ambisonics.BinauralDecoder).

Time base: video frame t shows time t / fps and audio sample n time n / sample_rate (seconds from the window
start); the trajectory is evaluated at both, so picture and sound turn together exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data.biaudio import trajectory as trajectory_lib
from v2a_jax.spatial import ambisonics, projection


def construct_clip(
    equirect: np.ndarray,
    foa: np.ndarray,
    fps: float,
    sample_rate: int,
    rng: np.random.Generator,
    config: trajectory_lib.TrajectoryConfig,
    decoder: ambisonics.BinauralDecoder,
    height: int,
    width: int,
    fov_deg: float = projection.DEFAULT_FOV_DEG,
) -> dict[str, np.ndarray]:
    """Perspective video and binaural audio of one window along a random camera trajectory.

    Args:
      equirect: [T, He, We, 3] uint8 equirectangular frames (v2a_jax.spatial.projection conventions).
      foa: [4, N] ACN/SN3D first-order ambisonics of the same window at sample_rate (front = frame centre).
      rng: draws the trajectory (trajectory.clip_rng gives one per clip).
      height, width, fov_deg: the perspective camera.
    Returns:
      video [T, height, width, 3] uint8; audio [2, N] float32 (0 = left); camera_yaw_deg (wrapped to
      [-180, 180)), camera_pitch_deg, camera_roll_deg [T] float32 at the video frames; phi_max_deg [2] float32
      (azimuth, elevation of the window's energy direction).
    """
    t, n = equirect.shape[0], foa.shape[1]
    phi = ambisonics.phi_max(foa)
    path = trajectory_lib.sample_trajectory(rng, max(t / fps, n / sample_rate), phi[0], phi[1], config)
    yaw_f, pitch_f, roll_f = path.at(np.arange(t) / fps)
    video = projection.equirect_to_perspective(equirect, yaw_f, pitch_f, roll_f, height, width, fov_deg)
    audio = decoder(ambisonics.rotate(foa, *path.at(np.arange(n) / sample_rate)))
    return {
        "video": video,
        "audio": audio,
        "camera_yaw_deg": (np.mod(yaw_f + 180.0, 360.0) - 180.0).astype(np.float32),
        "camera_pitch_deg": pitch_f.astype(np.float32),
        "camera_roll_deg": roll_f.astype(np.float32),
        "phi_max_deg": phi.astype(np.float32),
    }


def lr_difference(audio: np.ndarray) -> float:
    """Normalised left-right difference sum |L - R| / sum (|L| + |R|) of binaural audio [2, N], in [0, 1]
    (0 for identical ears, 0 for silence); ViSAudio drops clips below 0.01."""
    a = np.asarray(audio, np.float64)
    total = np.sum(np.abs(a[0]) + np.abs(a[1]))
    return float(np.sum(np.abs(a[0] - a[1])) / total) if total > 0 else 0.0


def caption(visible: Sequence[str], invisible: Sequence[str]) -> str:
    """'Visible sound: a, b. Invisible sound: c.' ('none' for an empty list), the caption form of
    data/binaural_synth."""
    names = lambda labels: ", ".join(labels) or "none"  # noqa: E731
    return f"Visible sound: {names(visible)}. Invisible sound: {names(invisible)}."

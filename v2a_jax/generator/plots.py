"""Summary image of one generated clip: left/right spectrograms and the binaural cues over time against the
true source direction (numpy + matplotlib, host side).

Panels: log-magnitude spectrograms of the generated left and right ears (STFT n_fft 512, hop 160, win 400);
the lateral angle implied by the ITD of the generated and the reference audio per video frame (the estimate the
direction metric scores: v2a_jax.metrics.direction.itd_lateral_deg), with the true lateral angle
asin(sin(az) cos(el)) of every sounding source; the frame-wise ILD of both (64 ms frames every 32 ms, the
v2a_jax.metrics.binaural defaults). Positive angles and ILDs mean left.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from v2a_jax.metrics import binaural, direction  # noqa: E402


def _frame_times(num_frames: int, sample_rate: int) -> np.ndarray:
    return (np.arange(num_frames) * binaural.FRAME_HOP + binaural.FRAME_LEN / 2) / sample_rate


def binaural_cues_image(
    generated: np.ndarray,
    reference: np.ndarray,
    relative_azimuth_deg: np.ndarray,
    elevation_deg: np.ndarray,
    sounding: np.ndarray,
    *,
    fps: float,
    sample_rate: int,
) -> np.ndarray:
    """generated, reference [2, N]; ground truth [T_video, S] (SOFA degrees; bool) -> uint8 image [H, W, 3]."""
    generated, reference = np.asarray(generated, np.float64), np.asarray(reference, np.float64)
    duration = generated.shape[-1] / sample_rate
    fig, axes = plt.subplots(4, 1, figsize=(7, 8), sharex=True, constrained_layout=True)
    for ear, name in enumerate(("left", "right")):
        spec = np.abs(binaural.stft(generated[ear], binaural.STFT_N_FFT, binaural.STFT_HOP, binaural.STFT_WIN_LENGTH))
        axes[ear].imshow(
            20 * np.log10(spec + 1e-6),
            origin="lower",
            aspect="auto",
            vmin=-100,
            vmax=0,
            extent=(0, duration, 0, sample_rate / 2000),
            cmap="magma",
        )
        axes[ear].set_ylabel(f"{name} ear\nkHz")
    truth = np.where(sounding, direction.lateral_angle_deg(relative_azimuth_deg, elevation_deg), np.nan)
    video_t = np.arange(truth.shape[0]) / fps
    for audio, style, label in ((generated, "-", "generated"), (reference, "--", "reference")):
        lateral = direction.itd_lateral_deg(audio[None], truth.shape[0], fps, sample_rate)[0]
        axes[2].plot(video_t + 0.5 / fps, lateral, style, color="C0", label=f"ITD, {label}")
        ild, _ = binaural.framewise_ild_db(audio)
        axes[3].plot(_frame_times(ild.shape[-1], sample_rate), ild, style, color="C1", label=label)
    for s in range(truth.shape[1]):
        axes[2].plot(video_t, truth[:, s], ".", color="k", markersize=3, label="true source" if s == 0 else None)
    axes[2].set_ylim(-95, 95)
    axes[2].set_ylabel("lateral angle\n(deg, + left)")
    axes[2].legend(loc="upper right", fontsize=7)
    axes[3].set_ylabel("ILD (dB, + left)")
    axes[3].set_xlabel("time (s)")
    axes[3].legend(loc="upper right", fontsize=7)
    fig.set_dpi(80)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image

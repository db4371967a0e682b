"""Writing an evaluation: report.json, a markdown table, 16-bit WAVs and binaural-cue PNGs (host side).

Layout of an output directory:
  report.json                 everything (`evaluate_checkpoint`'s report; NaN written as null)
  report.md                   the table: one row per system, the main metrics as columns
  wav/clipNNN_<row>.wav       16-bit PCM stereo (left, right) of the first num_wavs clips, every row
  png/clipNNN_<row>.png       left/right spectrograms and ITD/ILD over time against the reference's and (where
                              the dataset has it) the true direction (v2a_jax.generator.plots.binaural_cues_image)
                              of the model rows
The table's columns are those any row has: a dataset without ground truth has no truth-based columns (direction
against the true azimuth, sync against the true onsets) and the report's notes say so; "(FAIR-Play)" columns are
on the peak-normalised scale the FAIR-Play papers publish (metrics/binaural.py); "vs rec" columns compare a row's
direction with the reference recording's, measured by the same estimator.
"""

from __future__ import annotations

import json
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from etils import epath  # noqa: E402

from v2a_jax.generator import plots  # noqa: E402

# (metric key, column header) of the markdown table; distribution columns appear when the rows have them.
COLUMNS = (
    ("stft", "STFT"),
    ("env", "ENV"),
    ("mag", "Mag"),
    ("phs", "PHS"),
    ("snr_db", "SNR dB"),
    ("stft_peak_norm", "STFT (FAIR-Play)"),
    ("env_peak_norm", "ENV (FAIR-Play)"),
    ("mag_peak_norm", "Mag (FAIR-Play)"),
    ("snr_peak_norm_db", "SNR dB (FAIR-Play)"),
    ("lsd_db", "LSD dB"),
    ("delta_itd_us", "dITD us"),
    ("delta_ild_db", "dILD dB"),
    ("delta_iacc", "dIACC"),
    ("ref_left_right_agreement", "L/R agree vs rec (ITD)"),
    ("ref_direction_diff_deg", "dir diff vs rec deg (ITD)"),
    ("ref_left_right_agreement_ild", "L/R agree vs rec (ILD)"),
    ("ref_direction_diff_ild_deg", "dir diff vs rec deg (ILD)"),
    ("cue_agreement", "ITD/ILD same side"),
    ("direction_error_deg", "dir err deg (ITD)"),
    ("left_right_agreement", "L/R agree (ITD)"),
    ("lateral_r", "lateral r (ITD)"),
    ("lateral_overshoot_deg", "overshoot deg (ITD)"),
    ("direction_error_ild_deg", "dir err deg (ILD)"),
    ("left_right_agreement_ild", "L/R agree (ILD)"),
    ("av_sync_offset_s", "sync s"),
    ("fd_left", "FD L"),
    ("fd_right", "FD R"),
    ("fd_mid", "FD mid"),
    ("kl_mid", "KL mid"),
    ("is_mid", "IS mid"),
)


NO_LOCALISER_TRUTH = (
    "the dataset stores no ground-truth source azimuths: the two-stage localiser's azimuth error "
    "is not measured (the two-stage row itself needs none)"
)


def reference_row(truth: Any) -> str:
    """The name of the reference audio's own row: `ground_truth` on the benchmark, `recording` on a dataset
    without ground truth (scores.Truth without the true direction)."""
    return "ground_truth" if truth.has_direction else "recording"


def audio_level(gain_db: np.ndarray | None) -> str:
    """The report's note on the level the metrics are measured at (always the stored audio), with the builder's
    loudness gain over the clips where the dataset stores it (gain_db [B] dB)."""
    line = "metrics on the stored audio"
    if gain_db is None:
        return line
    gain = np.asarray(gain_db, np.float64)
    return (
        f"{line}; the builder's loudness gain is not undone (gain_db mean {gain.mean():.1f} dB, range "
        f"{gain.min():.1f} to {gain.max():.1f} dB): STFT and Mag scale with the level squared, ENV with the "
        f"level, the FAIR-Play columns do not depend on it"
    )


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers and non-finite floats as None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def format_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def markdown_table(
    rows: dict[str, dict[str, float]], first_header: str = "system", columns: tuple[tuple[str, str], ...] = COLUMNS
) -> str:
    """rows {label: metrics} -> a markdown table of the (key, header) `columns` that any row has, in that order."""
    columns = [(k, h) for k, h in columns if any(k in m for m in rows.values())]
    lines = ["| " + " | ".join([first_header] + [h for _, h in columns]) + " |", "|" + "---|" * (len(columns) + 1)]
    for label, metrics in rows.items():
        lines.append("| " + " | ".join([label] + [format_value(metrics.get(k)) for k, _ in columns]) + " |")
    return "\n".join(lines) + "\n"


def write_json(path: epath.PathLike, report: dict) -> None:
    epath.Path(path).write_text(json.dumps(jsonable(report), indent=2))


def write_wavs(directory: epath.PathLike, rows: dict[str, np.ndarray], num_clips: int, sample_rate: int) -> None:
    """directory/clipNNN_<row>.wav for the first `num_clips` clips of each row [B, 2, N] (clipped to [-1, 1])."""
    directory = epath.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, audio in rows.items():
        for i in range(min(num_clips, audio.shape[0])):
            soundfile.write(
                str(directory / f"clip{i:03d}_{name}.wav"),
                np.clip(audio[i].T, -1.0, 1.0),
                sample_rate,
                subtype="PCM_16",
            )


def write_cue_plots(
    directory: epath.PathLike, rows: dict[str, tuple[np.ndarray, Any]], num_clips: int, *, fps: float, sample_rate: int
) -> None:
    """directory/clipNNN_<row>.png for the first `num_clips` clips; rows {name: (audio [B, 2, N], scores.Truth)}
    (each row against its own truth: the flipped row against the mirrored one; without the true direction the
    image shows the row against the reference alone)."""
    directory = epath.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (audio, truth) in rows.items():
        for i in range(min(num_clips, audio.shape[0])):
            if truth.has_direction:
                direction = (truth.azimuth_deg[i], truth.elevation_deg[i], truth.sounding[i])
            else:  # no source slots
                frames = int(audio.shape[-1] * fps // sample_rate)
                direction = (np.zeros((frames, 0)), np.zeros((frames, 0)), np.zeros((frames, 0), bool))
            image = plots.binaural_cues_image(audio[i], truth.audio[i], *direction, fps=fps, sample_rate=sample_rate)
            plt.imsave(str(directory / f"clip{i:03d}_{name}.png"), image)

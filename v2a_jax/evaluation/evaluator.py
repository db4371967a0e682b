"""`evaluate_checkpoint`: one generator checkpoint on one dataset split, every row and metric, written to a directory.

Rows (all on the same clips):
  generated         the model;
  flipped           the model on horizontally flipped video, scored against the MIRRORED truth (azimuths negated,
                    ears swapped): a model whose direction follows the picture scores as well as `generated`;
  ground_truth      the reference audio itself: the floor of every distance (0) and the ceiling of the direction
                    and sync measurements; named `recording` on a dataset without ground truth (recordings);
  autoencoder       the codec's reconstruction of the reference: what the generator can reach at best;
  mono_copy, two_stage, random_direction: the baselines of baselines.py, built from the generated audio.
The metrics of each row are those of scores.py; the distribution metrics need an audio embedding (the CLI's
--classifier_workdir), else they are left out and the report says why, as it does for the truth-based metrics
on a dataset without ground truth. Metrics are on the stored audio: a builder's loudness gain (gain_db) is not
undone (the FAIR-Play-scale columns are independent of it; report.json's "audio_level" says so). Directions
are read from ITDs through the dataset's head (spatial/itd_map.dataset_map: calibrated to the head its builder
rendered with, Woodworth's sphere for recordings); report.json's "itd_map" records which.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import ml_collections
import numpy as np
from etils import epath

from v2a_jax.classifier.embedding import AudioEmbedding
from v2a_jax.evaluation import baselines, localiser, report, runner, scores
from v2a_jax.inference.generate import load_generator
from v2a_jax.spatial import itd_map

NO_EMBEDDING = "no classifier given (--classifier_workdir): FD/KL/IS omitted"
TOO_FEW_CLIPS = "fewer than 2 clips: FD/KL/IS omitted (a Frechet distance needs covariances)"


def run_label(config: ml_collections.ConfigDict) -> dict[str, object]:
    """The ablation axes of a generator config: layout, spacetime, spatialisation, aligned_rope."""
    model = config.model
    return {
        "layout": model.layout,
        "spacetime": bool(model.spacetime),
        "spatialisation": bool(model.spatialisation.enabled),
        "aligned_rope": bool(model.aligned_rope),
    }


def label_text(label: dict[str, object]) -> str:
    """'dual+spacetime+aligned_rope' style: the layout and the switched-on options."""
    return "+".join([str(label["layout"])] + [k for k, v in label.items() if v is True])


def score_rows(
    systems: dict[str, tuple[np.ndarray, scores.Truth]],
    *,
    fps: float,
    sample_rate: int,
    head_map: itd_map.ItdMap,
    embedding: AudioEmbedding | None,
    progress: Callable[[str], None],
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """({row: metrics}, {metric group: why it is left out}) of the rows {name: (audio [B, 2, N], scores.Truth)},
    all on the same B clips (scores.score; `progress(name)` after each). Left out: the truth-based groups the truth
    cannot score, and FD/KL/IS without an embedding or with fewer than 2 clips."""
    truth = next(iter(systems.values()))[1]
    omitted = scores.omitted_without_truth(truth)
    if embedding is None:
        omitted["distribution"] = NO_EMBEDDING
    elif truth.audio.shape[0] < 2:
        omitted["distribution"], embedding = TOO_FEW_CLIPS, None
    rows = {}
    for name, (audio, row_truth) in systems.items():
        rows[name] = scores.score(
            audio, row_truth, fps=fps, sample_rate=sample_rate, itd_map=head_map, embedding=embedding
        )
        progress(name)
    return rows, omitted


def evaluate_checkpoint(
    workdir: epath.PathLike,
    out_dir: epath.PathLike,
    settings: runner.Settings,
    *,
    num_wavs: int = 4,
    embedding: AudioEmbedding | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    """Evaluates the checkpoint of `settings` in `workdir`, writes out_dir/report.{json,md}, wav/ and png/
    (report.py) and returns the report: {"workdir", "step", "params", "settings", "label", "num_clips", "rows":
    {row: {metric: value}}, "omitted", "localiser": {"azimuth_error_deg", "frames"} (the two-stage baseline's
    visual localiser against the true azimuth of frames with one visible sounding source), "batches_generated",
    "batches_cached", "seconds"}.
    Raises FileNotFoundError naming a missing run config or checkpoint."""
    start = time.monotonic()
    out_dir = epath.Path(out_dir)
    run = load_generator(workdir, settings.step, use_ema=settings.ema)
    clips = runner.generate(run, settings, out_dir / "cache", progress)
    fps, rate = run.task.seq.video_fps, run.task.seq.sample_rate
    stored = clips.truth
    truth = scores.Truth.from_features(stored)
    generated = clips.rows["generated"]
    systems = {"generated": (generated, truth)}
    if "flipped" in clips.rows:
        systems["flipped"] = (clips.rows["flipped"], truth.mirrored())
    systems.update(
        {
            report.reference_row(truth): (truth.audio, truth),
            "autoencoder": (clips.rows["autoencoder"], truth),
            "mono_copy": (baselines.mono_copy(generated), truth),
            "two_stage": (baselines.two_stage(generated, clips.localised_azimuth_deg, fps, rate), truth),
            "random_direction": (baselines.random_direction(generated, clips.clip_index, settings.seed, rate), truth),
        }
    )
    # The dataset's head (the one its builder rendered with), or Woodworth's sphere for recordings.
    head_map = itd_map.dataset_map(clips.clip.hrtf, rate)
    rows, omitted = score_rows(
        systems,
        fps=fps,
        sample_rate=rate,
        head_map=head_map,
        embedding=embedding,
        progress=lambda name: progress(f"{run.workdir}: scored {name}, {time.monotonic() - start:.1f} s"),
    )
    if "flipped" not in clips.rows:
        omitted["flipped"] = "the model reads precomputed features, which cannot be flipped here"
    localiser_error, localiser_frames = float("nan"), 0
    if clips.clip.has_truth(("relative_azimuth_deg", "visible", "sounding")):
        localiser_error, localiser_frames = localiser.azimuth_error(
            clips.localised_azimuth_deg, stored["relative_azimuth_deg"], stored["visible"], stored["sounding"]
        )
    else:
        omitted["localiser"] = report.NO_LOCALISER_TRUTH
    label = run_label(run.config)
    result = {
        "workdir": str(run.workdir),
        "step": run.step,
        "params": "ema" if settings.ema else "params",
        "settings": dataclasses.asdict(settings),
        "label": label,
        "label_text": label_text(label),
        "num_clips": int(generated.shape[0]),
        "rows": rows,
        "omitted": omitted,
        "localiser": {"azimuth_error_deg": localiser_error, "frames": localiser_frames},
        "batches_generated": clips.batches_generated,
        "batches_cached": clips.batches_cached,
        "audio_level": report.audio_level(stored.get("gain_db")),
        "itd_map": head_map.to_dict(),
    }
    report.write_wavs(out_dir / "wav", {k: a for k, (a, _) in systems.items()}, num_wavs, rate)
    report.write_cue_plots(
        out_dir / "png",
        {k: v for k, v in systems.items() if k in ("generated", "flipped")},
        num_wavs,
        fps=fps,
        sample_rate=rate,
    )
    result["seconds"] = time.monotonic() - start
    report.write_json(out_dir / "report.json", result)
    title = (
        f"# {run.workdir} step {run.step} ({result['params']}), {settings.split} split, "
        f"{result['num_clips']} clips\n\n{settings.sampler.method} {settings.sampler.num_steps} steps, "
        f"cfg {settings.sampler.cfg_strength} at flow times {list(settings.sampler.guidance_interval)}, "
        f"shift {settings.sampler.shift:g}; model {result['label_text']}; "
        f"two-stage localiser azimuth error "
        f"{report.format_value(localiser_error)} deg over {localiser_frames} frames\n\n"
    )
    noted = {**omitted, "audio level": result["audio_level"], "ITD-to-angle map": head_map.name}
    notes = "".join(f"\n- {k}: {v}" for k, v in noted.items())
    (out_dir / "report.md").write_text(title + report.markdown_table(rows) + notes + ("\n" if notes else ""))
    return result

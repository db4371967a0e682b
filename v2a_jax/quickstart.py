r"""The README's main job: the whole pipeline on the embedded default benchmark, resumable.

    python -m v2a_jax.quickstart --workdir=runs/quickstart

Stages (each resumes from what is already in the workdir, so a rerun picks up where it stopped):
  1. data        build `binaural_synth/small` (1,000 two-second training clips) and print its summary;
  2. autoencoder train the binaural autoencoder (experiments/autoencoder.py:cpu, --ae_steps steps) and export its
                 latent statistics;
  3. generator   train the tiny ViSAudio generator on it (experiments/generator.py:visaudio-tiny,
                 --generator_steps steps);
  4. evaluate    generate for the first --eval_clips test clips and score every row (v2a_jax.evaluate);
  5. samples     write --num_samples test clips as silent mp4 videos and give them binaural sound
                 (v2a_jax.sample) in WORKDIR/samples.
The step counts are sized for a 2-core CPU (about half an hour in all); the full configs train longer
(their docstrings give the commands and expected results).
"""

from __future__ import annotations

import json
import logging as std_logging
import os
import time

from absl import app, flags, logging
from etils import epath

from data.binaural_synth import prepare as synth_prepare
from experiments import autoencoder as autoencoder_config
from experiments import generator as generator_config
from v2a_jax import sample
from v2a_jax.autoencoder import latents
from v2a_jax.evaluation import checkpoint, runner
from v2a_jax.generator import inference
from v2a_jax.pipeline import loader
from v2a_jax.train import trainer
from v2a_jax.video import io

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart", "Where every stage writes its outputs.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Processes used to render the benchmark.")
_AE_STEPS = flags.DEFINE_integer("ae_steps", 800, "Autoencoder training steps.")
_GENERATOR_STEPS = flags.DEFINE_integer("generator_steps", 400, "Generator training steps.")
_EVAL_CLIPS = flags.DEFINE_integer("eval_clips", 32, "Test clips evaluated (0: the whole split).")
_EVAL_STEPS = flags.DEFINE_integer("eval_sampler_steps", 25, "Euler steps of the evaluation and the samples.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 4, "Test clips written as videos with generated sound.")

HEADLINE_ROWS = ("ground_truth", "autoencoder", "generated", "flipped", "mono_copy", "two_stage", "random_direction")
HEADLINE_METRICS = ("left_right_agreement", "direction_error_deg", "delta_itd_us", "delta_ild_db", "stft")


def _stage(index: int, name: str, detail: str) -> float:
    print(f"[{index}/5] {name}: {detail}", flush=True)
    return time.perf_counter()


def train_autoencoder(data_dir: str, workdir: epath.Path, steps: int) -> None:
    config = autoencoder_config.get_config("cpu")
    config.data.data_dir = data_dir
    config.num_train_steps = steps
    config.eval_every_steps = config.checkpoint_every_steps = min(500, steps)
    trainer.train_and_evaluate(config, workdir)
    stats_file = workdir / latents.STATS_FILE
    if not stats_file.exists() or json.loads(stats_file.read_text())["step"] != steps:
        latents.export_latent_stats(config, os.fspath(workdir), step=steps)


def train_generator(data_dir: str, codec_dir: epath.Path, workdir: epath.Path, steps: int) -> None:
    config = generator_config.get_config("visaudio-tiny")
    config.data.data_dir = data_dir
    config.codec.kwargs.workdir = os.fspath(codec_dir.absolute())
    config.num_train_steps = steps
    config.optimizer.warmup_steps = min(config.optimizer.warmup_steps, steps // 10)
    config.eval_every_steps = config.checkpoint_every_steps = min(200, steps)
    config.summary_every_steps = steps
    trainer.train_and_evaluate(config, workdir)


def write_sample_inputs(data_dir: str, out_dir: epath.Path, count: int) -> list[sample.Job]:
    """The first `count` test clips as silent mp4 videos in out_dir/videos, and their sampling jobs."""
    source, clip = loader.open_split(data_dir, "binaural_synth/small", "test")
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(min(count, len(source))):
        video = out_dir / "videos" / f"test{i:03d}.mp4"
        if not video.exists():
            io.write_frames(video, source[i]["video"], clip.fps)
        jobs.append(sample.Job(os.fspath(video), os.fspath(out_dir / f"test{i:03d}.mp4")))
    return jobs


def _headline(report: dict) -> str:
    lines = [f"{'row':17s}" + "".join(f"{m:>26s}" for m in HEADLINE_METRICS)]
    for row in HEADLINE_ROWS:
        values = report["rows"].get(row, {})
        cells = [values.get(m) for m in HEADLINE_METRICS]
        lines.append(f"{row:17s}" + "".join(f"{'n/a':>26s}" if v is None else f"{v:26.3f}" for v in cells))
    return "\n".join(lines)


def run(workdir: str, num_workers: int = 2, ae_steps: int = 800, generator_steps: int = 400,
        eval_clips: int = 32, eval_sampler_steps: int = 25, num_samples: int = 4) -> dict:
    """Runs every stage into `workdir`; returns the evaluation report (report.json's content)."""
    root = epath.Path(workdir).absolute()
    start = time.perf_counter()
    t = _stage(1, "benchmark binaural_synth/small", os.fspath(root / "data"))
    builder, _ = synth_prepare.build("small", os.fspath(root / "data"), num_workers)
    data_dir = os.fspath(root / "data")
    print(synth_prepare.summarize(builder))
    print(f"      ready in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(2, "autoencoder", f"{ae_steps} steps -> {root / 'autoencoder'}")
    train_autoencoder(data_dir, root / "autoencoder", ae_steps)
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(3, "generator (visaudio-tiny)", f"{generator_steps} steps -> {root / 'generator'}")
    train_generator(data_dir, root / "autoencoder", root / "generator", generator_steps)
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(4, "evaluate", f"{eval_clips or 'all'} test clips -> {root / 'eval'}")
    settings = runner.Settings(split="test", num_steps=eval_sampler_steps, max_clips=eval_clips)
    report = checkpoint.evaluate_checkpoint(root / "generator", root / "eval", settings,
                                            progress=lambda line: print(f"      {line}", flush=True))
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(5, "samples", f"{num_samples} test videos with generated binaural sound -> {root / 'samples'}")
    gen = inference.load_generator(root / "generator")
    jobs = [j for j in write_sample_inputs(data_dir, root / "samples", num_samples) if not os.path.exists(j.out)]
    if jobs:
        result = sample.run(gen, jobs, inference.SamplingOptions(num_steps=eval_sampler_steps),
                            log=lambda line: print(f"      {line}", flush=True))
        if result.failed:
            raise RuntimeError(f"samples: {len(result.failed)} videos failed: {result.failed}")
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    print(f"\nHeadline ({report['num_clips']} test clips, step {report['step']}; left/right agreement and "
          f"lateral-angle error in degrees from the ITD, delta ITD in us, delta ILD in dB, STFT distance; "
          f"eval/report.md has every metric):")
    print(_headline(report))
    print(f"\ndone in {time.perf_counter() - start:.1f} s. Results under {root}:")
    print(f"  eval/report.md, eval/report.json, eval/png/, eval/wav/   samples/*.mp4   "
          f"tensorboard --logdir={root}")
    return report


class _ProgressAndWarnings(std_logging.Filter):
    """Keeps the trainer's progress lines (steps/s, ETA) and warnings; drops the per-step library chatter."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or record.filename == "progress.py"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.get_absl_handler().addFilter(_ProgressAndWarnings())
    run(_WORKDIR.value, _NUM_WORKERS.value, _AE_STEPS.value, _GENERATOR_STEPS.value, _EVAL_CLIPS.value,
        _EVAL_STEPS.value, _NUM_SAMPLES.value)


if __name__ == "__main__":
    app.run(main)

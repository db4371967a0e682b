r"""The README's main job: the whole pipeline on the embedded default benchmark, resumable.

    python -m v2a_jax.quickstart --workdir=runs/quickstart
    python -m v2a_jax.quickstart --workdir=runs/quickstart_fairplay --dataset=NAME --data_dir=DIR   # your data

Stages (each resumes from what is already in the workdir, so a rerun picks up where it stopped):
  1. data        build `binaural_synth/small` (1,000 two-second training clips) and print its summary, or, with
                 --dataset, check the given prepared dataset (e.g. recorded binaural video: no ground truth
                 needed; its clips must be at 25 fps and 16 kHz, visaudio-tiny's streams, and at least 1.92 s
                 long, the autoencoder's validation crop);
  2. autoencoder train the binaural autoencoder (experiments/autoencoder.py:cpu, --ae_steps steps) and export its
                 latent statistics;
  3. generator   train the tiny ViSAudio generator on it (experiments/generator.py:visaudio-tiny,
                 --generator_steps steps);
  4. evaluate    generate for the first --eval_clips test clips and score every row (v2a_jax.evaluate);
  5. samples     write --num_samples test clips as silent mp4 videos and give them binaural sound
                 (v2a_jax.sample) in WORKDIR/samples.
The step counts are sized for a 2-core CPU (its time and headline: experiments/RESULTS.md, "Project operations");
the full configs train longer (their docstrings give the commands). On a dataset without ground-truth source
positions the tuned encoder's localisation supervision takes its targets from the recordings' own interaural cues
(v2a_jax/spatial/audio_targets.py, said when it starts) and the headline shows the direction against the
recording instead of against the truth.
"""

from __future__ import annotations

import json
import logging as std_logging
import os
import time

import ml_collections
from absl import app, flags, logging
from etils import epath

from data.binaural_synth import prepare as synth_prepare
from experiments import autoencoder as autoencoder_config
from experiments import generator as generator_config
from v2a_jax import cli, sample
from v2a_jax.autoencoder import codec, latent_stats
from v2a_jax.evaluation import evaluator, runner
from v2a_jax.generator import task as generator_task
from v2a_jax.inference import generate
from v2a_jax.input_pipeline import loader
from v2a_jax.train import trainer
from v2a_jax.video import io

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart", "Where every stage writes its outputs.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Processes used to render the benchmark.")
_AE_STEPS = flags.DEFINE_integer("ae_steps", 800, "Autoencoder training steps.")
_GENERATOR_STEPS = flags.DEFINE_integer("generator_steps", 2400, "Generator training steps.")
_EVAL_CLIPS = flags.DEFINE_integer("eval_clips", 32, "Test clips evaluated (0: the whole split).")
_EVAL_STEPS = flags.DEFINE_integer("eval_sampler_steps", 25, "Euler steps of the evaluation and the samples.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 4, "Test clips written as videos with generated sound.")
_DATASET = flags.DEFINE_string(
    "dataset",
    "",
    "A prepared TFDS dataset ('name/config') to use instead of building "
    "the benchmark (splits train, validation, test).",
)
_DATA_DIR = flags.DEFINE_string("data_dir", "", "Where --dataset was built (default: WORKDIR/data).")

BENCHMARK = "binaural_synth/small"
HEADLINE_ROWS = (
    "ground_truth",
    "recording",
    "autoencoder",
    "generated",
    "flipped",
    "mono_copy",
    "two_stage",
    "random_direction",
)
HEADLINE_METRICS = (
    "left_right_agreement",
    "direction_error_deg",
    "delta_itd_us",
    "delta_ild_db",
    "cue_agreement",
    "stft",
)
# Without ground truth: the direction against the recording's, and the STFT distance on the FAIR-Play scale.
HEADLINE_METRICS_WITHOUT_TRUTH = (
    "ref_left_right_agreement",
    "ref_direction_diff_deg",
    "delta_itd_us",
    "delta_ild_db",
    "cue_agreement",
    "stft_peak_norm",
)


def _stage(index: int, name: str, detail: str) -> float:
    print(f"[{index}/5] {name}: {detail}", flush=True)
    return time.perf_counter()


def train_autoencoder(data_dir: str, name: str, workdir: epath.Path, steps: int) -> None:
    config = autoencoder_config.get_config("cpu")
    config.data.data_dir, config.data.name = data_dir, name
    config.num_train_steps = steps
    config.eval_every_steps = config.checkpoint_every_steps = min(500, steps)
    trainer.train_and_evaluate(config, workdir)
    stats_file = workdir / codec.STATS_FILE
    if not stats_file.exists() or json.loads(stats_file.read_text())["step"] != steps:
        latent_stats.export_latent_stats(config, os.fspath(workdir), step=steps)


def generator_config_for(data_dir: str, name: str) -> ml_collections.ConfigDict:
    """visaudio-tiny on the dataset; on one without source positions its localisation supervision takes its
    targets from the recordings' own interaural cues (config.data.localisation_targets 'auto')."""
    config = generator_config.get_config("visaudio-tiny")
    config.data.data_dir, config.data.name = data_dir, name
    _, clip = loader.open_split(data_dir, name, config.data.train_split)
    if not clip.has_truth(generator_task.LOCALISATION_KEYS):
        print(
            f"      {name} has no ground-truth source positions: the localisation supervision takes its targets "
            f"from the recordings' interaural cues",
            flush=True,
        )
    return config


def train_generator(data_dir: str, name: str, codec_dir: epath.Path, workdir: epath.Path, steps: int) -> None:
    config = generator_config_for(data_dir, name)
    config.codec.kwargs.workdir = os.fspath(codec_dir.absolute())
    config.num_train_steps = steps
    config.optimizer.warmup_steps = min(config.optimizer.warmup_steps, steps // 10)
    config.eval_every_steps = config.checkpoint_every_steps = min(200, steps)
    config.summary_every_steps = steps
    trainer.train_and_evaluate(config, workdir)


def write_sample_inputs(data_dir: str, name: str, out_dir: epath.Path, count: int) -> list[sample.Job]:
    """The first `count` test clips as silent mp4 videos in out_dir/videos, and their sampling jobs."""
    source, clip = loader.open_split(data_dir, name, "test")
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(min(count, len(source))):
        video = out_dir / "videos" / f"test{i:03d}.mp4"
        if not video.exists():
            io.write_frames(video, source[i]["video"], clip.fps)
        jobs.append(sample.Job(os.fspath(video), os.fspath(out_dir / f"test{i:03d}.mp4")))
    return jobs


def headline(result: dict) -> str:
    """The quickstart's summary table of an evaluation report: the metrics of HEADLINE_METRICS, or of
    HEADLINE_METRICS_WITHOUT_TRUTH on a dataset without ground truth, for the HEADLINE_ROWS it has."""
    with_truth = "recording" not in result["rows"]
    metrics = HEADLINE_METRICS if with_truth else HEADLINE_METRICS_WITHOUT_TRUTH
    lines = [f"{'row':17s}" + "".join(f"{m:>26s}" for m in metrics)]
    for row in (r for r in HEADLINE_ROWS if r in result["rows"]):
        cells = [result["rows"][row].get(m) for m in metrics]
        lines.append(f"{row:17s}" + "".join(f"{'n/a':>26s}" if v is None else f"{v:26.3f}" for v in cells))
    return "\n".join(lines)


def describe_dataset(data_dir: str, name: str) -> str:
    """One line per split of a prepared dataset: clips and whether it has ground truth."""
    lines = []
    for split in ("train", "validation", "test"):
        source, clip = loader.open_split(data_dir, name, split)
        truth = f"ground truth {', '.join(clip.truth)}" if clip.truth else "no ground truth"
        lines.append(
            f"      {split}: {len(source)} clips of {clip.duration_s:g} s ({clip.fps:g} fps, "
            f"{clip.sample_rate} Hz), {truth}"
        )
    return "\n".join(lines)


def run(
    workdir: str,
    num_workers: int = 2,
    ae_steps: int = 800,
    generator_steps: int = 2400,
    eval_clips: int = 32,
    eval_sampler_steps: int = 25,
    num_samples: int = 4,
    dataset: str = "",
    data_dir: str = "",
) -> dict:
    """Runs every stage into `workdir` (on `dataset` in `data_dir` if given, else on the benchmark it builds);
    returns the evaluation report (report.json's content)."""
    root = epath.Path(workdir).absolute()
    start = time.perf_counter()
    name, data_dir = dataset or BENCHMARK, data_dir or os.fspath(root / "data")
    if dataset:
        t = _stage(1, f"dataset {name}", data_dir)
        print(describe_dataset(data_dir, name))
    else:
        t = _stage(1, f"benchmark {BENCHMARK}", data_dir)
        builder, _ = synth_prepare.build("small", data_dir, num_workers)
        print(synth_prepare.summarize(builder))
    print(f"      ready in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(2, "autoencoder", f"{ae_steps} steps -> {root / 'autoencoder'}")
    train_autoencoder(data_dir, name, root / "autoencoder", ae_steps)
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(3, "generator (visaudio-tiny)", f"{generator_steps} steps -> {root / 'generator'}")
    train_generator(data_dir, name, root / "autoencoder", root / "generator", generator_steps)
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(4, "evaluate", f"{eval_clips or 'all'} test clips -> {root / 'eval'}")
    settings = runner.Settings(
        split="test", sampler=runner.DEFAULT_SAMPLER.replace(num_steps=eval_sampler_steps), max_clips=eval_clips
    )
    report = evaluator.evaluate_checkpoint(
        root / "generator", root / "eval", settings, progress=lambda line: print(f"      {line}", flush=True)
    )
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    t = _stage(5, "samples", f"{num_samples} test videos with generated binaural sound -> {root / 'samples'}")
    gen = generate.load_generator(root / "generator")
    jobs = [j for j in write_sample_inputs(data_dir, name, root / "samples", num_samples) if not os.path.exists(j.out)]
    if jobs:
        written = sample.run(
            gen,
            jobs,
            generate.SamplingOptions(sampler=gen.sampler.replace(num_steps=eval_sampler_steps)),
            log=lambda line: print(f"      {line}", flush=True),
        )
        if written.failed:
            raise RuntimeError(f"samples: {len(written.failed)} videos failed: {written.failed}")
    print(f"      done in {time.perf_counter() - t:.1f} s", flush=True)

    against = "the truth" if "recording" not in report["rows"] else "the recording's (no ground truth)"
    print(
        f"\nHeadline ({report['num_clips']} test clips, step {report['step']}; left/right agreement and "
        f"lateral angle in degrees from the ITD against {against}, delta ITD in us, delta ILD in dB, STFT "
        f"distance; eval/report.md has every metric):"
    )
    print(headline(report))
    print(f"\ndone in {time.perf_counter() - start:.1f} s. Results under {root}:")
    print(f"  eval/report.md, eval/report.json, eval/png/, eval/wav/   samples/*.mp4   tensorboard --logdir={root}")
    return report


class _ProgressAndWarnings(std_logging.Filter):
    """Keeps the trainer's progress lines (steps/s, ETA) and warnings; drops the per-step library chatter."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or record.filename == "progress.py"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.get_absl_handler().addFilter(_ProgressAndWarnings())
    run(
        _WORKDIR.value,
        _NUM_WORKERS.value,
        _AE_STEPS.value,
        _GENERATOR_STEPS.value,
        _EVAL_CLIPS.value,
        _EVAL_STEPS.value,
        _NUM_SAMPLES.value,
        _DATASET.value,
        _DATA_DIR.value,
    )


if __name__ == "__main__":
    cli.run(main)

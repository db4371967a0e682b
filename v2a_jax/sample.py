r"""Binaural audio for real video files from a trained generator.

    python -m v2a_jax.sample --workdir=runs/gen_visaudio_tiny --video=IN.mp4 --out=OUT.mp4
    python -m v2a_jax.sample --checkpoint=runs/gen_visaudio_tiny/checkpoints/4000 --video_dir=clips/ --out_dir=out/

The run's config is read from the workdir (config.json); the training data is not needed. Each video (any
container and codec FFmpeg reads) is brought to the model's frame rate and frame size, covered by windows of the
trained duration (crossfaded identically on both ears), and generated in batches on the config's device mesh.
OUT.mp4 holds the input's video stream copied as is (its own audio dropped) and the generated audio as AAC
stereo at the config's sample rate; an output ending in .wav is a WAV file only, and --wav writes a WAV next to
each .mp4. With --num_variants=K > 1 the outputs are OUT_v0.mp4 ... OUT_v{K-1}.mp4. Existing outputs are kept
unless --overwrite. In folder mode every file of --video_dir (not hidden, not a folder) is an input and
--out_dir/NAME.mp4 its output.

Every input that fails (missing, not a video, no frames, corrupt, shorter than --min_duration_s, unwritable
output) is reported in one line, the others are still written, and the exit status is 1 with a summary of the
failures; a workdir or checkpoint that cannot be loaded is one line and exit status 2 (v2a_jax.cli).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from v2a_jax import cli


def parse_args(argv: list[str]) -> argparse.Namespace:
    from v2a_jax.generator import samplers  # jax: imported once the command runs, not at module import

    p = argparse.ArgumentParser(prog="python -m v2a_jax.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", help="Training workdir (its newest checkpoint).")
    p.add_argument("--checkpoint", help="A checkpoint directory WORKDIR/checkpoints/STEP instead of --workdir.")
    p.add_argument("--video", help="Input video file (with --out).")
    p.add_argument("--out", help="Output for --video: .mp4 (or another video container), or .wav for audio only.")
    p.add_argument("--video_dir", help="Folder of input videos (with --out_dir).")
    p.add_argument("--out_dir", help="Output folder for --video_dir.")
    p.add_argument("--caption", default="", help="Caption text (used when the model has text conditioning).")
    p.add_argument("--cfg_strength", type=float, help="Classifier-free guidance strength (default: the config's).")
    p.add_argument("--num_steps", type=int, help="Sampler steps (default: the config's).")
    p.add_argument("--method", choices=samplers.METHODS, help="Sampler (default: the config's).")
    p.add_argument("--shift", type=float, help="Sampler time-grid shift, >= 1 (default: the config's).")
    p.add_argument("--seed", type=int, default=0, help="Noise seed.")
    p.add_argument("--num_variants", type=int, default=1, help="Independent samples per video (OUT_v0, ...).")
    p.add_argument("--overlap_s", type=float,
                   help="Overlap of neighbouring generation windows in seconds (default: a quarter of a window).")
    p.add_argument("--fade", choices=("equal_power", "linear"), default="equal_power",
                   help="Crossfade of window overlaps.")
    p.add_argument("--batch_size", type=int, help="Windows per generation call (default: the config's batch).")
    p.add_argument("--wav", action="store_true", help="Also write a WAV next to each video output.")
    p.add_argument("--wav_subtype", choices=("PCM_16", "FLOAT"), default="PCM_16", help="WAV sample format.")
    p.add_argument("--raw_params", action="store_true", help="Sample with the raw params instead of the EMA.")
    p.add_argument("--overwrite", action="store_true", help="Replace existing outputs.")
    p.add_argument("--min_duration_s", type=float,
                   help="Refuse videos shorter than this (default: a quarter of the trained window).")
    args = p.parse_args(argv)
    for name in ("num_variants", "num_steps", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    for name in ("overlap_s", "min_duration_s"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            p.error(f"--{name} must be >= 0")
    if (args.workdir is None) == (args.checkpoint is None):
        p.error("give exactly one of --workdir and --checkpoint")
    if (args.video is None) == (args.video_dir is None):
        p.error("give exactly one of --video (with --out) and --video_dir (with --out_dir)")
    if (args.video is not None and not args.out) or (args.video_dir is not None and not args.out_dir):
        p.error("--video needs --out, --video_dir needs --out_dir")
    return args


@dataclasses.dataclass(frozen=True)
class Job:
    """One input video and the output path it names (before variant suffixes)."""

    video: str
    out: str


@dataclasses.dataclass
class Report:
    written: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (input, one-line reason)


def folder_jobs(video_dir: str, out_dir: str) -> list[Job]:
    """A job per regular, non-hidden file of `video_dir` (sorted), writing out_dir/STEM.mp4."""
    names = sorted(n for n in os.listdir(video_dir) if not n.startswith(".")
                   and not os.path.isdir(os.path.join(video_dir, n)))
    return [Job(os.path.join(video_dir, n), os.path.join(out_dir, os.path.splitext(n)[0] + ".mp4")) for n in names]


def output_paths(out: str, num_variants: int, wav: bool) -> list[list[str]]:
    """Per variant, the files to write: OUT (OUT_vK with variants) and its .wav when `wav` (a .wav OUT: only it)."""
    root, ext = os.path.splitext(out)
    paths = []
    for k in range(num_variants):
        base = root if num_variants == 1 else f"{root}_v{k}"
        files = [base + ext]
        if wav and ext.lower() != ".wav":
            files.append(base + ".wav")
        paths.append(files)
    return paths


def _output_problem(files: list[str], overwrite: bool) -> str | None:
    """Why `files` cannot be written (one line), creating their folders; None when they can."""
    for path in files:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path) and not overwrite:
            return f"{path}: exists (pass --overwrite to replace it)"
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            return f"{folder}: cannot create the output folder ({e.strerror})"
        if not os.access(folder, os.W_OK):
            return f"{folder}: output folder is not writable"
    return None


def run(gen, jobs: list[Job], options, *, caption: str = "", wav: bool = False, wav_subtype: str = "PCM_16",
        overwrite: bool = False, min_duration_s: float | None = None, log=print) -> Report:
    """Generates and writes every job's outputs with the LoadedGenerator `gen` and inference.SamplingOptions;
    videos shorter than `min_duration_s` (default: a quarter of the trained window) are refused; failures are
    logged in one line each and collected in the report, never raised."""
    from v2a_jax.generator import inference
    from v2a_jax.video import io

    window_s = gen.window_frames / gen.fps
    minimum = window_s / 4 if min_duration_s is None else min_duration_s
    report = Report()
    ready: list[tuple[Job, list[list[str]], object]] = []
    claimed: dict[str, str] = {}  # output path -> the input writing it (a.mp4 and a.mov both name out/a.mp4)
    for job in jobs:
        outputs = output_paths(job.out, options.num_variants, wav)
        files = [os.path.abspath(p) for variant in outputs for p in variant]
        # The input's own problem first: an unreadable video claims no output name.
        try:
            video = io.read_video(job.video, gen.frame_size)
            problem = None
        except io.VideoError as e:
            problem = str(e)
        if problem is None and video.duration_s < minimum:
            problem = (f"{job.video}: {video.duration_s:.2f} s long, shorter than the minimum {minimum:g} s "
                       f"(--min_duration_s; default a quarter of the {window_s:g} s window the model was trained on)")
        taken = next((p for p in files if p in claimed), None)
        if problem is None and taken is not None:
            problem = f"{job.video}: its output {taken} is also the output of {claimed[taken]}"
        problem = problem or _output_problem(files, overwrite)
        if problem is None:
            claimed.update((p, job.video) for p in files)
            frames = io.conform(video.frames, video.times, video.duration_s, gen.fps)
            ready.append((job, outputs, inference.Clip(frames, gen.fps, caption)))
            continue
        log(f"error: {problem}")
        report.failed.append((job.video, problem))
    if not ready:
        return report

    start = time.perf_counter()
    batch_ends: list[float] = []

    def progress(done: int, total: int) -> None:
        batch_ends.append(time.perf_counter() - start)
        log(f"generating: batch {done}/{total} ({batch_ends[-1]:.1f} s)")

    try:
        audios = inference.generate_clips(gen, [clip for _, _, clip in ready], options, progress)
    except ValueError as e:  # options the model cannot take (e.g. an overlap beyond half a window)
        log(f"error: {e}")
        report.failed.extend((job.video, f"not generated: {e}") for job, _, _ in ready)
        return report
    elapsed = time.perf_counter() - start
    seconds = sum(a.shape[0] * a.shape[-1] for a in audios) / gen.sample_rate
    log(f"generated {seconds:.1f} s of binaural audio in {elapsed:.1f} s: {seconds / elapsed:.2f} s of audio per "
        f"second (the first batch, {batch_ends[0]:.1f} s, includes compiling a new sampler)")

    for (job, outputs, _), audio in zip(ready, audios):
        try:
            for files, variant in zip(outputs, audio):
                for path in files:
                    if path.lower().endswith(".wav"):
                        io.write_wav(path, variant, gen.sample_rate, wav_subtype)
                    else:
                        io.write_video_with_audio(job.video, path, variant, gen.sample_rate)
                    report.written.append(path)
        except io.VideoError as e:
            log(f"error: {e}")
            report.failed.append((job.video, str(e)))
    return report


def main(argv: list[str]) -> int:
    """The command line of the module docstring; returns the exit status (cli.guard gives a UserError's)."""
    args = parse_args(argv)
    # Imported here so that --help and usage errors do not wait for JAX.
    from v2a_jax.generator import inference

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.video_dir is not None:
        if not os.path.isdir(args.video_dir):
            kind = "is a file, not a folder" if os.path.exists(args.video_dir) else "no such folder"
            raise cli.NotFoundError(f"--video_dir={args.video_dir}: {kind}")
        jobs = folder_jobs(args.video_dir, args.out_dir)
    else:
        jobs = [Job(args.video, args.out)]
    if args.checkpoint is not None:
        workdir, step = inference.split_checkpoint_path(args.checkpoint)
    else:
        workdir, step = args.workdir, None
    gen = inference.load_generator(workdir, step, use_ema=not args.raw_params)
    log(f"loaded {gen.workdir} step {gen.step} ({'raw' if args.raw_params else 'EMA'} params): "
        f"{gen.window_frames / gen.fps:g} s windows at {gen.fps:g} fps, {gen.frame_size}x{gen.frame_size} frames, "
        f"{gen.sample_rate} Hz")
    options = inference.SamplingOptions(num_steps=args.num_steps, method=args.method, cfg_strength=args.cfg_strength,
                                        shift=args.shift,
                                        seed=args.seed, num_variants=args.num_variants, overlap_s=args.overlap_s,
                                        fade=args.fade, batch_size=args.batch_size)
    report = run(gen, jobs, options, caption=args.caption, wav=args.wav, wav_subtype=args.wav_subtype,
                 overwrite=args.overwrite, min_duration_s=args.min_duration_s, log=log)
    for path in report.written:
        print(f"wrote {path}")
    if report.failed:
        log(f"{len(report.failed)} of {len(jobs)} inputs failed:")
        for video, reason in report.failed:
            log(f"  {reason}" if reason.startswith(video) else f"  {video}: {reason}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.guard(main)(sys.argv[1:]))

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
failures; a flag mistake, or a workdir or checkpoint that cannot be loaded, is one line and exit status 2
(v2a_jax.cli).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time

from absl import flags

from v2a_jax import cli


@functools.cache
def define_flags(fv: flags.FlagValues = flags.FLAGS) -> flags.FlagValues:
    """Defines this CLI's flags and their checks in `fv` (once; see evaluation/cli_flags.py for why not at import)
    and returns it. Tests pass a FlagValues of their own: evaluate's --workdir, --num_steps, ... are defined in the
    same test process."""
    from v2a_jax.generator import samplers  # jax: imported once the command runs, not at module import
    from v2a_jax.inference import windows

    flags.DEFINE_string("workdir", None, "Training workdir (its newest checkpoint).", flag_values=fv)
    flags.DEFINE_string(
        "checkpoint", None, "A checkpoint directory WORKDIR/checkpoints/STEP instead of --workdir.", flag_values=fv
    )
    flags.DEFINE_string("video", None, "Input video file (with --out).", flag_values=fv)
    flags.DEFINE_string(
        "out", None, "Output for --video: .mp4 (or another video container), or .wav for audio only.", flag_values=fv
    )
    flags.DEFINE_string("video_dir", None, "Folder of input videos (with --out_dir).", flag_values=fv)
    flags.DEFINE_string("out_dir", None, "Output folder for --video_dir.", flag_values=fv)
    flags.DEFINE_string("caption", "", "Caption text (used when the model has text conditioning).", flag_values=fv)
    flags.DEFINE_float(
        "cfg_strength", None, "Classifier-free guidance strength (default: the config's).", flag_values=fv
    )
    flags.DEFINE_integer("num_steps", None, "Sampler steps (default: the config's).", lower_bound=1, flag_values=fv)
    flags.DEFINE_enum("method", None, list(samplers.METHODS), "Sampler (default: the config's).", flag_values=fv)
    flags.DEFINE_float(
        "shift", None, "Sampler time-grid shift (default: the config's).", lower_bound=1.0, flag_values=fv
    )
    flags.DEFINE_list(
        "guidance_interval", None, "Flow times LO,HI whose steps are guided (default: the config's).", flag_values=fv
    )
    flags.DEFINE_integer("seed", 0, "Noise seed.", flag_values=fv)
    flags.DEFINE_integer(
        "num_variants", 1, "Independent samples per video (OUT_v0, ...).", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_float(
        "overlap_s",
        None,
        "Overlap of neighbouring generation windows in seconds (default: a quarter of a window).",
        lower_bound=0.0,
        flag_values=fv,
    )
    flags.DEFINE_enum("fade", "equal_power", list(windows.FADES), "Crossfade of window overlaps.", flag_values=fv)
    flags.DEFINE_integer(
        "batch_size", None, "Windows per generation call (default: the config's batch).", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_bool("wav", False, "Also write a WAV next to each video output.", flag_values=fv)
    flags.DEFINE_enum("wav_subtype", "PCM_16", ["PCM_16", "FLOAT"], "WAV sample format.", flag_values=fv)
    flags.DEFINE_bool("raw_params", False, "Sample with the raw params instead of the EMA.", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace existing outputs.", flag_values=fv)
    flags.DEFINE_float(
        "min_duration_s",
        None,
        "Refuse videos shorter than this (default: a quarter of the trained window).",
        lower_bound=0.0,
        flag_values=fv,
    )

    def interval_parses(values: list[str]) -> bool:
        try:
            samplers.parse_guidance_interval(values)
        except ValueError:
            return False
        return True

    def check(names: list[str], holds, message: str) -> None:
        flags.register_multi_flags_validator(
            names, lambda values: holds(*(values[n] for n in names)), message, flag_values=fv
        )

    check(
        ["workdir", "checkpoint"],
        lambda workdir, checkpoint: (workdir is None) != (checkpoint is None),
        "give exactly one of --workdir and --checkpoint",
    )
    check(
        ["video", "video_dir"],
        lambda video, video_dir: (video is None) != (video_dir is None),
        "give exactly one of --video (with --out) and --video_dir (with --out_dir)",
    )
    check(["video", "out"], lambda video, out: video is None or bool(out), "--video needs --out")
    check(
        ["guidance_interval"],
        lambda interval: interval is None or interval_parses(interval),
        "--guidance_interval: expected two flow times LO,HI with 0 <= LO < HI <= 1",
    )
    check(
        ["video_dir", "out_dir"],
        lambda video_dir, out_dir: video_dir is None or bool(out_dir),
        "--video_dir needs --out_dir",
    )
    return fv


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
    names = sorted(
        n for n in os.listdir(video_dir) if not n.startswith(".") and not os.path.isdir(os.path.join(video_dir, n))
    )
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


def run(
    gen,
    jobs: list[Job],
    options,
    *,
    caption: str = "",
    wav: bool = False,
    wav_subtype: str = "PCM_16",
    overwrite: bool = False,
    min_duration_s: float | None = None,
    log=print,
) -> Report:
    """Generates and writes every job's outputs with the LoadedGenerator `gen` and generate.SamplingOptions;
    videos shorter than `min_duration_s` (default: a quarter of the trained window) are refused; failures are
    logged in one line each and collected in the report, never raised."""
    from v2a_jax.inference import generate
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
            problem = (
                f"{job.video}: {video.duration_s:.2f} s long, shorter than the minimum {minimum:g} s "
                f"(--min_duration_s; default a quarter of the {window_s:g} s window the model was trained on)"
            )
        taken = next((p for p in files if p in claimed), None)
        if problem is None and taken is not None:
            problem = f"{job.video}: its output {taken} is also the output of {claimed[taken]}"
        problem = problem or _output_problem(files, overwrite)
        if problem is None:
            claimed.update((p, job.video) for p in files)
            frames = io.conform(video.frames, video.times, video.duration_s, gen.fps)
            ready.append((job, outputs, generate.Clip(frames, gen.fps, caption)))
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
        audios = generate.generate_clips(gen, [clip for _, _, clip in ready], options, progress)
    except ValueError as e:  # options the model cannot take (e.g. an overlap beyond half a window)
        log(f"error: {e}")
        report.failed.extend((job.video, f"not generated: {e}") for job, _, _ in ready)
        return report
    elapsed = time.perf_counter() - start
    seconds = sum(a.shape[0] * a.shape[-1] for a in audios) / gen.sample_rate
    log(
        f"generated {seconds:.1f} s of binaural audio in {elapsed:.1f} s: {seconds / elapsed:.2f} s of audio per "
        f"second (the first batch, {batch_ends[0]:.1f} s, includes compiling a new sampler)"
    )

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


def main(argv: list[str], fv: flags.FlagValues = flags.FLAGS) -> int:
    """The command line of the module docstring, its flags parsed into `fv` (define_flags); returns the exit
    status (cli.guard gives a UserError's)."""
    if len(argv) > 1:
        raise cli.UserError(f"unexpected arguments {argv[1:]}: inputs are given by --video or --video_dir")
    args = define_flags(fv)
    # Imported once the flags are checked: the model code takes seconds to import.
    from v2a_jax.generator import samplers
    from v2a_jax.inference import generate
    from v2a_jax.train import checkpointing

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
        workdir, step = checkpointing.split_step_dir(args.checkpoint)
    else:
        workdir, step = args.workdir, None
    gen = generate.load_generator(workdir, step, use_ema=not args.raw_params)
    log(
        f"loaded {gen.workdir} step {gen.step} ({'raw' if args.raw_params else 'EMA'} params): "
        f"{gen.window_frames / gen.fps:g} s windows at {gen.fps:g} fps, {gen.frame_size}x{gen.frame_size} frames, "
        f"{gen.sample_rate} Hz"
    )
    interval = args.guidance_interval
    sampler = gen.sampler.replace(
        method=args.method,
        num_steps=args.num_steps,
        cfg_strength=args.cfg_strength,
        shift=args.shift,
        guidance_interval=None if interval is None else samplers.parse_guidance_interval(interval),
    )
    options = generate.SamplingOptions(
        sampler=sampler,
        seed=args.seed,
        num_variants=args.num_variants,
        overlap_s=args.overlap_s,
        fade=args.fade,
        batch_size=args.batch_size,
    )
    report = run(
        gen,
        jobs,
        options,
        caption=args.caption,
        wav=args.wav,
        wav_subtype=args.wav_subtype,
        overwrite=args.overwrite,
        min_duration_s=args.min_duration_s,
        log=log,
    )
    for path in report.written:
        print(f"wrote {path}")
    if report.failed:
        log(f"{len(report.failed)} of {len(jobs)} inputs failed:")
        for video, reason in report.failed:
            log(f"  {reason}" if reason.startswith(video) else f"  {video}: {reason}")
        return 1
    return 0


if __name__ == "__main__":
    define_flags()
    cli.run(main)

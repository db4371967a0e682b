r"""Build throughput of `binaural_video` (Beam DirectRunner) on synthesised 10 s recordings.

    python -m experiments.benchmarks.video_build_speed --num_files=8 --sizes=64,224 --workers=1,2

Writes `num_files` H.264 videos of a panning texture (`--source` size, 30 fps) with side-car 48 kHz binaural
wav files, then builds them as 10 s windows at each stored size (square, centre crop, 25 fps, 16 kHz) with each
worker count, and prints clips/s per setting. The time is the whole build as a user sees it (Beam pipeline
start, decoding, resizing, resampling, encoding and writing the ArrayRecord shards), so small runs are
dominated by the pipeline's fixed start-up cost; `--num_files` trades run time for accuracy.
"""

import dataclasses
import os
import tempfile
import time

import numpy as np
from absl import app, flags, logging

from data.binaural_video.binaural_video_dataset_builder import BUILDER_CONFIGS, BinauralVideo
from data.video_folder import beam as beam_lib
from data.video_folder import cli
from v2a_jax.video import io

_NUM_FILES = flags.DEFINE_integer("num_files", 8, "Synthesised 10 s recordings.")
_SOURCE = flags.DEFINE_string("source", "320x180", "Source frame size WxH (even numbers).")
_SIZES = flags.DEFINE_list("sizes", ["64", "224"], "Stored frame sizes (square) to measure.")
_WORKERS = flags.DEFINE_list("workers", ["1", "2"], "DirectRunner worker counts to measure.")
_WORK_DIR = flags.DEFINE_string("work_dir", "", "Where inputs and builds go (default: a temporary folder).")

CLIP_S = 10.0


def synthesise(folder: str, count: int, width: int, height: int) -> None:
    """`count` 10 s, 30 fps H.264 videos of a panning random texture plus side-car 48 kHz stereo noise bursts."""
    rng = np.random.default_rng(0)
    fps, rate = 30.0, 48000
    for i in range(count):
        texture = rng.integers(0, 256, (height // 4 + 1, (width + 300) // 4 + 1, 3), dtype=np.uint8)
        texture = np.repeat(np.repeat(texture, 4, axis=0), 4, axis=1)[:height]
        frames = np.stack([texture[:, t : t + width] for t in range(int(CLIP_S * fps))])
        io.write_frames(os.path.join(folder, f"{i:06d}.mp4"), frames, fps)
        envelope = np.repeat(rng.random(int(CLIP_S * 10)) ** 2, rate // 10)
        audio = 0.3 * envelope * rng.standard_normal((2, int(CLIP_S * rate)))
        io.write_wav(os.path.join(folder, f"{i:06d}.wav"), audio.astype(np.float32), rate)


def measure(input_dir: str, data_dir: str, size: int, workers: int) -> tuple[int, float]:
    config = dataclasses.replace(
        next(c for c in BUILDER_CONFIGS if c.name == "sidecar"),
        name=f"bench{size}",
        clip_s=CLIP_S,
        hop_s=CLIP_S,
        min_clip_s=CLIP_S,
        height=size,
        width=size,
        split_fractions=(1.0, 0.0, 0.0),
    )
    builder = BinauralVideo(config=config, data_dir=data_dir)
    start = time.perf_counter()
    builder = cli.prepare(builder, input_dir, beam_lib.pipeline_options("DirectRunner", workers))
    return builder.info.splits["train"].num_examples, time.perf_counter() - start


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Beam's per-worker INFO lines would bury the figures
    root = _WORK_DIR.value or tempfile.mkdtemp(prefix="video_build_speed_")
    input_dir = os.path.join(root, "input")
    os.makedirs(input_dir, exist_ok=True)
    width, height = map(int, _SOURCE.value.split("x"))
    start = time.perf_counter()
    synthesise(input_dir, _NUM_FILES.value, width, height)
    print(
        f"wrote {_NUM_FILES.value} x {CLIP_S:g} s {width}x{height} inputs in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    for size in map(int, _SIZES.value):
        for workers in map(int, _WORKERS.value):
            clips, seconds = measure(input_dir, os.path.join(root, f"data_{size}_{workers}"), size, workers)
            print(
                f"{size} px, {workers} worker(s): {clips} clips in {seconds:.1f} s = {clips / seconds:.2f} clips/s",
                flush=True,
            )


if __name__ == "__main__":
    app.run(main)

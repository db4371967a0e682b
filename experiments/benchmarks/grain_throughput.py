r"""Grain input-pipeline throughput on a built `binaural_synth` variant, with 0 and N worker processes.

    python -m data.binaural_synth.build --config=small --data_dir=runs/data      # once
    python -m experiments.benchmarks.grain_throughput --data_dir=runs/data --workers=0,2

Prints examples/s for a training pipeline (shuffle, random 1.6 s crop, normalise, batch 16) per worker count.
Figures on the 2-core development machine are in experiments/RESULTS.md ("Project operations").
"""

import time

from absl import flags

from v2a_jax import cli
from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig

_DATA_DIR = flags.DEFINE_string("data_dir", "runs/data", "TFDS data directory holding the built variant.")
_NAME = flags.DEFINE_string("name", "binaural_synth/small", "Dataset '<name>/<config>'.")
_WORKERS = flags.DEFINE_list("workers", ["0", "2"], "Worker counts to measure.")
_BATCHES = flags.DEFINE_integer("batches", 60, "Batches timed per setting (after 5 warm-up batches).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Examples per batch.")


def measure(num_workers: int) -> float:
    source, clip = loader.open_split(_DATA_DIR.value, _NAME.value, "train")
    seq = SequenceConfig(duration_s=1.6, semantic_fps=6.25)
    ds = loader.make_dataset(
        source, clip, seq, train=True, batch_size=_BATCH_SIZE.value, seed=0, num_workers=num_workers
    )
    it = iter(ds)
    for _ in range(5):
        next(it)
    start = time.perf_counter()
    for _ in range(_BATCHES.value):
        next(it)
    seconds = time.perf_counter() - start
    if hasattr(it, "close"):
        it.close()
    return _BATCHES.value * _BATCH_SIZE.value / seconds


def main(argv):
    del argv
    for workers in map(int, _WORKERS.value):
        print(f"workers={workers}: {measure(workers):.1f} examples/s", flush=True)


if __name__ == "__main__":
    cli.run(main)

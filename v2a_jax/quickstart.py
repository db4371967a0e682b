r"""The README's main job: the whole pipeline on the embedded default, resumable.

    python -m v2a_jax.quickstart --workdir=runs/quickstart

Stages (each skipped when its output is already in the workdir, so a rerun resumes):
  1. build the `binaural_synth/small` benchmark (1,000 two-second training clips) and print its summary.
"""

from __future__ import annotations

import os
import time

from absl import app, flags

from data.binaural_synth import prepare as synth_prepare

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart", "Where every stage writes its outputs.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Processes used to render the benchmark.")


def run(workdir: str, num_workers: int = 2) -> dict:
    """Runs every stage into `workdir`; returns the headline results."""
    start = time.perf_counter()
    print(f"[1/1] benchmark binaural_synth/small -> {os.path.join(workdir, 'data')}", flush=True)
    builder, seconds = synth_prepare.build("small", os.path.join(workdir, "data"), num_workers)
    print(f"      ready in {seconds:.1f} s")
    print(synth_prepare.summarize(builder))
    total = time.perf_counter() - start
    print(f"done in {total:.1f} s; results under {os.path.abspath(workdir)}")
    return {"data_dir": builder.data_dir, "seconds": total}


def main(argv):
    del argv
    run(_WORKDIR.value, _NUM_WORKERS.value)


if __name__ == "__main__":
    app.run(main)

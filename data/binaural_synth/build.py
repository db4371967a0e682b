r"""Builds a `binaural_synth` variant into a TFDS data directory and prints a summary of it.

    python -m data.binaural_synth.build --config=small --data_dir=runs/quickstart/data

Rebuilding is a no-op once the variant is prepared in that directory (TFDS keeps finished datasets), so the
command can be rerun safely. A --data_dir that cannot be created is one line and exit status 2 (v2a_jax.cli).
For a custom variant, construct `BinauralSynth(config=BinauralSynthConfig(...))`
in Python (see README.md next to this file).
"""

from __future__ import annotations

from absl import flags

from data.binaural_synth import prepare
from data.binaural_synth.binaural_synth_dataset_builder import BUILDER_CONFIGS
from v2a_jax import cli

_CONFIG = flags.DEFINE_enum("config", "small", [c.name for c in BUILDER_CONFIGS], "Benchmark variant to build.")
_DATA_DIR = flags.DEFINE_string("data_dir", "runs/data", "TFDS data directory to build into.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Rendering processes.")


def main(argv):
    del argv
    cli.check_output_dir(_DATA_DIR.value, "data_dir", create=True)
    builder, seconds = prepare.build(_CONFIG.value, _DATA_DIR.value, _NUM_WORKERS.value)
    print(f"built in {seconds:.1f} s")
    print(prepare.summarize(builder))


if __name__ == "__main__":
    cli.run(main)

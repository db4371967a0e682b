r"""Trains any task of the project: `python -m v2a_jax.main --config=CONFIG[:VARIANT] --workdir=DIR`.

Single process (all local devices):
  python -m v2a_jax.main --config=experiments/toy_regression.py --workdir=/tmp/toy
Overrides: `--config.num_train_steps=100 --config.optimizer.learning_rate=1e-3`.
Re-running the same command resumes from the newest checkpoint in DIR; a DIR holding a run of another config
is refused (trainer.RESUMABLE_FIELDS lists the fields a rerun may change). SIGTERM or SIGINT saves a checkpoint
at the end of the current step and exits with status 3 (v2a_jax.cli); mistakes are one line and status 2.
Several processes (one per host; here two on one machine over loopback):
  python -m v2a_jax.main ... --coordinator_address=localhost:12345 --num_processes=2 --process_id=0
  python -m v2a_jax.main ... --coordinator_address=localhost:12345 --num_processes=2 --process_id=1
"""

from absl import app, flags
from ml_collections import config_flags

from v2a_jax import cli
from v2a_jax.train import distributed, trainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and summaries.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 1, "Number of processes in the run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in the run.")
_DISTRIBUTED_AUTO = flags.DEFINE_bool(
    "distributed_auto",
    False,
    "Join a multi-process run described by the cluster environment (SLURM, Open MPI, Cloud TPU).",
)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    distributed.initialize(
        coordinator_address=_COORDINATOR.value,
        num_processes=_NUM_PROCESSES.value,
        process_id=_PROCESS_ID.value,
        auto_detect=_DISTRIBUTED_AUTO.value,
    )
    trainer.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    cli.run(main)

r"""Toy regression (v2a_jax/train/toy_task.py): a 2-layer MLP fits y = sin(A x); checks the trainer.

Run from the repo root:
  python -m v2a_jax.main --config=experiments/toy_regression.py --workdir=/tmp/toy_regression
Its validation loss (metrics.jsonl, split "val") falls over the 200 steps, the same on one device and on the
  fsdp_tp mesh (figures: experiments/RESULTS.md, "Project operations"). Checkpoints 150 and 200 are kept.
  Re-running the command resumes from the newest checkpoint (here: finds the run complete).
Variants, `--config=experiments/toy_regression.py:VARIANT`:
  local    (default) every device data-parallel: mesh data=-1, fsdp=1, tensor=1.
  fsdp_tp  mesh 2 data x 2 fsdp x 2 tensor; needs 8 devices, e.g. on CPU
           XLA_FLAGS=--xla_force_host_platform_device_count=8.

The fields every training config has are documented in experiments/trainer_defaults.py.
"""

import ml_collections

from experiments.trainer_defaults import base_config

VARIANTS = {
    "local": {"data": -1, "fsdp": 1, "tensor": 1},
    "fsdp_tp": {"data": 2, "fsdp": 2, "tensor": 2},
}


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "local"
    if variant not in VARIANTS:
        raise ValueError(f"experiments/toy_regression.py: variant {variant!r} is not one of {sorted(VARIANTS)}")
    config = base_config("v2a_jax.train.toy_task:ToyRegressionTask")
    config.mesh = ml_collections.ConfigDict(VARIANTS[variant])
    config.num_train_steps = 200
    config.optimizer.learning_rate = 3e-3
    config.optimizer.warmup_steps = 20
    config.ema_decay = 0.99
    config.eval_on_ema = False
    config.log_every_steps = 10
    config.eval_every_steps = 50
    config.summary_every_steps = 100
    config.checkpoint_every_steps = 50

    config.data = ml_collections.ConfigDict()
    config.data.dim = 8
    config.data.num_train = 1024
    config.data.num_val = 64
    config.data.teacher_seed = 0
    config.data.noise = 0.01
    config.data.delay_s = 0.0  # test hook: seconds of sleep per batch
    config.data.nan_example = -1  # test hook: this training example's x is NaN
    # Test hook: while this file exists, training batches from `hold_from_batch` on are held back ("" = never).
    config.data.hold_file = ""
    config.data.hold_from_batch = 0

    config.model = ml_collections.ConfigDict()
    config.model.hidden = 32
    config.model.nan_at_step = -1  # test hook: the loss is NaN at this step
    return config

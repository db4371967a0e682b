r"""Toy regression (tests/train/toy_task.py): a 2-layer MLP fits y = sin(A x); checks the trainer.

Run from the repo root:
  python -m v2a_jax.main --config=experiments/toy_regression.py --workdir=/tmp/toy_regression
Expected (metrics.jsonl, split "val"): loss 0.271 at step 50, 0.104 at step 200, the same on one
  device and on the fsdp_tp mesh; about 5 s on 2 CPU cores. Checkpoints 150 and 200 are kept.
  Re-running the command resumes from the newest checkpoint (here: finds the run complete).
Variants, `--config=experiments/toy_regression.py:VARIANT`:
  local    (default) every device data-parallel: mesh data=-1, fsdp=1, tensor=1.
  fsdp_tp  mesh 2 data x 2 fsdp x 2 tensor; needs 8 devices, e.g. on CPU
           XLA_FLAGS=--xla_force_host_platform_device_count=8.

The fields every training config has (`data` and `model` belong to the task):
  task: "package.module:ClassName" of the task (v2a_jax/train/task.py), built as Class(config).
  seed: parameter initialisation, training randomness and the training data order.
  mesh.{data,fsdp,tensor}: mesh axis sizes over all devices of all processes; one may be -1
    (the remaining devices).
  logical_axis_rules: optional ((logical name, mesh axes), ...) replacing
    v2a_jax.train.partitioning.DEFAULT_LOGICAL_AXIS_RULES.
  batch_size: global batch; each process loads batch_size / process_count examples.
  num_train_steps: total updates; steps are 1-based.
  optimizer.learning_rate, .warmup_steps (linear from 0), .schedule ('constant' | 'cosine' (to 0
    at num_train_steps) | 'step'), .decay_boundaries and .decay_factor (for 'step': the rate is
    multiplied by decay_factor from each boundary on), .b1, .b2, .weight_decay (AdamW),
    .grad_clip_norm (global norm; 0 disables).
  ema_decay: EMA of the params, ema <- decay * ema + (1 - decay) * params after every update.
  eval_on_ema: validate (and choose the best checkpoint) with the EMA params instead of the raw.
  compute_dtype: 'float32' | 'bfloat16'; params stay float32, the forward pass sees them cast.
  log_every_steps: train scalars and steps/s, ETA.
  eval_every_steps, eval_steps: validation every so many steps, over that many 'val' batches.
  summary_every_steps: the task's image/audio summaries (if it has them) on the first val batch.
  checkpoint_every_steps: a multiple of eval_every_steps; keep_checkpoints: the newest N are kept,
    plus the one with the lowest validation loss.
  The last step always logs, validates, writes summaries and checkpoints.
"""

import ml_collections

VARIANTS = {
    "local": {"data": -1, "fsdp": 1, "tensor": 1},
    "fsdp_tp": {"data": 2, "fsdp": 2, "tensor": 2},
}


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "local"
    if variant not in VARIANTS:
        raise ValueError(
            f"experiments/toy_regression.py: variant {variant!r} is not one of {sorted(VARIANTS)}"
        )
    config = ml_collections.ConfigDict()
    config.task = "tests.train.toy_task:ToyRegressionTask"
    config.seed = 0
    config.mesh = ml_collections.ConfigDict(VARIANTS[variant])
    config.logical_axis_rules = ()
    config.batch_size = 16
    config.num_train_steps = 200

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.learning_rate = 3e-3
    config.optimizer.warmup_steps = 20
    config.optimizer.schedule = "cosine"
    config.optimizer.decay_boundaries = ()
    config.optimizer.decay_factor = 0.1
    config.optimizer.b1 = 0.9
    config.optimizer.b2 = 0.999
    config.optimizer.weight_decay = 1e-4
    config.optimizer.grad_clip_norm = 1.0

    config.ema_decay = 0.99
    config.eval_on_ema = False
    config.compute_dtype = "float32"

    config.log_every_steps = 10
    config.eval_every_steps = 50
    config.eval_steps = 4
    config.summary_every_steps = 100
    config.checkpoint_every_steps = 50
    config.keep_checkpoints = 2

    config.data = ml_collections.ConfigDict()
    config.data.dim = 8
    config.data.num_train = 1024
    config.data.num_val = 64
    config.data.teacher_seed = 0
    config.data.noise = 0.01
    config.data.delay_s = 0.0  # test hook: seconds of sleep per batch

    config.model = ml_collections.ConfigDict()
    config.model.hidden = 32
    config.model.nan_at_step = -1  # test hook: the loss is NaN at this step
    return config

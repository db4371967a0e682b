r"""The fields every training config has, with their defaults; each experiment config starts from `base_config`
and overrides what differs (its `data` and `model` belong to its task).

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
  ema_decay: EMA of the params, ema <- d * ema + (1 - d) * params after every update, with the warmed-up
    d = min(ema_decay, (1 + step) / (10 + step)).
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


def base_config(task: str) -> ml_collections.ConfigDict:
    """A config for `task` with every trainer field at its default (module docstring)."""
    config = ml_collections.ConfigDict()
    config.task = task
    config.seed = 0
    config.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "tensor": 1})
    config.logical_axis_rules = ()
    config.batch_size = 16
    config.num_train_steps = 1000

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.learning_rate = 1e-3
    config.optimizer.warmup_steps = 0
    config.optimizer.schedule = "cosine"
    config.optimizer.decay_boundaries = ()
    config.optimizer.decay_factor = 0.1
    config.optimizer.b1 = 0.9
    config.optimizer.b2 = 0.999
    config.optimizer.weight_decay = 1e-4
    config.optimizer.grad_clip_norm = 1.0

    config.ema_decay = 0.999
    config.eval_on_ema = True
    config.compute_dtype = "float32"

    config.log_every_steps = 50
    config.eval_every_steps = 500
    config.eval_steps = 4
    config.summary_every_steps = 1000
    config.checkpoint_every_steps = 500
    config.keep_checkpoints = 2
    return config

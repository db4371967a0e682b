"""AdamW with linear warmup, a decay schedule and global-norm gradient clipping, from the config.

Schedules are functions of optax's update count c (0-based: update number s, as logged, uses
c = s - 1). 'step' multiplies the rate by `decay_factor` at each boundary b, i.e. updates with
c >= b (MMAudio: x0.1 at 240K and 270K).
"""

import ml_collections
import optax

from v2a_jax import cli

SCHEDULES = ("constant", "cosine", "step")


def make_schedule(opt: ml_collections.ConfigDict, num_train_steps: int) -> optax.Schedule:
    """Learning rate as a function of the update count: 0 -> `learning_rate` linearly over
    `warmup_steps`, then constant, cosine decay to 0 at `num_train_steps`, or step decay."""
    lr, warmup = opt.learning_rate, opt.warmup_steps
    if opt.schedule == "constant":
        decay = optax.constant_schedule(lr)
    elif opt.schedule == "cosine":
        decay = optax.cosine_decay_schedule(lr, decay_steps=max(num_train_steps - warmup, 1))
    elif opt.schedule == "step":
        if any(b <= warmup for b in opt.decay_boundaries):
            raise cli.ConfigError(
                f"config.optimizer.decay_boundaries={list(opt.decay_boundaries)} must all exceed warmup_steps={warmup}"
            )
        # join_schedules hands the decay schedule c - warmup, hence the shifted boundaries.
        decay = optax.piecewise_constant_schedule(lr, {b - warmup: opt.decay_factor for b in opt.decay_boundaries})
    else:
        raise cli.ConfigError(f"config.optimizer.schedule={opt.schedule!r}: expected one of {SCHEDULES}")
    if warmup == 0:  # linear_schedule over 0 steps would stay at its initial value (0) forever.
        return decay
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), decay], [warmup])


def make_optimizer(
    opt: ml_collections.ConfigDict, num_train_steps: int
) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """(clip-by-global-norm then AdamW, its learning-rate schedule). `grad_clip_norm` 0 disables
    clipping; weight decay applies to every parameter."""
    schedule = make_schedule(opt, num_train_steps)
    adamw = optax.adamw(schedule, b1=opt.b1, b2=opt.b2, weight_decay=opt.weight_decay)
    if opt.grad_clip_norm > 0:
        return optax.chain(optax.clip_by_global_norm(opt.grad_clip_norm), adamw), schedule
    return adamw, schedule

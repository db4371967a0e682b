"""The jitted train and eval steps, with explicit in/out shardings and the train state donated.

Params stay float32; both steps cast them to `config.compute_dtype` for the forward pass, so with
bfloat16 the gradients flow back through the cast into float32 master weights.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax

from v2a_jax import cli
from v2a_jax.train import partitioning
from v2a_jax.train.partitioning import LogicalRules, axis_rules
from v2a_jax.train.state import TrainState, shardings_of
from v2a_jax.train.task import Batch, Task

COMPUTE_DTYPES = ("float32", "bfloat16")

Metrics = dict[str, jax.Array]


def _as_float32(metrics: Metrics) -> Metrics:
    return {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}


def _compute_dtype(config: ml_collections.ConfigDict) -> jnp.dtype:
    if config.compute_dtype not in COMPUTE_DTYPES:
        raise cli.ConfigError(f"config.compute_dtype={config.compute_dtype!r}: expected one of {COMPUTE_DTYPES}")
    return jnp.dtype(config.compute_dtype)


def make_train_step(
    task: Task,
    tx: optax.GradientTransformation,
    schedule: optax.Schedule,
    config: ml_collections.ConfigDict,
    abstract_state: TrainState,
    batch_sharding: jax.sharding.NamedSharding,
    rules: LogicalRules,
) -> Callable[[TrainState, Batch], tuple[TrainState, Metrics]]:
    """`train_step(state, batch) -> (state, metrics)`; `state` is donated (invalid after the call).

    metrics: the task's metrics plus "loss", "grad_norm" (before clipping) and "learning_rate" (the
    rate this update used), all float32 scalars, replicated.
    """
    compute_dtype = _compute_dtype(config)
    mesh = batch_sharding.mesh

    def train_step(state: TrainState, batch: Batch) -> tuple[TrainState, Metrics]:
        step = state.step + 1
        rng = jax.random.fold_in(state.rng, step)

        def loss_fn(params):
            with axis_rules(mesh, rules):
                return task.loss(partitioning.cast_floating(params, compute_dtype), batch, rng, step)

        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        # Warmed-up decay (as TF's ExponentialMovingAverage with num_updates): early on the average follows the
        # params, so a short run's EMA is not mostly its initialisation (0.999 ** 1000 = 0.37 of it otherwise).
        decay = jnp.minimum(config.ema_decay, (1.0 + step) / (10.0 + step))
        ema_params = optax.incremental_update(params, state.ema_params, 1.0 - decay)
        metrics = {
            **metrics,
            "loss": loss,
            "grad_norm": optax.tree.norm(grads),
            "learning_rate": schedule(state.step),
        }
        new_state = state.replace(step=step, params=params, opt_state=opt_state, ema_params=ema_params)
        return new_state, _as_float32(metrics)

    state_shardings = shardings_of(abstract_state)
    replicated = jax.sharding.NamedSharding(mesh, jax.P())
    return jax.jit(
        train_step,
        in_shardings=(state_shardings, batch_sharding),
        out_shardings=(state_shardings, replicated),
        donate_argnums=0,
    )


def make_eval_step(
    task: Task,
    config: ml_collections.ConfigDict,
    abstract_state: TrainState,
    batch_sharding: jax.sharding.NamedSharding,
    rules: LogicalRules,
) -> Callable[[Any, Batch, jax.Array], Metrics]:
    """`eval_step(params, batch, rng) -> metrics` (float32 scalars, replicated) for params shaped
    and sharded like `state.params` (the raw or the EMA params)."""
    compute_dtype = _compute_dtype(config)
    mesh = batch_sharding.mesh

    def eval_step(params: Any, batch: Batch, rng: jax.Array) -> Metrics:
        with axis_rules(mesh, rules):
            return _as_float32(task.eval_step(partitioning.cast_floating(params, compute_dtype), batch, rng))

    replicated = jax.sharding.NamedSharding(mesh, jax.P())
    return jax.jit(
        eval_step,
        in_shardings=(shardings_of(abstract_state.params), batch_sharding, replicated),
        out_shardings=replicated,
    )

"""`train_and_evaluate(config, workdir)`: the one training loop every task plugs into (task.py).

The loop runs unchanged on one device, a forced multi-device CPU, or a multi-host mesh: each
process reads its shard of the data, the shards are assembled into global arrays, and the jitted
steps run on the whole mesh. Steps are 1-based: step s consumes the s-th batch, and the checkpoint
of step s holds the state after s updates.

A workdir belongs to one run: a rerun whose config differs in more than run_config.RESUMABLE_FIELDS is refused
before anything is written. SIGTERM or SIGINT (preemption.py) lets the current step finish, saves its
checkpoint (on every process, at the step they agree on) and raises cli.Preempted; rerunning resumes exactly.
"""

import itertools
import math
import time
from typing import Any

import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from clu import parameter_overview
from etils import epath

from v2a_jax import cli
from v2a_jax.train import checkpointing, optim, partitioning, preemption, run_config, steps
from v2a_jax.train import state as state_lib
from v2a_jax.train.progress import ProgressReporter
from v2a_jax.train.summaries import SummaryWriter
from v2a_jax.train.task import Task, load_task


class NonFiniteError(cli.UserError, FloatingPointError):
    """A non-finite training loss or gradient; the message names the step, and the clip when its input was."""


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: epath.PathLike) -> state_lib.TrainState:
    """Trains `config.task` to `config.num_train_steps`, resuming from `workdir` if it holds a
    checkpoint; returns the final state. Raises NonFiniteError on a non-finite loss/gradient,
    cli.UserError for a workdir of another run (module docstring) and cli.Preempted after saving on
    SIGTERM/SIGINT."""
    workdir = epath.Path(workdir)
    run_config.check_same_run(config, workdir)
    logging.info("Config:\n%s", config)

    # ---- Task, mesh and data.
    task = load_task(config)
    mesh = partitioning.make_mesh(config.mesh)
    rules = partitioning.logical_axis_rules(config)
    batch_sharding = partitioning.batch_sharding(mesh, rules)
    _check_config(config, batch_sharding)

    train_ds, val_ds = _make_dataset(task, config, "train"), _make_dataset(task, config, "val")
    train_iter = iter(train_ds)
    batch_spec = _batch_spec(train_ds, config)
    # Written once the config has proved to build its task and data: a failed start leaves no workdir behind.
    if jax.process_index() == 0:
        run_config.save(config, workdir)

    # ---- Train state: restored from the newest checkpoint in workdir, else initialised.
    tx, schedule = optim.make_optimizer(config.optimizer, config.num_train_steps)
    init_fn = state_lib.make_init_fn(task, tx, batch_spec)
    abstract_state = state_lib.abstract_train_state(init_fn, mesh, rules)
    manager = checkpointing.make_manager(workdir / "checkpoints", config.keep_checkpoints)
    first_step = manager.latest_step() or 0
    if first_step:
        logging.info("Resuming from the checkpoint of step %d in %s", first_step, manager.directory)
        try:
            state = checkpointing.restore(manager, first_step, abstract_state, train_iter)
        except checkpointing.CheckpointError as e:
            earlier = [s for s in manager.all_steps() if s < first_step]
            manager.close()
            raise checkpointing.CheckpointError(
                f"{e}; move it out of {manager.directory} to resume from "
                f"{f'step {max(earlier)}' if earlier else 'scratch'}"
            ) from e
    else:
        state = state_lib.init_train_state(init_fn, abstract_state, config.seed, mesh, rules)
    # Statistics need every value on this host, which only a single process has; the table is
    # library output (shown with --verbose), the total is the trainer's.
    parameter_overview.log_parameter_overview(
        state.params, include_stats=jax.process_count() == 1, msg="Parameters", jax_logging_process=0
    )
    logging.info("%s parameters", f"{parameter_overview.count_parameters(state.params):,}")

    # ---- Steps and outputs.
    train_step = steps.make_train_step(task, tx, schedule, config, abstract_state, batch_sharding, rules)
    eval_step = steps.make_eval_step(task, config, abstract_state, batch_sharding, rules)
    eval_rng = jax.random.fold_in(state.rng, 0)  # training folds in steps >= 1
    writer = SummaryWriter(workdir, enabled=jax.process_index() == 0, purge_step=first_step + 1 if first_step else None)
    progress = ProgressReporter(config.num_train_steps, first_step)

    # ---- Loop.
    unchecked = None  # (step, metrics, local batch) of the previous update, checked one step late (see below).
    try:
        with preemption.PreemptionWatch() as watch:
            for step in range(first_step + 1, config.num_train_steps + 1):
                fetch_start = time.monotonic()
                local_batch = next(train_iter)
                progress.input_time(time.monotonic() - fetch_start)
                state, metrics = train_step(state, partitioning.global_batch(local_batch, batch_sharding))
                # Checking the previous step's loss while this one runs keeps the device queue full.
                if unchecked is not None:
                    _check_finite(*unchecked, manager)
                unchecked = (step, metrics, local_batch)
                stop = watch.reached(step)

                def due(every: int) -> bool:
                    return step % every == 0 or step == config.num_train_steps

                periods = (
                    config.log_every_steps,
                    config.eval_every_steps,
                    config.summary_every_steps,
                    config.checkpoint_every_steps,
                )
                if stop or any(due(every) for every in periods):
                    # Nothing is logged, evaluated or saved from a state that went non-finite.
                    _check_finite(*unchecked, manager)
                    unchecked = None
                if due(config.log_every_steps):
                    writer.scalars(step, "train", {**jax.device_get(metrics), **progress.report(step)})
                eval_params = state.ema_params if config.eval_on_ema else state.params
                val_metrics = None
                if due(config.eval_every_steps):
                    val_metrics = _evaluate(eval_step, eval_params, val_ds, config.eval_steps, eval_rng, batch_sharding)
                    writer.scalars(step, "val", val_metrics)
                    logging.info("step %d: validation %s", step, val_metrics)
                if due(config.summary_every_steps) and hasattr(task, "summaries"):
                    val_batch = partitioning.global_batch(next(iter(val_ds)), batch_sharding)
                    with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
                        writer.media(step, task.summaries(eval_params, val_batch, eval_rng, step))
                if due(config.checkpoint_every_steps):
                    checkpointing.save(manager, state, train_iter, val_metrics)
                elif stop:  # without validation metrics: never the best checkpoint, one of the newest
                    checkpointing.save(manager, state, train_iter)
                if stop and step < config.num_train_steps:
                    checkpointing.wait(manager)
                    message = (
                        f"{watch.reason}: saved the checkpoint of step {step} in {manager.directory}; "
                        f"rerun the same command to resume"
                    )
                    logging.warning("%s", message)
                    raise cli.Preempted(message, step)
        checkpointing.wait(manager)
    except BaseException:
        # Also on failure the save in flight is a good state; but cleaning up after an error (a full
        # disk fails these too) must not replace that error.
        for close in (manager.wait_until_finished, manager.close, writer.close):
            try:
                close()
            except (OSError, ValueError) as e:
                logging.warning("while stopping: %s", cli.one_line(e))
        raise
    manager.close()
    writer.close()
    return state


def _make_dataset(task: Task, config: ml_collections.ConfigDict, split: str) -> grain.IterDataset:
    """This process's shard of `split`, in batches of config.batch_size / process_count."""
    return task.make_dataset(
        split,
        seed=config.seed,
        shard_options=grain.sharding.ShardByJaxProcess(drop_remainder=True),
        batch_size=config.batch_size // jax.process_count(),
    )


def _batch_spec(dataset: grain.IterDataset, config: ml_collections.ConfigDict) -> Any:
    """Global batch shapes and dtypes, read from a throwaway iterator (so that the checkpointed
    iterator does not advance)."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct((config.batch_size, *x.shape[1:]), x.dtype), next(iter(dataset)))


def _check_config(config: ml_collections.ConfigDict, batch_sharding: jax.sharding.NamedSharding) -> None:
    batch_shards = partitioning.batch_shards(batch_sharding)
    if config.batch_size % math.lcm(batch_shards, jax.process_count()):
        raise cli.ConfigError(
            f"config.batch_size={config.batch_size}: must be divisible by the "
            f"{batch_shards} batch shards of the mesh and the {jax.process_count()} "
            f"processes"
        )
    if config.checkpoint_every_steps % config.eval_every_steps:
        raise cli.ConfigError(
            f"config.checkpoint_every_steps={config.checkpoint_every_steps}: must be a "
            f"multiple of eval_every_steps={config.eval_every_steps}, so that every "
            f"checkpoint has a validation loss for choosing the best one"
        )


def _check_finite(
    step: int, metrics: dict[str, jax.Array], local_batch: dict[str, Any], manager: ocp.CheckpointManager
) -> None:
    """Raises NonFiniteError for a non-finite loss or gradient norm of `step`, naming the first
    non-finite input value of this process's `local_batch` when there is one."""
    loss, grad_norm = jax.device_get((metrics["loss"], metrics["grad_norm"]))
    if np.isfinite(loss) and np.isfinite(grad_norm):
        return
    cause = ""
    for key, value in sorted(local_batch.items()):
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.floating):
            bad = ~np.isfinite(value.reshape(value.shape[0], -1)).all(axis=1)
            if bad.any():
                # Rows of the global batch: process p holds rows [p * b, (p + 1) * b).
                clip = jax.process_index() * value.shape[0] + int(np.argmax(bad))
                cause = f": the input '{key}' of clip {clip} of the step's batch is not finite"
                break
    raise NonFiniteError(
        f"Non-finite training loss ({loss}) or gradient norm ({grad_norm}) at step {step}{cause}; "
        f"stopping. The newest checkpoint (step {manager.latest_step()} in {manager.directory}) "
        f"predates it and is intact."
    )


def _evaluate(
    eval_step: Any,
    params: Any,
    val_ds: grain.IterDataset,
    num_steps: int,
    rng: jax.Array,
    batch_sharding: jax.sharding.NamedSharding,
) -> dict[str, float]:
    """Mean of the per-batch eval metrics over the first `num_steps` validation batches."""
    totals, count = None, 0
    for local_batch in itertools.islice(val_ds, num_steps):
        metrics = eval_step(
            params, partitioning.global_batch(local_batch, batch_sharding), jax.random.fold_in(rng, count)
        )
        totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
        count += 1
    if totals is None:
        raise cli.ConfigError("the task's 'val' dataset yielded no batches")
    return {name: float(value) / count for name, value in jax.device_get(totals).items()}

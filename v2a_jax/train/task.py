"""The interface every trained model implements, and how a config names it.

A config names its task by import path, `config.task = "package.module:ClassName"`; the trainer
constructs it as `ClassName(config)` and owns everything else (mesh, optimizer, EMA, checkpoints,
summaries). Batches are dicts of arrays whose leading axis is the batch axis.
"""

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

import grain
import jax
import ml_collections
import numpy as np

from v2a_jax import cli
from v2a_jax.train.summaries import Audio

Batch = Mapping[str, Any]  # str -> array [B, ...]; numpy per process, global jax.Array inside the step
Params = Any  # a Flax linen params pytree


class Task(Protocol):
    """What a model plugs into the trainer. All methods except `make_dataset` are traced under jit.

    The trainer never looks inside params or batches: it differentiates `loss`, averages `eval_step`
    metrics, and shards arrays by the logical axis names the params carry.
    """

    def __init__(self, config: ml_collections.ConfigDict) -> None:
        """Reads `config.model`, `config.data` and `config.compute_dtype`."""

    def make_dataset(
        self, split: str, *, seed: int, shard_options: grain.sharding.ShardOptions, batch_size: int
    ) -> grain.IterDataset:
        """Batches of this process's shard of `split` ("train" or "val").

        `batch_size` is the per-process batch (config.batch_size // jax.process_count()); each element
        is a dict of numpy arrays `[batch_size, ...]`. "train" must be infinite and deterministic given
        `seed` (its iterator state is checkpointed); "val" must yield the same batches on every call,
        at least `config.eval_steps` of them, and the same number on every process.
        """

    def init(self, rng: jax.Array, batch: Batch) -> Params:
        """Float32 params; every leaf boxed by `nn.with_logical_partitioning` with logical axis names.

        `batch` is all zeros with the global batch shape; only its shapes and dtypes may matter.
        """

    def loss(
        self, params: Params, batch: Batch, rng: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """(scalar loss, dict of scalar metrics) for one global batch; pure, differentiated w.r.t. params.

        `params` are unboxed and already cast to `config.compute_dtype`; `step` is the 1-based int32
        training step (the step the logs show); `rng` is different at every step and the same on resume.
        """

    def eval_step(self, params: Params, batch: Batch, rng: jax.Array) -> dict[str, jax.Array]:
        """Scalar metrics, each a mean over the batch; must contain "loss" (the best checkpoint is the
        one with the lowest mean validation loss). The trainer averages them over `config.eval_steps`."""


class TaskWithSummaries(Task, Protocol):
    """A task that also renders media; the trainer calls it every `config.summary_every_steps`."""

    def summaries(self, params: Params, batch: Batch, rng: jax.Array, step: int) -> dict[str, np.ndarray | Audio]:
        """Host-side media for one validation batch: name -> uint8 image [H, W, 3] or `Audio`.

        Runs on every process, since computing on the sharded params and batch needs all of them;
        `jax.experimental.multihost_utils.process_allgather(x, tiled=True)` brings a global array to
        the host. Only process 0 writes the result.
        """


def import_object(path: str, field: str) -> Any:
    """The object named by `path` ("package.module:name"); errors name the config `field` that gave it."""
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise cli.ConfigError(f"{field}={path!r}: expected 'package.module:name'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # a module it imports is missing: the installation's problem, with its traceback
        raise cli.ConfigError(f"{field}={path!r}: no module {e.name}") from e
    if not hasattr(module, name):
        raise cli.ConfigError(f"{field}={path!r}: module {module_name} has no {name}")
    return getattr(module, name)


def load_task(config: ml_collections.ConfigDict) -> Task:
    """Imports and constructs the task named by `config.task` ("package.module:ClassName")."""
    return import_object(config.task, "config.task")(config)

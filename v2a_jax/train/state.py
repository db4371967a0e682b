"""The train state, its shardings, and creating it directly sharded on the mesh.

Shardings come from the logical axis names on the task's params: `jax.eval_shape` of the (boxed)
initialisation gives every leaf's shape and names without allocating anything, the rules turn
names into mesh axes, and the real initialisation is jitted with those out_shardings, so no
device ever holds a full unsharded copy. Optimizer moments and EMA params inherit the param boxes
because optax and `jax.tree.map` map over the boxed values.
"""

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from v2a_jax.train.partitioning import LogicalRules, axis_rules
from v2a_jax.train.task import Task


class TrainState(struct.PyTreeNode):
    """Everything carried between steps; checkpointed as one pytree.

    step: int32 [], updates applied so far (the next update is step + 1).
    params: float32 model params (master weights, whatever the compute dtype).
    opt_state: optimizer state for params.
    ema_params: exponential moving average of params, same structure and sharding.
    rng: uint32 [2] base key; update s (>= 1) uses `jax.random.fold_in(rng, s)` and validation uses
      `fold_in(rng, 0)`, so a resumed run draws the same randomness as an uninterrupted one.
    """

    step: jax.Array
    params: Any
    opt_state: optax.OptState
    ema_params: Any
    rng: jax.Array


InitFn = Callable[[jax.Array, jax.Array], TrainState]


def make_init_fn(task: Task, tx: optax.GradientTransformation, batch_spec: Any) -> InitFn:
    """`init(init_rng, train_rng) -> TrainState` with boxed (logically partitioned) leaves.

    `batch_spec` is a pytree of `jax.ShapeDtypeStruct` with the global batch shapes.
    """

    def init(init_rng: jax.Array, train_rng: jax.Array) -> TrainState:
        batch = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), batch_spec)
        params = task.init(init_rng, batch)
        return TrainState(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=tx.init(params),
            ema_params=params,
            rng=train_rng,
        )

    return init


def abstract_train_state(init_fn: InitFn, mesh: jax.sharding.Mesh, rules: LogicalRules) -> TrainState:
    """The unboxed state as `jax.ShapeDtypeStruct`s carrying their `NamedSharding` on `mesh`.

    Serves both as the out_shardings of initialisation and as the restore target of a checkpoint
    (which is how a checkpoint written on one mesh is read onto another).
    """
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    return abstract_tree(init_fn, mesh, rules, key, key)


def abstract_tree(fn: Callable[..., Any], mesh: jax.sharding.Mesh, rules: LogicalRules, *args: Any) -> Any:
    """The unboxed output of `fn(*args)` (a tree with logically partitioned leaves, e.g. a model's params; args
    may be ShapeDtypeStructs) as `jax.ShapeDtypeStruct`s carrying their `NamedSharding` on `mesh`. Nothing is
    computed: the restore target of params without a dataset or an optimiser (sampling, codecs)."""
    with axis_rules(mesh, rules):
        boxed = jax.eval_shape(fn, *args)
    shardings = nn.logical_to_mesh_sharding(nn.get_partition_spec(boxed), mesh, rules)
    return jax.tree.map(
        lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), nn.meta.unbox(boxed), shardings
    )


def shardings_of(abstract: Any) -> Any:
    """The sharding tree of a pytree of sharded `jax.ShapeDtypeStruct`s (or arrays)."""
    return jax.tree.map(lambda s: s.sharding, abstract)


def init_train_state(
    init_fn: InitFn, abstract: TrainState, seed: int, mesh: jax.sharding.Mesh, rules: LogicalRules
) -> TrainState:
    """Initialises the state from `seed`, each leaf created directly with its sharding."""
    init_rng, train_rng = jax.random.split(jax.random.PRNGKey(seed))

    def init_unboxed(init_rng, train_rng):
        with axis_rules(mesh, rules):
            return nn.meta.unbox(init_fn(init_rng, train_rng))

    return jax.jit(init_unboxed, out_shardings=shardings_of(abstract))(init_rng, train_rng)

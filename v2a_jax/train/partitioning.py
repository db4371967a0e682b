"""Device mesh, logical axis rules, and placing per-process batches on the mesh.

Models name their array axes logically ('batch', 'embed', 'mlp', ...); the rules below map each
name to mesh axes, so the same model runs on 1 device, 8 forced CPU devices or a multi-host pod.
A mesh axis is used at most once per array: in an activation [batch, length, embed], 'batch' takes
('data', 'fsdp') and 'embed' then stays unsharded (flax resolves the rules in order).
"""

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from v2a_jax import cli

MESH_AXES = ("data", "fsdp", "tensor")

LogicalRules = tuple[tuple[str, str | tuple[str, ...] | None], ...]

# Parameters are sharded over 'fsdp' along 'embed' and over 'tensor' along 'mlp'/'heads'; the batch
# is split over both data-parallel axes. The remaining names are listed so that every name the
# project uses is documented here, and map to None (replicated).
DEFAULT_LOGICAL_AXIS_RULES: LogicalRules = (
    ("batch", ("data", "fsdp")),
    ("embed", "fsdp"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("length", None),
    ("kv", None),
    ("vocab", None),
    ("channels", None),
    ("conv_kernel", None),
    ("layers", None),
)


def make_mesh(mesh_config: Mapping[str, int], devices: Sequence[jax.Device] | None = None) -> jax.sharding.Mesh:
    """A ('data', 'fsdp', 'tensor') mesh over `devices` (default: all global devices).

    `mesh_config` gives the size of each axis; one entry may be -1 to take the remaining devices.
    """
    devices = list(jax.devices() if devices is None else devices)
    shape = [int(mesh_config[axis]) for axis in MESH_AXES]
    if shape.count(-1) > 1 or any(s == 0 or s < -1 for s in shape):
        raise cli.ConfigError(f"config.mesh={dict(mesh_config)}: sizes must be positive, at most one -1")
    if -1 in shape:
        known = -math.prod(shape)
        if len(devices) % known:
            raise cli.ConfigError(
                f"config.mesh={dict(mesh_config)}: {len(devices)} devices are not divisible by {known}"
            )
        shape[shape.index(-1)] = len(devices) // known
    if math.prod(shape) != len(devices):
        raise cli.ConfigError(f"config.mesh={dict(mesh_config)} needs {math.prod(shape)} devices, found {len(devices)}")
    return jax.make_mesh(shape, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * len(shape), devices=devices)


def logical_axis_rules(config: ml_collections.ConfigDict) -> LogicalRules:
    """`config.logical_axis_rules` if set (a sequence of (name, mesh axes) pairs), else the defaults."""
    rules = config.get("logical_axis_rules") or DEFAULT_LOGICAL_AXIS_RULES
    return tuple((name, tuple(axes) if isinstance(axes, (list, tuple)) else axes) for name, axes in rules)


@contextlib.contextmanager
def axis_rules(mesh: jax.sharding.Mesh, rules: LogicalRules) -> Iterator[None]:
    """Context under which a task's logical names resolve on `mesh` (`nn.with_logical_constraint`,
    boxed param unboxing). Usable inside a jitted function, where `jax.set_mesh` is not allowed."""
    with nn.logical_axis_rules(rules), jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
        yield


def batch_sharding(mesh: jax.sharding.Mesh, rules: LogicalRules) -> jax.sharding.NamedSharding:
    """Sharding of every batch array: leading axis split as the 'batch' rule says, rest replicated."""
    return jax.sharding.NamedSharding(mesh, nn.logical_to_mesh_axes(("batch",), rules))


def batch_shards(sharding: jax.sharding.Sharding) -> int:
    """How many pieces a batch laid out by `sharding` splits into along its leading axis (1 if not a
    NamedSharding): batch sizes must be multiples of it."""
    if not isinstance(sharding, jax.sharding.NamedSharding) or not len(sharding.spec):
        return 1
    axes = sharding.spec[0]
    axes = () if axes is None else (axes if isinstance(axes, tuple) else (axes,))
    return math.prod(sharding.mesh.shape[a] for a in axes)


def cast_floating(tree: Any, dtype: jnp.dtype) -> Any:
    """`tree` with its floating-point leaves cast to `dtype` (params at the compute dtype; integers kept)."""
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def global_batch(local_batch: Mapping[str, np.ndarray], sharding: jax.sharding.NamedSharding) -> dict[str, jax.Array]:
    """Assembles each process's `[B / process_count, ...]` arrays into global `[B, ...]` arrays."""
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)

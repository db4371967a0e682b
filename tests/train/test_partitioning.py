"""Mesh construction and the logical-axis rules."""

import flax.linen as nn
import jax
import ml_collections
import numpy as np
import pytest

from v2a_jax.train import partitioning


def test_minus_one_takes_the_remaining_devices():
    mesh = partitioning.make_mesh({"data": -1, "fsdp": 2, "tensor": 1})
    assert dict(mesh.shape) == {"data": 4, "fsdp": 2, "tensor": 1}
    assert mesh.axis_types == (jax.sharding.AxisType.Auto,) * 3


@pytest.mark.parametrize(
    "mesh, message",
    [
        ({"data": 2, "fsdp": 2, "tensor": 1}, "needs 4 devices, found 8"),
        ({"data": -1, "fsdp": 3, "tensor": 1}, "not divisible by 3"),
        ({"data": -1, "fsdp": -1, "tensor": 1}, "at most one -1"),
    ],
)
def test_bad_mesh_raises(mesh, message):
    with pytest.raises(ValueError, match=message):
        partitioning.make_mesh(mesh)


def test_default_rules_map_logical_names_to_mesh_axes():
    rules = partitioning.logical_axis_rules(ml_collections.ConfigDict({"logical_axis_rules": ()}))
    assert nn.logical_to_mesh_axes(("embed", "mlp"), rules) == jax.P("fsdp", "tensor")
    assert nn.logical_to_mesh_axes(("layers", "embed", "heads", "kv"), rules) == jax.P(None, "fsdp", "tensor", None)
    # An activation's 'embed' stays unsharded because 'batch' already uses 'fsdp'.
    assert nn.logical_to_mesh_axes(("batch", "length", "embed"), rules) == jax.P(("data", "fsdp"), None, None)


def test_config_rules_replace_the_defaults():
    config = ml_collections.ConfigDict({"logical_axis_rules": [["batch", "data"], ["embed", None]]})
    rules = partitioning.logical_axis_rules(config)
    assert nn.logical_to_mesh_axes(("batch", "embed"), rules) == jax.P("data", None)


def test_global_batch_assembles_local_arrays_on_the_mesh():
    mesh = partitioning.make_mesh({"data": 2, "fsdp": 2, "tensor": 2})
    sharding = partitioning.batch_sharding(mesh, partitioning.DEFAULT_LOGICAL_AXIS_RULES)
    local = {"x": np.arange(8 * 3, dtype=np.float32).reshape(8, 3)}
    batch = partitioning.global_batch(local, sharding)
    assert batch["x"].sharding.spec == jax.P(("data", "fsdp"))
    assert batch["x"].addressable_shards[0].data.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(batch["x"]), local["x"])

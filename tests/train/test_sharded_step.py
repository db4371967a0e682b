"""One train step on a 2 data x 2 fsdp x 2 tensor mesh of 8 CPU devices equals the 1-device step."""

import chex
import grain
import jax
import numpy as np

from tests.train import run_utils
from v2a_jax.train import optim, partitioning, state, steps
from v2a_jax.train.toy_task import ToyRegressionTask

NUM_STEPS = 3
# Sharding only reorders float32 reductions (the batch mean, the fsdp/tensor matmul sums): after
# 3 AdamW steps the measured differences are ~1e-7.
ATOL = 1e-5


def _run(config, devices, local_batches):
    """(losses [NUM_STEPS], initial params on the host, final state) of NUM_STEPS train steps of
    the toy task on `devices`."""
    task = ToyRegressionTask(config)
    chex.clear_trace_counter()
    task.loss = chex.assert_max_traces(task.loss, n=1)
    mesh = partitioning.make_mesh(config.mesh, devices)
    rules = partitioning.logical_axis_rules(config)
    batch_sharding = partitioning.batch_sharding(mesh, rules)
    tx, schedule = optim.make_optimizer(config.optimizer, config.num_train_steps)
    batch_spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), local_batches[0])
    init_fn = state.make_init_fn(task, tx, batch_spec)
    abstract = state.abstract_train_state(init_fn, mesh, rules)
    train_state = state.init_train_state(init_fn, abstract, config.seed, mesh, rules)
    initial_params = jax.device_get(train_state.params)
    train_step = steps.make_train_step(task, tx, schedule, config, abstract, batch_sharding, rules)
    losses = []
    for local_batch in local_batches:
        train_state, metrics = train_step(train_state, partitioning.global_batch(local_batch, batch_sharding))
        losses.append(float(metrics["loss"]))
    return np.array(losses), initial_params, train_state


def test_sharded_step_matches_single_device_and_traces_once():
    config = run_utils.toy_config("fsdp_tp")
    data = ToyRegressionTask(config).make_dataset(
        "train", seed=0, shard_options=grain.sharding.NoSharding(), batch_size=config.batch_size
    )
    batches = [b for b, _ in zip(data, range(NUM_STEPS))]

    sharded_losses, initial, sharded = _run(config, jax.devices(), batches)
    single_config = run_utils.toy_config("fsdp_tp", mesh__data=1, mesh__fsdp=1, mesh__tensor=1)
    single_losses, _, single = _run(single_config, jax.devices()[:1], batches)

    kernel = sharded.params["Dense_0"]["kernel"]  # [8, 32], ('embed', 'mlp')
    assert kernel.sharding.spec == jax.P("fsdp", "tensor")
    assert kernel.addressable_shards[0].data.shape == (4, 16)
    assert len(single.params["Dense_0"]["kernel"].sharding.device_set) == 1
    assert int(sharded.step) == int(single.step) == NUM_STEPS
    assert sharded_losses[-1] < sharded_losses[0]
    np.testing.assert_allclose(sharded_losses, single_losses, rtol=0, atol=ATOL)
    for name in ("params", "ema_params", "opt_state"):
        chex.assert_trees_all_close(
            jax.device_get(getattr(sharded, name)), jax.device_get(getattr(single, name)), rtol=0, atol=ATOL
        )
    # The steps moved the params far beyond the tolerance, so the comparison is not vacuous.
    moved = jax.tree.map(lambda a, b: np.abs(a - b).max(), jax.device_get(sharded.params), initial)
    assert max(jax.tree.leaves(moved)) > 100 * ATOL

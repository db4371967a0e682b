"""Checkpoint retention: the newest N plus the best by validation loss, also across restarts."""

import logging

import grain
import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.train import checkpointing
from v2a_jax.train.state import TrainState


def _state(step: int) -> TrainState:
    params = {"w": jnp.full((3,), float(step))}
    return TrainState(
        step=jnp.array(step, jnp.int32),
        params=params,
        opt_state=(),
        ema_params=params,
        rng=jax.random.PRNGKey(0),
    )


def test_keeps_newest_and_best_across_restarts(tmp_path):
    data = iter(grain.MapDataset.range(10).to_iter_dataset())
    manager = checkpointing.make_manager(tmp_path, keep=2)
    for step, loss in [(1, 3.0), (2, 1.0), (3, 2.0)]:
        checkpointing.save(manager, _state(step), data, {"loss": loss})
    manager.wait_until_finished()
    assert manager.all_steps() == [2, 3]
    manager.close()

    # A restarted run must still know that step 2 is the best (its loss is read back from disk).
    manager = checkpointing.make_manager(tmp_path, keep=2)
    for step, loss in [(4, 4.0), (5, 5.0)]:
        checkpointing.save(manager, _state(step), data, {"loss": loss})
    manager.wait_until_finished()
    assert manager.all_steps() == [2, 4, 5]
    manager.close()


def test_restores_state_and_iterator_position(tmp_path):
    dataset = grain.MapDataset.range(10).to_iter_dataset()
    data = iter(dataset)
    next(data), next(data)
    manager = checkpointing.make_manager(tmp_path, keep=1)
    checkpointing.save(manager, _state(7), data, {"loss": 0.0})
    manager.wait_until_finished()

    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), _state(0))
    fresh = iter(dataset)
    restored = checkpointing.restore(manager, 7, abstract, fresh)
    assert int(restored.step) == 7 and float(restored.params["w"][0]) == 7.0
    assert next(fresh) == 2
    manager.close()


def test_a_failed_background_write_is_named_by_its_os_error_code():
    """tensorstore reports a failed array write as a ValueError whose text may carry its spec (with colons and
    brackets) between the OS message and the code; the reason is read from the code."""
    from v2a_jax.train import checkpointing as ckpt

    spec = '[tensorstore_spec=\'{"context":{"a":{}},"create":true}\']'
    for text in (
        f"RESOURCE_EXHAUSTED: Failed to write 203 bytes to file 29: No space left on device {spec} "
        f"[os_error_code='28']",
        "Failed to write: No space left on device [os_error_code=28]",
    ):
        assert ckpt._write_failure(ValueError(text)) == "No space left on device"
    assert ckpt._write_failure(ValueError("some other failure")) is None
    assert ckpt._write_failure(OSError(28, "No space left on device")) == "No space left on device"


def test_small_replicated_arrays_are_saved_without_compiling_per_replica_slices(tmp_path):
    """A state replicated over 8 devices: orbax cuts replica parts (one compiled slice per shape and device) only
    for arrays of at least MIN_BYTES_PER_REPLICA_PART per part; every array restores to its value either way."""
    mesh = jax.make_mesh((8,), ("data",))
    replicated = jax.NamedSharding(mesh, jax.P())
    big = 8 * checkpointing.MIN_BYTES_PER_REPLICA_PART // 4  # float32 elements: 8 parts of the minimum size
    params = {
        "small": jax.device_put(jnp.arange(128.0).reshape(8, 16), replicated),  # divisible into 8 parts
        "big": jax.device_put(jnp.arange(big, dtype=jnp.float32), replicated),
    }
    state = TrainState(
        step=jnp.array(1, jnp.int32), params=params, opt_state=(), ema_params=params, rng=jax.random.PRNGKey(0)
    )
    manager = checkpointing.make_manager(tmp_path, keep=1)
    compiled = []
    handler = logging.Handler()
    handler.emit = lambda record: compiled.append(record.getMessage())
    logger = logging.getLogger("jax._src.dispatch")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            checkpointing.save(manager, state, iter(grain.MapDataset.range(3).to_iter_dataset()))
            manager.wait_until_finished()
    finally:
        logger.removeHandler(handler)
    slices = [m for m in compiled if m.startswith("Finished XLA compilation of jit(slice")]
    # The big array's 8 parts (one slice shape, 8 devices); none for the small ones.
    assert len(slices) == 8, compiled

    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
    restored = checkpointing.restore(manager, 1, abstract)
    for name, value in params.items():
        np.testing.assert_array_equal(np.asarray(restored.params[name]), np.asarray(value))
    manager.close()

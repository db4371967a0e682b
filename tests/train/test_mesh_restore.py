"""A checkpoint written on a 2 data x 2 fsdp x 2 tensor mesh restores onto other meshes."""

import chex
import jax
import numpy as np

from tests.train import run_utils
from v2a_jax.train import partitioning
from v2a_jax.train.trainer import train_and_evaluate

# Resharding changes float32 reduction order, as in test_sharded_step.
ATOL = 1e-5


def test_restore_and_resume_on_another_mesh(tmp_path):
    saved = train_and_evaluate(run_utils.toy_config("fsdp_tp", num_train_steps=4), tmp_path / "run")
    saved_host = jax.device_get(saved)

    # 1 data x 4 fsdp x 2 tensor on all 8 devices, and a single device: same values, new layout.
    other = run_utils.toy_config("fsdp_tp", mesh__data=1, mesh__fsdp=4)
    restored, _ = run_utils.load_params(other, tmp_path / "run")
    assert restored["Dense_0"]["kernel"].sharding.spec == jax.P("fsdp", "tensor")
    assert restored["Dense_0"]["kernel"].addressable_shards[0].data.shape == (2, 16)
    chex.assert_trees_all_equal(jax.device_get(restored), saved_host.params)
    one_device = partitioning.make_mesh({"data": 1, "fsdp": 1, "tensor": 1}, jax.devices()[:1])
    single, _ = run_utils.load_params(other, tmp_path / "run", mesh=one_device)
    assert len(single["Dense_0"]["kernel"].sharding.device_set) == 1
    chex.assert_trees_all_equal(jax.device_get(single), saved_host.params)

    # Training resumed on the other mesh continues the curve of an uninterrupted 2x2x2 run.
    train_and_evaluate(run_utils.toy_config("fsdp_tp", mesh__data=1, mesh__fsdp=4), tmp_path / "run")
    train_and_evaluate(run_utils.toy_config("fsdp_tp"), tmp_path / "reference")
    resumed = {r["step"]: r["loss"] for r in run_utils.read_metrics(tmp_path / "run", "train")}
    reference = {r["step"]: r["loss"] for r in run_utils.read_metrics(tmp_path / "reference", "train")}
    assert sorted(resumed) == list(range(1, 9))
    np.testing.assert_allclose(
        [resumed[s] for s in range(1, 9)], [reference[s] for s in range(1, 9)], rtol=0, atol=ATOL
    )

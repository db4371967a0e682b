"""End-to-end runs of train_and_evaluate on the toy task (8 CPU devices, data-parallel)."""

import chex
import jax
import numpy as np
import pytest

from tests.train import run_utils
from v2a_jax.train.trainer import train_and_evaluate


def test_training_reduces_validation_loss_and_writes_summaries(tmp_path):
    config = run_utils.toy_config(
        num_train_steps=60,
        log_every_steps=10,
        eval_every_steps=20,
        checkpoint_every_steps=20,
        summary_every_steps=30,
        optimizer__learning_rate=1e-2,
    )
    final = train_and_evaluate(config, tmp_path)

    assert int(final.step) == 60
    val = run_utils.read_metrics(tmp_path, "val")
    assert [r["step"] for r in val] == [20, 40, 60]
    assert val[-1]["loss"] < 0.5 * val[0]["loss"]
    train = run_utils.read_metrics(tmp_path, "train")
    assert [r["step"] for r in train] == [10, 20, 30, 40, 50, 60]
    assert {"loss", "grad_norm", "learning_rate", "steps_per_sec", "input_fraction", "pred_std"} <= set(train[0])
    np.testing.assert_allclose(train[0]["learning_rate"], 1e-2)

    tags = {(e.step, v.tag, v.WhichOneof("value")) for e in run_utils.read_events(tmp_path) for v in e.summary.value}
    assert (60, "train/loss", "simple_value") in tags
    assert (60, "val/loss", "simple_value") in tags
    for step in (30, 60):
        assert (step, "media/abs_error", "image") in tags
        assert (step, "media/pred_vs_target", "audio") in tags


def test_bfloat16_compute_keeps_float32_params(tmp_path):
    config = run_utils.toy_config(compute_dtype="bfloat16", num_train_steps=8)
    final = train_and_evaluate(config, tmp_path)
    assert {leaf.dtype for leaf in jax.tree.leaves(final.params)} == {np.dtype("float32")}
    train = run_utils.read_metrics(tmp_path, "train")
    train_and_evaluate(run_utils.toy_config(num_train_steps=8), tmp_path / "f32")
    train32 = run_utils.read_metrics(tmp_path / "f32", "train")
    # Same data and init: bfloat16 forward passes track float32 to bfloat16 precision, and differ.
    losses, losses32 = (np.array([r["loss"] for r in t]) for t in (train, train32))
    np.testing.assert_allclose(losses, losses32, rtol=3e-2)
    assert not np.array_equal(losses, losses32)


def test_forced_nan_stops_with_step_and_keeps_last_checkpoint(tmp_path):
    config = run_utils.toy_config(num_train_steps=20, log_every_steps=4, model__nan_at_step=7)
    with pytest.raises(FloatingPointError, match=r"at step 7;.*newest checkpoint \(step 4"):
        train_and_evaluate(config, tmp_path)

    assert max(r["step"] for r in run_utils.read_metrics(tmp_path, "train")) == 4
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["4"]
    restored, step = run_utils.load_params(config, tmp_path)
    assert step == 4
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(restored))
    # Intact: equal to the params of a clean 4-step run (the NaN hook only affects step 7).
    clean = train_and_evaluate(run_utils.toy_config(num_train_steps=4), tmp_path / "clean")
    chex.assert_trees_all_equal(jax.device_get(restored), jax.device_get(clean.params))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"batch_size": 12}, "batch_size=12: must be divisible by the 8 batch shards"),
        ({"checkpoint_every_steps": 6}, "multiple of eval_every_steps=4"),
    ],
)
def test_inconsistent_config_raises_before_training(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        train_and_evaluate(run_utils.toy_config(**overrides), tmp_path)
    assert not (tmp_path / "checkpoints").exists()


def test_relative_workdir_checkpoints_and_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = run_utils.toy_config()  # 8 steps, a checkpoint every 4
    train_and_evaluate(config, "runs/relative")
    assert sorted(p.name for p in (tmp_path / "runs/relative/checkpoints").iterdir()) == ["4", "8"]
    assert run_utils.load_params(config, "runs/relative")[1] == 8

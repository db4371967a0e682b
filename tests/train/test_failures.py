"""What the trainer does with a workdir of another run, a damaged checkpoint, a full disk (a patched writer, and a
real one where a tmpfs can be mounted) and a NaN input: one UserError naming the path, field or clip, and nothing
already written lost."""

import errno
import hashlib
import os
import shutil
import subprocess

import chex
import grain
import jax
import numpy as np
import pytest
from grain._src.python.checkpoint import handler as grain_handler

from tests.train import run_utils
from v2a_jax import cli
from v2a_jax.train import checkpointing, run_config
from v2a_jax.train.toy_task import ToyRegressionTask
from v2a_jax.train.trainer import NonFiniteError, train_and_evaluate


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_rerun_with_another_config_is_refused_before_anything_is_written(tmp_path):
    train_and_evaluate(run_utils.toy_config(num_train_steps=4), tmp_path)
    before = _digest(tmp_path / "config.json")
    listing = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    other = run_utils.toy_config(num_train_steps=4, model__hidden=64, optimizer__learning_rate=1e-2)
    with pytest.raises(cli.UserError) as error:
        train_and_evaluate(other, tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'config.json'}: this workdir holds a run of another config: ")
    assert "model.hidden (32 -> 64), optimizer.learning_rate (0.003 -> 0.01)" in message
    assert "in a new --workdir" in message and "\n" not in message
    assert _digest(tmp_path / "config.json") == before
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == listing

    # The resumable fields may change: training continues to the new step count and the file records it.
    train_and_evaluate(run_utils.toy_config(num_train_steps=8, log_every_steps=2), tmp_path)
    assert run_config.load(tmp_path).num_train_steps == 8
    assert run_utils.load_params(run_utils.toy_config(), tmp_path)[1] == 8


def test_a_failed_start_leaves_no_workdir(tmp_path):
    with pytest.raises(cli.ConfigError, match="batch_size=12"):
        train_and_evaluate(run_utils.toy_config(batch_size=12), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_truncated_checkpoint_is_refused_with_its_path_and_moving_it_aside_resumes(tmp_path):
    config = run_utils.toy_config()  # checkpoints 4 and 8
    train_and_evaluate(config, tmp_path / "run")
    # A partly written checkpoint: every array file of step 8 cut to half its length.
    data_files = [p for p in (tmp_path / "run/checkpoints/8/state").rglob("*") if p.is_file() and p.parent.name == "d"]
    assert data_files
    for path in data_files:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    longer = run_utils.toy_config(num_train_steps=12)
    with pytest.raises(checkpointing.CheckpointError) as error:
        train_and_evaluate(longer, tmp_path / "run")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'run/checkpoints/8'}: cannot restore this checkpoint (")
    assert message.endswith(f"move it out of {tmp_path / 'run/checkpoints'} to resume from step 4")
    assert isinstance(error.value, cli.UserError) and "\n" not in message

    shutil.move(tmp_path / "run/checkpoints/8", tmp_path / "damaged_8")
    final = train_and_evaluate(longer, tmp_path / "run")
    reference = train_and_evaluate(longer, tmp_path / "reference")
    chex.assert_trees_all_equal(jax.device_get(final), jax.device_get(reference))


def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    config = run_utils.toy_config()  # checkpoints 4 and 8
    save = grain_handler.CheckpointHandler.save

    def disk_full_at_step_8(self, directory, *args, **kwargs):
        if "8.orbax-checkpoint-tmp" in os.fspath(directory):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(directory))
        return save(self, directory, *args, **kwargs)

    monkeypatch.setattr(grain_handler.CheckpointHandler, "save", disk_full_at_step_8)
    with pytest.raises(checkpointing.CheckpointError) as error:
        train_and_evaluate(config, tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'checkpoints'}: cannot save the checkpoint of step 8 (No space left "
        f"on device); the checkpoint of step 4 is intact"
    )
    monkeypatch.undo()

    assert run_utils.load_params(config, tmp_path)[1] == 4
    # Space freed, the rerun resumes from step 4 and saves step 8 over the remains of the failed save.
    final = train_and_evaluate(config, tmp_path)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == ["4", "8"]
    reference = train_and_evaluate(config, tmp_path / "reference")
    chex.assert_trees_all_equal(jax.device_get(final), jax.device_get(reference))


def test_a_nan_input_names_the_step_and_the_clip(tmp_path):
    nan_example = 100
    config = run_utils.toy_config(num_train_steps=40, data__nan_example=nan_example)
    # Where example 100 lands, found independently: the training batches in order, the clip holding a NaN.
    batches = ToyRegressionTask(config).make_dataset(
        "train", seed=config.seed, shard_options=grain.sharding.NoSharding(), batch_size=config.batch_size
    )
    for step, batch in enumerate(batches, start=1):  # noqa: B007 -- step is read after the loop
        rows = np.flatnonzero(np.isnan(batch["x"]).any(axis=1))
        if rows.size:
            break
    assert step <= 40 and rows.size == 1
    with pytest.raises(NonFiniteError) as error:
        train_and_evaluate(config, tmp_path)
    message = str(error.value)
    assert f"at step {step}: the input 'x' of clip {rows[0]} of the step's batch is not finite" in message
    assert isinstance(error.value, cli.UserError) and "\n" not in message


@pytest.fixture
def tiny_disk(tmp_path):
    """A 200 KiB tmpfs (skipped where mounting is not permitted): room for one toy checkpoint, not two."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", mount_point], capture_output=True)
    if mount.returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount_point
    subprocess.run(["umount", "--lazy", mount_point], check=True)  # orbax may still hold a file open


def test_a_really_full_disk_keeps_the_previous_checkpoint(tiny_disk):
    config = run_utils.toy_config(num_train_steps=40, keep_checkpoints=20)  # a checkpoint every 4 steps
    # Whichever write meets the full disk first fails the run with its one line: a checkpoint or the summaries.
    with pytest.raises(
        cli.UserError,
        match=r"cannot save the checkpoint of step (\d+) \(No space "
        r"left on device\); the checkpoint of step \d+ is intact|cannot write TensorBoard events",
    ):
        train_and_evaluate(config, tiny_disk / "run")
    restored, step = run_utils.load_params(config, tiny_disk / "run")  # the previous one is usable
    assert step >= 4 and all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(jax.device_get(restored)))
    subprocess.run(["mount", "-o", "remount,size=8m", tiny_disk], check=True)
    train_and_evaluate(config, tiny_disk / "run")  # space freed: resumes and finishes
    assert run_utils.load_params(config, tiny_disk / "run")[1] == 40

"""SIGKILL or SIGTERM a run mid-way, re-run the same command: it resumes and logs exactly the losses of an
uninterrupted run (8 CPU devices; same programs on the same devices, so bitwise equal). SIGTERM saves the
step it was in and exits with status 3."""

import re
import signal
import time

import pytest

from tests.train import run_utils
from v2a_jax import cli
from v2a_jax.train.trainer import train_and_evaluate

OVERRIDES = {"num_train_steps": 40, "eval_every_steps": 10, "checkpoint_every_steps": 10}
TIMEOUT_S = 120


def _wait_for(condition, run, what):
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert run.poll() is None, f"the run exited (code {run.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _last_logged_step(workdir) -> int:
    """The last training step in workdir/metrics.jsonl (0 before the first)."""
    if not (workdir / "metrics.jsonl").exists():
        return 0
    records = run_utils.read_metrics(workdir, "train")
    return records[-1]["step"] if records else 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Workdir of the uninterrupted run."""
    workdir = tmp_path_factory.mktemp("reference")
    train_and_evaluate(run_utils.toy_config(**OVERRIDES), workdir)
    return workdir


def _assert_same_losses(workdir, reference):
    for split in ("train", "val"):
        expected = {r["step"]: r["loss"] for r in run_utils.read_metrics(reference, split)}
        records = run_utils.read_metrics(workdir, split)
        assert {r["step"] for r in records} == set(expected)
        for record in records:
            assert record["loss"] == expected[record["step"]], (split, record)


def test_sigterm_saves_the_current_step_and_rerun_logs_the_uninterrupted_losses(tmp_path, launch, reference):
    workdir = tmp_path / "run"
    command = run_utils.main_command(workdir, data__delay_s=0.05, **OVERRIDES)
    run = launch(command, tmp_path / "stopped.log")
    _wait_for(lambda: _last_logged_step(workdir) >= 13, run, "step 13")
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=TIMEOUT_S) == cli.EXIT_PREEMPTED, (tmp_path / "stopped.log").read_text()[-3000:]
    log = (tmp_path / "stopped.log").read_text()
    saved = re.findall(r"SIGTERM: saved the checkpoint of step (\d+) in (\S+); rerun the same command", log)
    assert len(saved) == 1 and saved[0][1] == str(workdir / "checkpoints"), log[-3000:]
    step = int(saved[0][0])
    # The step it was in when the signal came: the last one logged, checkpointed although not a multiple of 10.
    assert max(r["step"] for r in run_utils.read_metrics(workdir, "train")) == step < OVERRIDES["num_train_steps"]
    assert str(step) in {p.name for p in (workdir / "checkpoints").iterdir()}

    resumed = launch(command, tmp_path / "resumed.log")
    assert resumed.wait(timeout=TIMEOUT_S) == 0, (tmp_path / "resumed.log").read_text()[-3000:]
    assert f"Resuming from the checkpoint of step {step}" in (tmp_path / "resumed.log").read_text()
    _assert_same_losses(workdir, reference)
    assert len(run_utils.read_metrics(workdir, "train")) == OVERRIDES["num_train_steps"]  # no step was redone


def test_sigkill_and_rerun_logs_the_uninterrupted_losses(tmp_path, launch, reference):
    workdir = tmp_path / "run"
    # Batch 15 (step 16) and later wait while `hold` exists: the killed run stops at step 15, between checkpoints.
    hold = tmp_path / "hold"
    hold.touch()
    command = run_utils.main_command(workdir, data__hold_file=hold, data__hold_from_batch=15, **OVERRIDES)

    run = launch(command, tmp_path / "killed.log")
    _wait_for(lambda: _last_logged_step(workdir) >= 15, run, "step 15")
    time.sleep(0.5)  # long enough for a step past the hold to be logged, were there one
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    assert max(r["step"] for r in run_utils.read_metrics(workdir, "train")) == 15
    assert {p.name for p in (workdir / "checkpoints").iterdir()} == {"10"}

    hold.unlink()
    resumed = launch(command, tmp_path / "resumed.log")
    assert resumed.wait(timeout=TIMEOUT_S) == 0, (tmp_path / "resumed.log").read_text()[-3000:]
    assert "Resuming from the checkpoint of step 10" in (tmp_path / "resumed.log").read_text()

    # Steps 11..15 were logged twice, by the killed and by the resumed run.
    assert len(run_utils.read_metrics(workdir, "train")) == OVERRIDES["num_train_steps"] + 5
    _assert_same_losses(workdir, reference)

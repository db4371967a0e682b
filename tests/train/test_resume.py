"""SIGKILL a run mid-way, re-run the same command: it resumes and logs exactly the losses of an
uninterrupted run (8 CPU devices; same programs on the same devices, so bitwise equal)."""

import signal
import time

from tests.train import run_utils
from v2a_jax.train.trainer import train_and_evaluate

OVERRIDES = {"num_train_steps": 40, "eval_every_steps": 10, "checkpoint_every_steps": 10}
TIMEOUT_S = 120


def _wait_for(condition, run, what):
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert run.poll() is None, f"the run exited (code {run.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_sigkill_and_rerun_logs_the_uninterrupted_losses(tmp_path, launch):
    workdir = tmp_path / "run"
    # 50 ms per batch keeps the run going long enough to be killed between checkpoints.
    command = run_utils.main_command(workdir, data__delay_s=0.05, **OVERRIDES)

    run = launch(command, tmp_path / "killed.log")
    _wait_for(lambda: (workdir / "checkpoints" / "10").exists(), run, "the step-10 checkpoint")
    # Kill it a few steps past the checkpoint, so that the resumed run redoes logged steps.
    _wait_for(lambda: any(r["step"] >= 13 for r in run_utils.read_metrics(workdir, "train")), run, "step 13")
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    killed_steps = [r["step"] for r in run_utils.read_metrics(workdir, "train")]
    assert 13 <= max(killed_steps) < 20, killed_steps

    resumed = launch(command, tmp_path / "resumed.log")
    assert resumed.wait(timeout=TIMEOUT_S) == 0, (tmp_path / "resumed.log").read_text()[-3000:]
    assert "Resuming from the checkpoint of step 10" in (tmp_path / "resumed.log").read_text()

    train_and_evaluate(run_utils.toy_config(**OVERRIDES), tmp_path / "reference")
    for split in ("train", "val"):
        reference = {r["step"]: r["loss"] for r in run_utils.read_metrics(tmp_path / "reference", split)}
        records = run_utils.read_metrics(workdir, split)
        assert {r["step"] for r in records} == set(reference)
        # Steps 11..max(killed_steps) were logged twice, by the killed and by the resumed run.
        assert len(records) > len(reference) or split == "val"
        for record in records:
            assert record["loss"] == reference[record["step"]], (split, record)

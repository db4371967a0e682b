"""Two processes x 4 CPU devices (jax.distributed over loopback, gloo collectives) form the
2 data x 2 fsdp x 2 tensor mesh and agree with one process x 8 devices, also when a SIGTERM to one of
them stops both at the same step and the rerun resumes."""

import re
import signal
import time

import numpy as np
import portpicker

from tests.train import run_utils
from v2a_jax import cli
from v2a_jax.train.trainer import train_and_evaluate

OVERRIDES = {"num_train_steps": 6, "eval_every_steps": 3, "checkpoint_every_steps": 3}
# Each global batch holds the same examples in another order (process p reads examples p, p+2, ...
# of the shuffled stream), so only float32 summation order differs.
ATOL = 1e-5
TIMEOUT_S = 150


def test_two_processes_match_one(tmp_path, launch):
    workdir = tmp_path / "two_processes"
    port = portpicker.pick_unused_port()
    command = run_utils.main_command(workdir, "fsdp_tp", **OVERRIDES)
    logs = [tmp_path / f"process_{i}.log" for i in range(2)]
    runs = [
        launch(
            command,
            logs[i],
            xla_device_count=4,
            extra_args=(f"--coordinator_address=localhost:{port}", "--num_processes=2", f"--process_id={i}"),
        )
        for i in range(2)
    ]
    for run, log in zip(runs, logs):
        assert run.wait(timeout=TIMEOUT_S) == 0, log.read_text()[-3000:]
    assert "process 1 of 2: 4 local devices, 8 global" in logs[1].read_text()
    # Each process checkpointed its own data iterator.
    assert sorted(p.name for p in (workdir / "checkpoints/6/data").glob("*.json")) == [
        "process_0-of-2.json",
        "process_1-of-2.json",
    ]

    train_and_evaluate(run_utils.toy_config("fsdp_tp", **OVERRIDES), tmp_path / "one_process")
    for split in ("train", "val"):
        two = {r["step"]: r["loss"] for r in run_utils.read_metrics(workdir, split)}
        one = {r["step"]: r["loss"] for r in run_utils.read_metrics(tmp_path / "one_process", split)}
        assert sorted(two) == sorted(one) and len(one) >= 2
        np.testing.assert_allclose([two[s] for s in sorted(one)], [one[s] for s in sorted(one)], rtol=0, atol=ATOL)


def test_sigterm_to_one_process_saves_the_same_step_on_both_and_resumes(tmp_path, launch):
    overrides = {"num_train_steps": 30, "eval_every_steps": 10, "checkpoint_every_steps": 10}
    workdir = tmp_path / "two_processes"
    command = run_utils.main_command(workdir, "fsdp_tp", data__delay_s=0.05, **overrides)

    def start_both(name):
        port = portpicker.pick_unused_port()
        logs = [tmp_path / f"{name}_{i}.log" for i in range(2)]
        runs = [
            launch(
                command,
                logs[i],
                xla_device_count=4,
                extra_args=(f"--coordinator_address=localhost:{port}", "--num_processes=2", f"--process_id={i}"),
            )
            for i in range(2)
        ]
        return runs, logs

    runs, logs = start_both("stopped")
    deadline = time.monotonic() + TIMEOUT_S
    while not (
        (workdir / "metrics.jsonl").exists()
        and run_utils.read_metrics(workdir, "train")
        and run_utils.read_metrics(workdir, "train")[-1]["step"] >= 3
    ):
        assert all(r.poll() is None for r in runs) and time.monotonic() < deadline, logs[0].read_text()[-3000:]
        time.sleep(0.02)
    runs[1].send_signal(signal.SIGTERM)  # the preemption notice reaches one host only
    for run, log in zip(runs, logs):
        assert run.wait(timeout=TIMEOUT_S) == cli.EXIT_PREEMPTED, log.read_text()[-3000:]
    steps = [re.findall(r"saved the checkpoint of step (\d+) in", log.read_text()) for log in logs]
    assert len(steps[0]) == 1 and steps[0] == steps[1], steps
    step = int(steps[0][0])
    assert step < overrides["num_train_steps"]
    # Both processes wrote their iterator's position into the one checkpoint of that step.
    assert sorted(p.name for p in (workdir / f"checkpoints/{step}/data").glob("*.json")) == [
        "process_0-of-2.json",
        "process_1-of-2.json",
    ]

    runs, logs = start_both("resumed")
    for run, log in zip(runs, logs):
        assert run.wait(timeout=TIMEOUT_S) == 0, log.read_text()[-3000:]
    assert f"Resuming from the checkpoint of step {step}" in logs[1].read_text()
    train_and_evaluate(run_utils.toy_config("fsdp_tp", **overrides), tmp_path / "one_process")
    for split in ("train", "val"):
        two = {r["step"]: r["loss"] for r in run_utils.read_metrics(workdir, split)}
        one = {r["step"]: r["loss"] for r in run_utils.read_metrics(tmp_path / "one_process", split)}
        assert sorted(two) == sorted(one)
        np.testing.assert_allclose([two[s] for s in sorted(one)], [one[s] for s in sorted(one)], rtol=0, atol=ATOL)

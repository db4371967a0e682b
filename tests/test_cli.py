"""v2a_jax.cli, the endings every command shares: each command run as a subprocess on a mistake prints one line
naming the flag, file or field, exits with status 2, shows no traceback and leaves nothing behind; library INFO
lines stay hidden unless --verbose; a programming error keeps its traceback."""

import hashlib
import logging
import os
import subprocess
import sys

import pytest

from tests.train import run_utils
from tests.xla_flags import xla_flags
from v2a_jax import cli
from v2a_jax.train import run_config

TOY = f"--config={run_utils.REPO_ROOT / 'experiments/toy_regression.py'}"
TIMEOUT_S = 120


def _run(*args: str) -> tuple[int, str]:
    """(exit status, stderr + stdout) of `python -m ARGS` from the repository root on the CPU."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": xla_flags()}
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=run_utils.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    return result.returncode, result.stderr + result.stdout


def _one_error(output: str) -> str:
    """The `error:` line of a command's output, checking that it is the only one and that no traceback came."""
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output[-3000:]
    return errors[0]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_main_answers_flag_mistakes_in_one_line_and_creates_no_workdir(tmp_path):
    workdir = tmp_path / "run"
    rc, out = _run("v2a_jax.main", TOY, f"--workdir={workdir}", "--config.num_train_step=5")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out) == "error: --config.num_train_step=5: no such config field (did you mean num_train_steps?)"
    rc, out = _run("v2a_jax.main", "--config=experiments/no_such_config.py", f"--workdir={workdir}")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out) == (
        "error: --config=experiments/no_such_config.py: cannot load the config file (no such file)"
    )
    # A dataset that was never built: found when the task opens it, before the workdir exists.
    rc, out = _run(
        "v2a_jax.main",
        "--config=experiments/autoencoder.py:cpu",
        f"--workdir={workdir}",
        f"--config.data.data_dir={tmp_path / 'no_data'}",
    )
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out).startswith(f"error: {tmp_path / 'no_data'}/binaural_synth/small: no prepared dataset")
    assert not workdir.exists()
    blocker = tmp_path / "a_file"
    blocker.write_text("keep")
    rc, out = _run("v2a_jax.main", TOY, f"--workdir={blocker}")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out) == f"error: --workdir={blocker}: is a file, not a directory"
    assert blocker.read_text() == "keep"


def test_main_logs_progress_without_library_chatter_and_refuses_another_config(tmp_path):
    rc, out = _run(
        "v2a_jax.main", TOY, f"--workdir={tmp_path}", "--config.num_train_steps=2", "--config.log_every_steps=1"
    )
    assert rc == 0, out[-3000:]
    info = [line for line in out.splitlines() if line.startswith("I") and "] " in line]
    sources = {line.split("] ")[0].split()[-1].split(":")[0] for line in info}
    assert sources <= {"trainer.py", "progress.py"}, sources  # orbax and clu INFO lines are hidden
    assert any("step 2/2" in line for line in info)
    before = _digest(tmp_path / "config.json")
    rc, out = _run(
        "v2a_jax.main", TOY, f"--workdir={tmp_path}", "--config.num_train_steps=2", "--config.model.hidden=64"
    )
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out).startswith(
        f"error: {tmp_path / 'config.json'}: this workdir holds a run of another "
        f"config: model.hidden (32 -> 64); train it in a new --workdir"
    )
    assert _digest(tmp_path / "config.json") == before

    # A truncated checkpoint: refused with its path (orbax's late callbacks print no traceback either).
    for path in (tmp_path / "checkpoints/2/state").rglob("*"):
        if path.is_file() and path.parent.name == "d":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rc, out = _run("v2a_jax.main", TOY, f"--workdir={tmp_path}", "--config.num_train_steps=4")
    assert rc == cli.EXIT_USER_ERROR
    line = _one_error(out)
    assert line.startswith(f"error: {tmp_path / 'checkpoints/2'}: cannot restore this checkpoint (")
    assert line.endswith(f"move it out of {tmp_path / 'checkpoints'} to resume from scratch")


def test_build_refuses_a_data_dir_under_a_file(tmp_path):
    (tmp_path / "a_file").write_text("")
    rc, out = _run("data.binaural_synth.build", "--config=small", f"--data_dir={tmp_path / 'a_file/data'}")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out) == (
        f"error: --data_dir={tmp_path / 'a_file/data'}: {tmp_path / 'a_file'} is a file, not a directory"
    )


def test_autoencoder_commands_need_exported_statistics(tmp_path):
    stats = tmp_path / "latent_stats.json"
    rc, out = _run("experiments.tools.evaluate_autoencoder", f"--workdir={tmp_path}")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out).startswith(f"error: {stats}: no latent statistics; export them first")
    assert list(tmp_path.iterdir()) == []


def test_ablations_refuse_a_run_of_another_task_before_writing(tmp_path):
    run_config.save(run_utils.toy_config(), tmp_path / "toy")
    rc, out = _run("v2a_jax.evaluation.ablations", f"--workdirs={tmp_path / 'toy'}", f"--out={tmp_path / 'a.md'}")
    assert rc == cli.EXIT_USER_ERROR
    assert _one_error(out) == (
        f"error: {tmp_path / 'toy'}: config.task='v2a_jax.train.toy_task:ToyRegressionTask' is not the generator task"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_sample_answers_flag_mistakes_in_one_line_before_loading_anything(tmp_path):
    video, out = f"--video={tmp_path / 'in.mp4'}", f"--out={tmp_path / 'out.mp4'}"
    both = "give exactly one of --workdir and --checkpoint"
    # No workdir exists: the flags are checked before it is loaded.
    mistakes = {  # flags -> what the line says (two mistakes of flag combinations share it)
        ("--workdir=runs/w", "--checkpoint=runs/w/checkpoints/2", video): (both, "--video needs --out"),
        (video, out): (both,),
        ("--workdir=runs/w", video, out, "--overlap_s=-0.5"): ("flag --overlap_s=-0.5: -0.5 is not a non-negative",),
        ("--workdir=runs/w", video, out, "--num_steps=0"): ("flag --num_steps=0: 0 is not a positive integer",),
        ("--workdir=runs/w", video, out, "--method=rk4"): ("flag --method=rk4: value should be one of <euler|heun|",),
        ("--workdir=runs/w", video, out, "--guidance_interval=0.5,0.2"): (
            "--guidance_interval: expected two flow times LO,HI with 0 <= LO < HI <= 1",
        ),
    }
    for args, expected in mistakes.items():
        rc, output = _run("v2a_jax.sample", *args)
        assert rc == cli.EXIT_USER_ERROR, output[-3000:]
        line = _one_error(output)
        assert all(part in line for part in expected), line
    assert list(tmp_path.iterdir()) == []


def test_programming_errors_keep_their_traceback_and_user_errors_do_not(capsys):
    def broken(argv):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        cli.guard(broken)([])

    def mistaken(argv):
        raise cli.NotFoundError("x.mp4: no such file\n(second line)")

    assert cli.guard(mistaken)([]) == cli.EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: x.mp4: no such file (second line)\n"


def test_library_info_is_hidden_unless_verbose():
    chatter = cli._LibraryChatter()

    def record(path, level):
        return logging.LogRecord("absl", level, path, 1, "message", None, None)

    project = os.path.join(run_utils.REPO_ROOT, "v2a_jax/train/trainer.py")
    library = os.path.join(os.path.dirname(logging.__file__), "site-packages/orbax/checkpoint_manager.py")
    assert chatter.filter(record(project, logging.INFO))
    assert not chatter.filter(record(library, logging.INFO))
    assert chatter.filter(record(library, logging.WARNING))

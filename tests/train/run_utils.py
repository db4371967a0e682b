"""Helpers shared by the trainer tests: small toy configs, launching runs, reading their outputs."""

import json
import os
import pathlib
import struct
import subprocess
import sys
from typing import Any

import grain
import jax
import ml_collections
from tensorboardX.proto import event_pb2

from experiments import toy_regression
from tests.xla_flags import xla_flags
from v2a_jax.train import checkpointing, partitioning
from v2a_jax.train.task import load_task

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

# A run of a few steps that logs every step, validates and checkpoints every 4, and uses a constant
# learning rate, so that a shorter run is a prefix of a longer one.
FAST = {
    "num_train_steps": 8,
    "log_every_steps": 1,
    "eval_every_steps": 4,
    "eval_steps": 2,
    "checkpoint_every_steps": 4,
    "summary_every_steps": 8,
    "optimizer.schedule": "constant",
    "optimizer.warmup_steps": 0,
}


def toy_config(variant: str = "local", **overrides: Any) -> ml_collections.ConfigDict:
    """The toy config with FAST and then `overrides` applied; dotted names use "__" for ".", e.g.
    toy_config(model__nan_at_step=3)."""
    config = toy_regression.get_config(variant)
    config.update_from_flattened_dict({**FAST, **{name.replace("__", "."): value for name, value in overrides.items()}})
    return config


def load_params(
    config: ml_collections.ConfigDict, workdir, *, step: int | None = None, mesh=None, use_ema: bool = False
) -> tuple[Any, int]:
    """(params, step) of the toy run of `config` in `workdir` through checkpointing.load_params (the raw params
    by default: the toy tests compare them with the trainer's final state), on `mesh` (default: the config's)."""
    task = load_task(config)
    batch = next(
        iter(
            task.make_dataset("train", seed=0, shard_options=grain.sharding.NoSharding(), batch_size=config.batch_size)
        )
    )
    example = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), batch)
    mesh = partitioning.make_mesh(config.mesh) if mesh is None else mesh
    return checkpointing.load_params(
        workdir,
        task.init,
        example,
        mesh=mesh,
        rules=partitioning.logical_axis_rules(config),
        step=step,
        use_ema=use_ema,
    )


def main_command(workdir: pathlib.Path, variant: str = "local", **overrides: Any) -> list[str]:
    """The `python -m v2a_jax.main` command line for toy_config(variant, **overrides)."""
    flags = {**FAST, **{name.replace("__", "."): value for name, value in overrides.items()}}
    return [
        sys.executable,
        "-m",
        "v2a_jax.main",
        f"--config={REPO_ROOT / 'experiments/toy_regression.py'}:{variant}",
        f"--workdir={workdir}",
        *(f"--config.{k}={v}" for k, v in flags.items()),
    ]


def start(
    command: list[str], log_path: pathlib.Path, xla_device_count: int = 8, extra_args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """Starts `command` from the repo root on a CPU with `xla_device_count` devices, logging to
    `log_path` (a file, not a pipe: a full pipe would block the run)."""
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": xla_flags(xla_device_count),
    }
    return subprocess.Popen(
        [*command, *extra_args], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("w")
    )


def read_metrics(workdir: pathlib.Path, split: str) -> list[dict[str, float]]:
    """The records of `split` in workdir/metrics.jsonl, in the order written."""
    lines = (pathlib.Path(workdir) / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["split"] == split]


def read_events(workdir: pathlib.Path) -> list[event_pb2.Event]:
    """All events of the TensorBoard files in workdir/tensorboard (TFRecord framing: u64 length,
    u32 length CRC, payload, u32 payload CRC)."""
    events = []
    for path in sorted((pathlib.Path(workdir) / "tensorboard").iterdir()):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            events.append(event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length]))
            offset += 12 + length + 4
    return events

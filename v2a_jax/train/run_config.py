"""The config a run was trained with, kept in its workdir (`WORKDIR/config.json`).

Evaluation and sampling take `--workdir=DIR` alone: they read the run's config from here, so a checkpoint is
never paired with a config that does not match it. The trainer writes it when a run starts (process 0).
"""

from __future__ import annotations

import json

import ml_collections
from etils import epath

CONFIG_FILE = "config.json"


def save(config: ml_collections.ConfigDict, workdir: epath.PathLike) -> epath.Path:
    """Writes `config` as JSON to WORKDIR/config.json (replacing an older one: a resumed run may change flags)."""
    path = epath.Path(workdir) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(json.loads(config.to_json_best_effort()), indent=2, sort_keys=True))
    tmp.replace(path)  # atomic, and a resumed run overwrites the config of its first start
    return path


def _tuples(value):
    """JSON has no tuples; configs use them for fixed-size fields (resolutions, band edges, grids)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def load(workdir: epath.PathLike) -> ml_collections.ConfigDict:
    """The config saved by `save` in `workdir`. Raises FileNotFoundError naming the file when it is missing and
    ValueError when it is not valid JSON."""
    path = epath.Path(workdir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no run config (is {workdir} a training workdir of this project?)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a valid run config ({e})") from e
    return ml_collections.ConfigDict(_tuples(data))

"""The config a run was trained with, kept in its workdir (`WORKDIR/config.json`).

Evaluation and sampling take `--workdir=DIR` alone: they read the run's config from here, so a checkpoint is
never paired with a config that does not match it. A workdir belongs to one run: the trainer checks a rerun's
config against the saved one (`check_same_run`, before anything is written) and then writes it (process 0).
A rerun may change only RESUMABLE_FIELDS: how long to train, how often to log, validate, write summaries and
checkpoints, how many checkpoints to keep, and the device layout (checkpoints restore onto any mesh).

Old runs: a field added to a task's config after runs were saved without it is listed in ADDED_FIELDS with the
value that reproduces those runs, and a field whose values were renamed is listed in RENAMED_VALUES; `load`
applies both. That is the one conversion of saved configs, so that the code reading a config never needs a
default or an old spelling of its own.

`parse_section` is the one way a config section becomes the frozen dataclass a module is built from (the
generator's ModelConfig, the autoencoder's AutoencoderConfig, the sampler's settings): field for field, an
unknown or a missing one refused with one line naming it.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

import ml_collections
from etils import epath

from v2a_jax import cli

CONFIG_FILE = "config.json"
# Top-level fields (a subtree counts as one) a rerun into the same workdir may change (module docstring).
RESUMABLE_FIELDS = (
    "num_train_steps",
    "log_every_steps",
    "eval_every_steps",
    "eval_steps",
    "summary_every_steps",
    "checkpoint_every_steps",
    "keep_checkpoints",
    "mesh",
    "logical_axis_rules",
)
# Per task (config.task): (dotted field, the value runs saved without it were trained and sampled with).
ADDED_FIELDS = {
    "v2a_jax.generator.task:GeneratorTask": (
        ("sampler.shift", 1.0),
        ("model.remat", False),
        ("model.video.localisation_weight", 0.0),
        ("data.localisation_targets", "ground_truth"),
        ("model.attention", "xla"),
        ("model.scan_layers", True),
        ("flow.itd_weight", 0.0),
        ("sampler.guidance_interval", (0.0, 1.0)),
    ),
}
# Per task: (dotted field, {old value: new value}).
RENAMED_VALUES = {
    "v2a_jax.generator.task:GeneratorTask": (("model.remat", {False: "none", True: "full"}),),
}


def _as_json(config: ml_collections.ConfigDict) -> dict:
    return json.loads(config.to_json_best_effort())


def save(config: ml_collections.ConfigDict, workdir: epath.PathLike) -> epath.Path:
    """Writes `config` as JSON to WORKDIR/config.json, atomically (a rename; a resumed run replaces the file with
    its RESUMABLE_FIELDS changed)."""
    path = epath.Path(workdir) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(_as_json(config), indent=2, sort_keys=True))
    tmp.replace(path)
    return path


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def check_same_run(config: ml_collections.ConfigDict, workdir: epath.PathLike) -> None:
    """Raises UserError when `workdir` is not a directory, or holds the config of another run: one that differs
    from `config` in a field outside RESUMABLE_FIELDS (the message names the first few and how to start a new run).
    A workdir without config.json is a new run."""
    workdir = epath.Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise cli.UserError(f"--workdir={workdir}: is a file, not a directory")
    if not (workdir / CONFIG_FILE).exists():
        return
    saved = json.loads(json.dumps(load(workdir).to_dict()))  # tuples back to lists, as in the new config's JSON
    saved, new = (
        _flatten({k: v for k, v in tree.items() if k not in RESUMABLE_FIELDS}) for tree in (saved, _as_json(config))
    )
    differing = sorted(k for k in saved.keys() | new.keys() if saved.get(k, "<absent>") != new.get(k, "<absent>"))
    if differing:
        shown = ", ".join(f"{k} ({saved.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r})" for k in differing[:3])
        more = f" and {len(differing) - 3} more" if len(differing) > 3 else ""
        raise cli.UserError(
            f"{workdir / CONFIG_FILE}: this workdir holds a run of another config: {shown}{more}; "
            f"train it in a new --workdir (a rerun may change only {', '.join(RESUMABLE_FIELDS)})"
        )


def _tuples(value):
    """JSON has no tuples; configs use them for fixed-size fields (resolutions, band edges, grids)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def check_workdir(workdir: epath.PathLike) -> epath.Path:
    """`workdir` as a Path; raises cli.NotFoundError when it is a file or does not exist (every reader of a run)."""
    workdir = epath.Path(workdir)
    if not workdir.is_dir():
        raise cli.NotFoundError(f"{workdir}: {'is a file, not a workdir' if workdir.exists() else 'no such workdir'}")
    return workdir


def load(workdir: epath.PathLike) -> ml_collections.ConfigDict:
    """The config saved by `save` in `workdir`. Raises cli.NotFoundError (a FileNotFoundError) naming the file
    when it is missing and cli.ConfigError (a ValueError) when it is empty or not a JSON object."""
    workdir = check_workdir(workdir)
    path = workdir / CONFIG_FILE
    if not path.exists():
        raise cli.NotFoundError(f"{path}: no run config (is {workdir} a training workdir of this project?)")
    text = path.read_text()
    if not text.strip():
        raise cli.ConfigError(f"{path}: not a valid run config (the file is empty)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise cli.ConfigError(f"{path}: not a valid run config ({e})") from e
    if not isinstance(data, dict):
        raise cli.ConfigError(f"{path}: not a valid run config (a JSON {type(data).__name__}, not an object)")
    return ml_collections.ConfigDict(_tuples(_upgrade(data)))


def _upgrade(data: dict) -> dict:
    """`data` with the ADDED_FIELDS of its task that it lacks filled in and its RENAMED_VALUES renamed (module
    docstring)."""
    task = data.get("task")
    for field, value in ADDED_FIELDS.get(task, ()):
        node, name = _parent(data, field)
        node.setdefault(name, value)
    for field, renames in RENAMED_VALUES.get(task, ()):
        node, name = _parent(data, field)
        # bool is hashed like 0/1: look values up by (type, value) so that 1 is not taken for True.
        old = node.get(name)
        for before, after in renames.items():
            if type(old) is type(before) and old == before:
                node[name] = after
    return data


def _parent(data: dict, field: str) -> tuple[dict, str]:
    """(the section of `data` holding the dotted `field`, created where missing; the field's own name)."""
    *parents, name = field.split(".")
    for parent in parents:
        data = data.setdefault(parent, {})
    return data, name


def parse_section(cls: type, section: Any, path: str, **given: Any):
    """`cls` (a config dataclass) from the config section at `path` (e.g. "config.model"), its nested dataclass
    sections parsed alike; `given` holds the fields that do not come from the section. A field without a default
    must be in the section; unknown fields are refused (cli.ConfigError naming them). Lists (a config.json stores
    tuples as lists) become tuples, so the result stays hashable."""
    if not isinstance(section, (ml_collections.ConfigDict, dict)):
        raise cli.ConfigError(f"{path}={section!r}: expected a section with the fields of {cls.__name__}")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name not in given]
    names = [f.name for f in fields]
    unknown = sorted(set(section.keys()) - set(names))
    if unknown:
        raise cli.ConfigError(
            f"{', '.join(f'{path}.{k}' for k in unknown)}: unknown field"
            f"{'s' if len(unknown) > 1 else ''}; known: {', '.join(names)}"
        )
    required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in section]
    if missing:
        raise cli.ConfigError(
            f"{', '.join(f'{path}.{k}' for k in missing)}: missing (the experiments/ configs set "
            f"every field; a saved run older than a field gets it from ADDED_FIELDS)"
        )
    values = {}
    for name in names:
        if name not in section:
            continue  # has a default
        value = section[name]
        if dataclasses.is_dataclass(hints[name]):
            value = parse_section(hints[name], value, f"{path}.{name}")
        elif isinstance(value, (list, tuple)):
            value = tuple(value)
        elif isinstance(value, ml_collections.ConfigDict):
            value = value.to_dict()
        values[name] = value
    return cls(**values, **given)

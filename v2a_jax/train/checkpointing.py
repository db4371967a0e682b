"""Orbax checkpoints holding the train state and the Grain iterator position, with retention.

Layout: `<directory>/<step>/state` (the TrainState pytree, each process writing its shards) and
`<directory>/<step>/data/process_<i>-of-<n>.json` (each process's iterator state). Saving is
asynchronous: `save` returns once the arrays are copied off the devices, and a checkpoint only
appears under its final name once complete, so a run killed mid-save leaves the previous one intact; a save
that fails (a full disk) is a CheckpointError and leaves the previous ones as they were. A checkpoint that
cannot be restored (truncated, corrupt) is refused with its path, not skipped (the trainer says how to resume
from the one before). Retention: the newest `keep` checkpoints plus the one saved with the lowest validation loss.

Every consumer of a trained run (the codec, generator inference, evaluation, latent statistics, the classifier's
embedding) opens it through `load_params`: the params alone, shaped by the model's init on abstract inputs, so
that no dataset or optimiser is built; the trainer alone restores whole train states (`restore`).
"""

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import grain
import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint import checkpoint_managers

# Not exported: the default handler's metadata store, and the registry add() that can skip its override warning.
from orbax.checkpoint._src.metadata import array_metadata_store
from orbax.checkpoint._src.serialization import type_handler_registry

from v2a_jax import cli
from v2a_jax.train import run_config
from v2a_jax.train import state as state_lib
from v2a_jax.train.partitioning import LogicalRules
from v2a_jax.train.state import TrainState

CHECKPOINTS = "checkpoints"  # WORKDIR/checkpoints/STEP/{state,data}

# Orbax writes a replicated array in parts, one per replica, each cut out by a slice compiled per array shape and
# device. For small arrays (biases, norms, a tiny model's kernels) the compiles cost far more than the parallel
# write gains (experiments/RESULTS.md, "Project operations"). Parts below this size are written whole by one
# replica; the files are the same either way.
MIN_BYTES_PER_REPLICA_PART = 4 * 2**20
type_handler_registry.GLOBAL_TYPE_HANDLER_REGISTRY.add(
    jax.Array,
    ocp.type_handlers.ArrayHandler(
        min_slice_bytes_for_replica_parallel=MIN_BYTES_PER_REPLICA_PART,
        array_metadata_store=array_metadata_store.Store(),  # as in orbax's default handler
    ),
    override=True,
    ignore_warnings=True,  # replacing the default handler is the point
)


class CheckpointError(cli.UserError, ValueError):
    """A checkpoint that cannot be loaded or saved; the message names the path and the problem."""


def make_manager(directory: epath.PathLike, keep: int) -> ocp.CheckpointManager:
    """A manager over `directory` keeping the last `keep` checkpoints and the best by val "loss"."""
    if keep < 1:
        raise cli.ConfigError(f"config.keep_checkpoints={keep}: must be >= 1")
    policy = checkpoint_managers.AnyPreservationPolicy(
        [
            checkpoint_managers.LatestN(n=keep),
            # reverse=True sorts by descending loss and BestN keeps the tail: the lowest loss.
            checkpoint_managers.BestN(
                get_metric_fn=lambda metrics: metrics["loss"],
                reverse=True,
                n=1,
                keep_checkpoints_without_metrics=False,
            ),
        ]
    )
    # best_fn only makes orbax write each checkpoint's metrics to disk and read them back on start,
    # so that the best checkpoint survives a resume; the policy above decides what is kept.
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy, best_fn=lambda metrics: metrics["loss"], best_mode="min"
    )
    # orbax refuses relative paths when saving; `--workdir=runs/x` is how people call the trainer.
    return ocp.CheckpointManager(epath.Path(directory).absolute(), options=options)


def save(
    manager: ocp.CheckpointManager,
    state: TrainState,
    data_iterator: grain.DatasetIterator,
    val_metrics: Mapping[str, float] | None = None,
) -> None:
    """Saves `state` and the iterator position under step `state.step`; `val_metrics` (with "loss")
    are those of this very state and make it a candidate for the best checkpoint. Raises CheckpointError
    when the files cannot be written (e.g. a full disk; also for the previous save, finishing in the background)."""
    step = int(state.step)
    wait(manager)  # the previous save, usually long finished: its failure is reported with its own step
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(data_iterator))
    try:
        manager.save(step, args=args, metrics=None if val_metrics is None else dict(val_metrics))
    except (OSError, ValueError) as e:
        if (reason := _write_failure(e)) is None:
            raise
        raise _save_error(manager, step, reason) from e


def wait(manager: ocp.CheckpointManager) -> None:
    """Waits for the save in flight; raises CheckpointError if it failed (see `save`)."""
    step = manager.latest_step()  # the one in flight, if any: the manager lists a step once it is requested
    try:
        manager.wait_until_finished()
    except (OSError, ValueError) as e:
        if (reason := _write_failure(e)) is None:
            raise
        raise _save_error(manager, step, reason) from e


def _write_failure(error: Exception) -> str | None:
    """The operating system's reason when `error` is a failed write: an OSError (the iterator's files), or
    tensorstore's ValueError carrying an os_error_code (the arrays, written in the background); else None."""
    if isinstance(error, OSError):
        return error.strerror or cli.one_line(error)
    # The code, not the text before it: tensorstore may put other annotations (its spec) between the two.
    match = re.search(r"\[os_error_code='?(\d+)'?\]", str(error))
    return os.strerror(int(match.group(1))) if match else None


def _save_error(manager: ocp.CheckpointManager, step: int | None, reason: str) -> CheckpointError:
    manager.reload()  # the steps on disk: one that failed half-way is not among them
    kept = [s for s in manager.all_steps() if s != step]
    what = "a checkpoint" if step is None else f"the checkpoint of step {step}"
    previous = f"the checkpoint of step {max(kept)} is intact" if kept else "no earlier checkpoint exists"
    return CheckpointError(f"{manager.directory}: cannot save {what} ({reason}); {previous}")


def restore(
    manager: ocp.CheckpointManager,
    step: int,
    abstract_state: TrainState,
    data_iterator: grain.DatasetIterator | None = None,
) -> TrainState:
    """The state saved at `step`, laid out as `abstract_state`'s shardings say (any mesh), and
    `data_iterator` moved to the saved position when given. Raises CheckpointError naming the checkpoint when it
    cannot be read (module docstring)."""
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
        items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    try:
        return manager.restore(step, args=ocp.args.Composite(**items)).state
    except Exception as e:  # orbax and tensorstore raise assorted types for missing or damaged files
        raise CheckpointError(
            f"{epath.Path(manager.directory) / str(step)}: cannot restore this checkpoint ({cli.one_line(e)[:300]})"
        ) from e


def _check_shapes(path: epath.Path, expected, saved) -> None:
    """Raises CheckpointError naming the first param missing, extra or of another shape in `saved`."""

    def flat(tree):
        return {
            jax.tree_util.keystr(k, simple=True, separator="/"): v
            for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]
        }

    flat_expected, flat_saved = flat(expected), flat(saved)
    missing, extra = sorted(flat_expected.keys() - flat_saved.keys()), sorted(flat_saved.keys() - flat_expected.keys())
    if missing:
        raise CheckpointError(
            f"{path}: does not match its config: param {missing[0]} is not in the checkpoint ({len(missing)} missing)"
        )
    if extra:
        raise CheckpointError(
            f"{path}: does not match its config: the checkpoint has param {extra[0]}, "
            f"which the config's model lacks ({len(extra)} such)"
        )
    for name, spec in flat_expected.items():
        shape = tuple(flat_saved[name].shape)
        if shape != tuple(spec.shape):
            raise CheckpointError(
                f"{path}: does not match its config: param {name} has shape {shape} "
                f"in the checkpoint, the config builds {tuple(spec.shape)}"
            )


def step_dir(workdir: epath.PathLike, step: int | None = None) -> tuple[int, epath.Path]:
    """(step, WORKDIR/checkpoints/STEP) of the checkpoint `step` of the run in `workdir` (default: the newest).
    Raises cli.NotFoundError naming the missing workdir or checkpoint (and the saved steps)."""
    directory = run_config.check_workdir(workdir) / CHECKPOINTS
    steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()) if directory.is_dir() else []
    if step is None:
        if not steps:
            raise cli.NotFoundError(f"{directory}: no checkpoint")
        step = steps[-1]
    if step not in steps:
        raise cli.NotFoundError(f"{directory / str(step)}: no such checkpoint (saved steps: {steps or 'none'})")
    return step, directory / str(step)


def split_step_dir(path: epath.PathLike) -> tuple[epath.Path, int]:
    """WORKDIR/checkpoints/STEP -> (WORKDIR, STEP), for commands that take a checkpoint directory."""
    path = epath.Path(path)
    if not path.name.isdigit() or path.parent.name != CHECKPOINTS:
        raise CheckpointError(f"{path}: not a checkpoint directory (expected WORKDIR/{CHECKPOINTS}/STEP)")
    return path.parent.parent, int(path.name)


def load_params(
    workdir: epath.PathLike,
    init_fn: Callable[..., Any],
    *example: Any,
    mesh: jax.sharding.Mesh,
    rules: LogicalRules,
    step: int | None = None,
    use_ema: bool = True,
) -> tuple[Any, int]:
    """(params, step) of the checkpoint `step` (default: the newest) of the run in `workdir`: its EMA params (or
    the raw ones), shaped as `init_fn(key, *example)` returns them (`example`: ShapeDtypeStructs; nothing is
    computed) and laid out on `mesh` by `rules`, whatever mesh the run was trained on.

    Raises cli.NotFoundError (missing workdir or checkpoint), cli.ConfigError (a config whose model cannot be
    built on `example`) and CheckpointError (a checkpoint that does not match the model or cannot be read), each
    naming the path."""
    step, directory = step_dir(workdir, step)
    try:
        abstract = state_lib.abstract_tree(init_fn, mesh, rules, jax.ShapeDtypeStruct((2,), jnp.uint32), *example)
    except ValueError as e:  # e.g. frames that do not pool to the model's image size
        raise cli.ConfigError(f"{workdir}: its config does not build a model ({cli.one_line(e)})") from e
    return _restore_params(directory / "state", "ema_params" if use_ema else "params", abstract), step


def _restore_params(path: epath.PathLike, key: str, abstract):
    """The `key` entry ("params" or "ema_params") of the TrainState saved at `path` (a checkpoint's state item,
    `<directory>/<step>/state`), laid out as `abstract` says (ShapeDtypeStructs with shardings), after checking
    its shapes; nothing else of the state is read, so no dataset or optimiser is needed (sampling, codecs).
    Raises CheckpointError naming the path and the first mismatch."""
    path = epath.Path(path)
    # The handler reads the state item directly (the checkpointer would look for a step-level metadata file).
    handler = ocp.PyTreeCheckpointHandler()
    try:
        try:
            saved = handler.metadata(path.absolute())
        except Exception as e:  # orbax raises assorted types for unreadable metadata
            raise CheckpointError(f"{path}: unreadable checkpoint ({' '.join(str(e).split())[:200]})") from e
        saved = getattr(saved, "tree", saved)
        if key not in saved:
            raise CheckpointError(f"{path}: the checkpoint has no {key} (entries: {sorted(saved)})")
        _check_shapes(path, abstract, saved[key])
        restore_args = jax.tree.map(
            lambda s: ocp.ArrayRestoreArgs(sharding=s.sharding, global_shape=s.shape, dtype=s.dtype), abstract
        )
        try:
            restored = handler.restore(
                path.absolute(),
                args=ocp.args.PyTreeRestore(
                    item={key: abstract}, restore_args={key: restore_args}, partial_restore=True
                ),
            )
        except Exception as e:
            raise CheckpointError(f"{path}: cannot restore {key} ({' '.join(str(e).split())[:200]})") from e
    finally:
        handler.close()
    return restored[key]

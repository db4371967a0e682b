"""Orbax checkpoints holding the train state and the Grain iterator position, with retention.

Layout: `<directory>/<step>/state` (the TrainState pytree, each process writing its shards) and
`<directory>/<step>/data/process_<i>-of-<n>.json` (each process's iterator state). Saving is
asynchronous: `save` returns once the arrays are copied off the devices, and a checkpoint only
appears under its final name once complete, so a run killed mid-save leaves the previous one intact.
Retention: the newest `keep` checkpoints plus the one saved with the lowest validation loss.
"""

from collections.abc import Mapping

import grain
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint import checkpoint_managers

from v2a_jax.train.state import TrainState


def make_manager(directory: epath.PathLike, keep: int) -> ocp.CheckpointManager:
    """A manager over `directory` keeping the last `keep` checkpoints and the best by val "loss"."""
    if keep < 1:
        raise ValueError(f"config.keep_checkpoints={keep}: must be >= 1")
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
    are those of this very state and make it a candidate for the best checkpoint."""
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(data_iterator)
    )
    manager.save(int(state.step), args=args, metrics=None if val_metrics is None else dict(val_metrics))


def restore(
    manager: ocp.CheckpointManager,
    step: int,
    abstract_state: TrainState,
    data_iterator: grain.DatasetIterator | None = None,
) -> TrainState:
    """The state saved at `step`, laid out as `abstract_state`'s shardings say (any mesh), and
    `data_iterator` moved to the saved position when given."""
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
        items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    return manager.restore(step, args=ocp.args.Composite(**items)).state

"""Summary writing: TensorBoard event files (tensorboardX, no TensorFlow) plus `metrics.jsonl`.

Every scalar record goes to `<workdir>/tensorboard/` as `<split>/<name>` and is appended as one
JSON object per line to `<workdir>/metrics.jsonl`, e.g. {"step": 100, "split": "train",
"loss": 0.12, ...}. After a resume the steps between the last checkpoint and the interruption
appear twice in metrics.jsonl (identical values); TensorBoard hides the stale ones (purge_step).
Images and audio go to TensorBoard only. Only process 0 writes; on other processes the writer
does nothing, so callers need no checks.
"""

import dataclasses
import json
import time
from collections.abc import Mapping

import numpy as np
import tensorboardX
from etils import epath

from v2a_jax import cli

EVENT_QUEUE_POLL_S = 0.01  # how often a full event queue is looked at again while its writer thread works


@dataclasses.dataclass(frozen=True)
class Audio:
    """A waveform summary: float32 [C, N] in [-1, 1] with C in {1, 2} (0 = left ear), or [N]."""

    waveform: np.ndarray
    sample_rate: int


class SummaryWriter:
    """Writes scalars, images and audio for one run directory."""

    def __init__(self, workdir: epath.PathLike, *, enabled: bool, purge_step: int | None = None):
        """`purge_step`: the first step of a resumed run; TensorBoard discards older events at or
        after it (those of the interrupted run)."""
        self._enabled = enabled
        if enabled:
            workdir = epath.Path(workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            self._tb = tensorboardX.SummaryWriter(str(workdir / "tensorboard"), purge_step=purge_step)
            self._jsonl = (workdir / "metrics.jsonl").open("a")

    def scalars(self, step: int, split: str, scalars: Mapping[str, float]) -> None:
        """Writes `scalars` (name -> number) for `split` ("train" or "val") at `step`."""
        if not self._enabled:
            return
        values = {name: float(value) for name, value in scalars.items()}
        for name, value in values.items():
            self._check_event_writer()  # per event: one call may hold more events than the writer's queue
            self._tb.add_scalar(f"{split}/{name}", value, step)
        # Flushed per record so that readers (tests, `tail -f`) see it even if the run is killed.
        try:
            self._jsonl.write(json.dumps({"step": step, "split": split, **values}) + "\n")
            self._jsonl.flush()
        except OSError as e:  # e.g. a full disk
            raise cli.UserError(f"{self._jsonl.name}: cannot write ({e.strerror})") from e

    def media(self, step: int, media: Mapping[str, np.ndarray | Audio]) -> None:
        """Writes images (uint8 [H, W, 3]) and `Audio` values under `media/<name>` at `step`."""
        if not self._enabled:
            return
        for name, value in media.items():
            self._check_event_writer()
            tag = f"media/{name}"
            if isinstance(value, Audio):
                wave = np.asarray(value.waveform, np.float32)
                if not (wave.ndim == 1 or (wave.ndim == 2 and wave.shape[0] in (1, 2))):
                    raise ValueError(
                        f"summary {name!r}: audio must be [N] or [C, N] with C in (1, 2), got shape {wave.shape}"
                    )
                # tensorboardX wants frames first: [N, C].
                self._tb.add_audio(tag, wave.T if wave.ndim == 2 else wave, step, sample_rate=value.sample_rate)
            else:
                image = np.asarray(value)
                if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
                    raise ValueError(
                        f"summary {name!r}: images must be uint8 [H, W, 3], got {image.dtype} {image.shape}"
                    )
                self._tb.add_image(tag, image, step, dataformats="HWC")

    def _check_event_writer(self) -> None:
        """Returns once the event writer's queue has room for one more event; raises if its writer has stopped.

        tensorboardX (2.6) writes events from a background thread that ends silently when a write fails (a full
        disk), and enqueues with a blocking put on a bounded queue: an event put into a full queue whose thread
        then dies would block the training forever. This process is the queue's only producer, so an event put
        right after this returns cannot block.
        """
        while True:
            if self._event_writer_stopped():
                raise cli.UserError(
                    f"{self._tb.logdir}: cannot write TensorBoard events (its writer stopped on an error)"
                )
            queue = self._tb._get_file_writer().event_writer._event_queue
            if queue is None or not queue.full():
                return
            time.sleep(EVENT_QUEUE_POLL_S)

    def _event_writer_stopped(self) -> bool:
        worker = self._tb._get_file_writer().event_writer._worker
        return worker is not None and not worker.is_alive()

    def close(self) -> None:
        if self._enabled:
            if not self._event_writer_stopped():  # a stopped writer's close would wait on it forever
                self._tb.close()
            self._jsonl.close()

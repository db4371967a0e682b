"""The summary writer: TensorBoard events and metrics.jsonl from process 0 only."""

import io
import threading
import time

import numpy as np
import pytest
import soundfile

from tests.train import run_utils
from v2a_jax import cli
from v2a_jax.train.summaries import Audio, SummaryWriter


def test_scalars_images_and_audio_reach_tensorboard_and_jsonl(tmp_path):
    writer = SummaryWriter(tmp_path, enabled=True)
    writer.scalars(5, "train", {"loss": np.float32(0.25), "grad_norm": 2})
    writer.scalars(5, "val", {"loss": 0.5})
    image = np.zeros((4, 6, 3), np.uint8)
    image[1, 2] = (255, 0, 0)
    left, right = np.linspace(-0.5, 0.5, 160), np.zeros(160)
    writer.media(5, {"img": image, "wave": Audio(np.stack([left, right]), 16000)})
    writer.close()

    assert run_utils.read_metrics(tmp_path, "train") == [{"step": 5, "split": "train", "loss": 0.25, "grad_norm": 2.0}]
    assert run_utils.read_metrics(tmp_path, "val")[0]["loss"] == 0.5
    values = {v.tag: v for e in run_utils.read_events(tmp_path) for v in e.summary.value}
    assert values["train/loss"].simple_value == 0.25
    assert (values["media/img"].image.height, values["media/img"].image.width) == (4, 6)
    audio = values["media/wave"].audio
    assert (audio.sample_rate, audio.num_channels, audio.length_frames) == (16000, 2, 160)
    decoded, rate = soundfile.read(io.BytesIO(audio.encoded_audio_string))  # [N, C], frames first
    assert rate == 16000
    np.testing.assert_allclose(decoded[:, 0], left, atol=1e-4)  # channel 0 = left ear
    np.testing.assert_allclose(decoded[:, 1], 0.0, atol=1e-4)


def test_disabled_writer_writes_nothing(tmp_path):
    writer = SummaryWriter(tmp_path / "run", enabled=False)
    writer.scalars(1, "train", {"loss": 1.0})
    writer.media(1, {"img": np.zeros((2, 2, 3), np.uint8)})
    writer.close()
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((2, 2, 3), np.float32), "uint8"),
        (np.zeros((2, 2), np.uint8), r"\[H, W, 3\]"),
        (Audio(np.zeros((3, 10)), 16000), "C in"),
    ],
)
def test_bad_media_raise(tmp_path, value, message):
    writer = SummaryWriter(tmp_path, enabled=True)
    with pytest.raises(ValueError, match=message):
        writer.media(1, {"bad": value})
    writer.close()


def test_a_failed_event_write_raises_instead_of_hanging(tmp_path):
    """tensorboardX writes from a thread that ends on a write error (a full disk): the writer must then fail with
    a one-line error, and close, instead of blocking on the thread's full queue."""
    writer = SummaryWriter(tmp_path, enabled=True)
    event_writer = writer._tb._get_file_writer().event_writer

    def full_disk(event):
        raise OSError(28, "No space left on device")

    event_writer._ev_writer.write_event = full_disk
    writer.scalars(1, "train", {"loss": 1.0})  # queued; the thread dies writing it
    event_writer._worker.join(timeout=10)
    with pytest.raises(cli.UserError, match="cannot write TensorBoard events"):
        for step in range(2, 100):  # without the check, the queue (10 events) fills and put() blocks for ever
            writer.scalars(step, "train", {"loss": 1.0})
    closer = threading.Thread(target=writer.close, daemon=True)
    closer.start()
    closer.join(timeout=10)
    assert not closer.is_alive()


def test_a_writer_that_dies_while_its_queue_is_full_raises_instead_of_hanging(tmp_path):
    """The race behind a hang of the full-disk test: the thread is still alive (stuck in a slow write) while the
    queue fills, and dies only then; an event put into the full queue at that moment would wait for ever."""
    writer = SummaryWriter(tmp_path, enabled=True)
    event_writer = writer._tb._get_file_writer().event_writer
    release = threading.Event()

    def slow_then_full_disk(event):
        release.wait(timeout=30)
        raise OSError(28, "No space left on device")

    event_writer._ev_writer.write_event = slow_then_full_disk
    errors = []

    def write_many():
        try:
            writer.scalars(1, "train", {f"loss_{i}": 1.0 for i in range(50)})  # more events than the queue holds
        except cli.UserError as e:
            errors.append(str(e))

    producer = threading.Thread(target=write_many, daemon=True)
    producer.start()
    deadline = time.monotonic() + 10
    while not event_writer._event_queue.full() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert event_writer._event_queue.full() and event_writer._worker.is_alive()
    release.set()  # the stuck write fails: the thread dies with the queue full
    producer.join(timeout=10)
    assert not producer.is_alive(), "scalars() blocked on the dead writer's full queue"
    assert len(errors) == 1 and "cannot write TensorBoard events" in errors[0]

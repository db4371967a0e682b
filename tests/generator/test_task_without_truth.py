"""The generator task on a dataset without ground truth (`tiny_recorded`: 24x32 recordings, empty captions):
visaudio-tiny trains through the trainer, spatialv2a-tiny takes a training step, and a config asking for
ground-truth supervision stops at dataset open with one line naming the field to change."""

import json

import grain
import jax
import numpy as np
import pytest

from tests.generator import helpers
from v2a_jax.generator.task import GeneratorTask
from v2a_jax.input_pipeline import loader


def _config(model, data_dir, **overrides):
    return helpers.tiny_config(model, data_dir, data__name="recorded_tiny", data__duration_s=0.64, **overrides)


def _first_batch(task):
    data = task.make_dataset("train", seed=0, shard_options=grain.sharding.NoSharding(), batch_size=4)
    return next(iter(data))


@pytest.mark.xdist_group("recorded_run")
def test_visaudio_trains_and_validates_without_truth(tiny_recorded_run):
    records = [json.loads(line) for line in (tiny_recorded_run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"]
    val = [r for r in records if r["split"] == "val"]
    assert [r["step"] for r in train] == [1, 2] and [r["step"] for r in val] == [2]
    assert all(np.isfinite(r["flow_loss"]) for r in train) and np.isfinite(val[0]["loss"])
    # No ground truth, no localisation metrics (and the supervision was refused unless off: see below).
    assert not any(k.startswith(("patch_", "heatmap_")) for r in records for k in r)
    assert (tiny_recorded_run / "checkpoints" / "2").exists()
    assert list((tiny_recorded_run / "tensorboard").iterdir())  # the summaries (cue images without truth)


def test_batches_carry_no_truth_and_spatialv2a_takes_a_step(tiny_recorded):
    task = GeneratorTask(_config("spatialv2a", tiny_recorded))
    batch = _first_batch(task)
    # No stored truth: the localisation targets are computed from the audio inside the step (task.audio_targets).
    assert set(batch) == {"audio", "video", "caption_ids"}
    targets = jax.jit(task.audio_targets)(batch)
    assert np.all(np.isnan(targets["screen_y"])) and targets["screen_x"].shape == (4, 16, 1)
    assert batch["video"].shape == (4, 16, 24, 32, 3)  # non-square frames straight from the dataset
    np.testing.assert_array_equal(batch["caption_ids"][:, 1:], 0)  # empty captions: BOS, then padding
    params = jax.jit(task.init)(jax.random.PRNGKey(0), batch)
    (loss, metrics), grads = jax.jit(jax.value_and_grad(task.loss, has_aux=True))(
        params, batch, jax.random.PRNGKey(1), 0
    )
    assert np.isfinite(loss) and np.isfinite(metrics["heatmap_bce"])
    assert sum(float(np.abs(g).sum()) for g in jax.tree.leaves(grads)) > 0


@pytest.mark.parametrize(
    "model, field", [("visaudio", "model.video.localisation_weight"), ("spatialv2a", "model.spatialisation.aux_weight")]
)
def test_ground_truth_supervision_without_truth_is_a_one_line_error(tiny_recorded, model, field):
    task = GeneratorTask(
        _config(model, tiny_recorded, data__localisation_targets="ground_truth", **{field.replace(".", "__"): 0.1})
    )
    with pytest.raises(ValueError) as error:
        _first_batch(task)
    assert str(error.value) == (
        f"config.{field}=0.1 asks for ground-truth localisation supervision, but recorded_tiny "
        f"stores no ground-truth source positions: set --config.{field}=0 or "
        f"--config.data.localisation_targets=audio"
    )


def test_supervision_without_truth_takes_its_targets_from_the_audio(tiny_recorded):
    """'auto' on a truth-free dataset: the tuned encoder's read-out is supervised by the recording's own cues.
    The fixture's clips carry a bright blob on the side their interaural delay points to, so the targets' column
    must be on the blob's half of the frame."""
    task = GeneratorTask(_config("visaudio", tiny_recorded, model__video__localisation_weight=0.1))
    batch = _first_batch(task)
    params = jax.jit(task.init)(jax.random.PRNGKey(0), batch)
    loss, metrics = jax.jit(task.loss)(params, batch, jax.random.PRNGKey(1), 0)
    assert np.isfinite(loss) and metrics["patch_bce"] > 0
    assert np.isfinite(jax.jit(task.eval_step)(params, batch, jax.random.PRNGKey(2))["patch_bce"])  # validation too
    video = batch["video"].mean(axis=(1, 2, 4))  # [B, W] brightness per column
    blob_left = video[:, :16].mean(axis=1) > video[:, 16:].mean(axis=1)
    targets = jax.device_get(jax.jit(task.audio_targets)(batch))
    confident = targets["target_confident"] & targets["visible"][..., 0]
    assert confident.any()
    for i in range(len(blob_left)):
        if confident[i].any():
            x = np.nanmedian(targets["screen_x"][i, :, 0][confident[i]])
            assert (x < 16) == blob_left[i], (i, x, blob_left[i])


def test_supervision_without_any_targets_is_refused_not_skipped(tiny_recorded):
    """A truth-free batch reaching the loss of a task that never opened its data (no audio-target stage) must not
    train silently without the supervision its config asks for."""
    task = GeneratorTask(_config("visaudio", tiny_recorded, model__video__localisation_weight=0.1))
    batch = _first_batch(task)
    params = jax.jit(task.init)(jax.random.PRNGKey(0), batch)
    unopened = GeneratorTask(task.config)
    with pytest.raises(ValueError, match="model.video.localisation_weight.*no audio-target stage"):
        unopened.loss(params, batch, jax.random.PRNGKey(1), 0)


def test_text_condition_without_a_caption_feature_is_a_one_line_error():
    task = GeneratorTask(_config("visaudio", "", model__video__localisation_weight=0.0))
    no_captions = loader.ClipFormat(1.28, 16000, 25.0, 1 / 32767, features=("audio", "video"))
    with pytest.raises(
        ValueError,
        match=r"^config.model.text.enabled=True, but recorded_tiny stores no 'caption' "
        r"feature: set --config.model.text.enabled=false$",
    ):
        task.check_dataset(no_captions)
    task_without_text = GeneratorTask(
        _config("visaudio", "", model__video__localisation_weight=0.0, model__text__enabled=False)
    )
    task_without_text.check_dataset(no_captions)
    assert task_without_text.batch_keys(no_captions) == ("audio", "video")

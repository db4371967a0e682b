"""Test-wide setup: 8 forced CPU devices so sharding tests see a real mesh, compiled fast (tests/xla_flags.py).

The flags must be set before JAX initialises its backends, hence at conftest import time.
"""

import os

from tests.xla_flags import xla_flags

os.environ.setdefault("XLA_FLAGS", xla_flags())
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A tiny `binaural_synth` variant built once per test session: (builder, config, data_dir)."""
    from data.binaural_synth.binaural_synth_dataset_builder import BinauralSynth, BinauralSynthConfig
    from data.binaural_synth.scenes import SceneConfig

    config = BinauralSynthConfig(
        name="test_tiny",
        scene=SceneConfig(duration_s=1.28, image_size=32, fps=25.0, offscreen_prob=0.5),
        num_train=6,
        num_validation=2,
        num_test=3,
        seed=7,
    )
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    builder = BinauralSynth(config=config, data_dir=data_dir, num_workers=1)
    builder.download_and_prepare(file_format="array_record")
    return builder, config, data_dir


@pytest.fixture(scope="session")
def tiny_generator_run(tiny_synth, tmp_path_factory):
    """Workdir (config.json, checkpoints/2) of a tiny ViSAudio generator trained for 2 steps on `tiny_synth` with
    the FrameCodec stand-in; shared by the evaluation and sampling tests (mark them
    `pytest.mark.xdist_group("generator_run")` so that one worker trains it once)."""
    from tests.generator import helpers
    from v2a_jax.train import trainer

    # The 2 validation clips do not fill a batch of 8 on the 8-device mesh: validate on train + validation.
    config = helpers.tiny_config(
        "visaudio",
        tiny_synth[2],
        num_train_steps=2,
        eval_every_steps=2,
        eval_steps=1,
        checkpoint_every_steps=2,
        summary_every_steps=100,
        log_every_steps=1,
        data__val_split="train+validation",
    )
    path = tmp_path_factory.mktemp("generator_run")
    trainer.train_and_evaluate(config, path)
    return path


@pytest.fixture(scope="session")
def tiny_recorded(tmp_path_factory):
    """data_dir of `recorded_tiny` (tests/input_pipeline/recorded_dataset.py): truth-free, caption-less recordings with
    24x32 frames, in the stored layout of the recorded-video builders; splits of 8 / 2 / 3 clips."""
    from tests.input_pipeline import recorded_dataset

    return recorded_dataset.build(str(tmp_path_factory.mktemp("tfds_recorded")))


@pytest.fixture(scope="session")
def tiny_recorded_run(tiny_recorded, tmp_path_factory):
    """Workdir of visaudio-tiny (its ground-truth localisation supervision off, captions on: all empty) trained for
    2 steps on 0.64 s crops of `tiny_recorded` with the FrameCodec stand-in, with summaries at step 2; mark its users
    `pytest.mark.xdist_group("recorded_run")`."""
    from tests.generator import helpers
    from v2a_jax.train import trainer

    config = helpers.tiny_config(
        "visaudio",
        tiny_recorded,
        data__name="recorded_tiny",
        data__duration_s=0.64,
        model__video__localisation_weight=0.0,
        num_train_steps=2,
        eval_every_steps=2,
        eval_steps=1,
        checkpoint_every_steps=2,
        summary_every_steps=2,
        log_every_steps=1,
        data__val_split="train+validation",
    )
    path = tmp_path_factory.mktemp("recorded_run")
    trainer.train_and_evaluate(config, path)
    return path

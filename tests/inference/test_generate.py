"""Loading a trained generator without its dataset and generating audio for frames of any length, rate and size;
one-line errors for a missing workdir or checkpoint and for a config that does not match the checkpoint."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from tests.video import helpers as video_helpers
from v2a_jax.inference import generate
from v2a_jax.train import checkpointing

pytestmark = pytest.mark.xdist_group("generator_run")


@pytest.fixture(scope="module")
def workdir(tiny_generator_run):
    return tiny_generator_run


@pytest.fixture(scope="module")
def gen(workdir, tmp_path_factory):
    # A copy whose config points at no dataset: loading must not need one.
    copy = tmp_path_factory.mktemp("no_data") / "run"
    shutil.copytree(workdir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["data"]["data_dir"] = str(copy / "missing_dataset")
    (copy / "config.json").write_text(json.dumps(config))
    return generate.load_generator(copy)


@pytest.fixture(scope="module")
def fast(gen):
    """The run's own sampler at 2 steps."""
    return generate.SamplingOptions(sampler=gen.sampler.replace(num_steps=2))


def test_load_picks_the_newest_checkpoint_and_the_model_geometry(gen):
    assert gen.step == 2 and gen.fps == 25.0 and gen.sample_rate == 16000
    assert gen.window_frames == 32 and gen.frame_size == 64


@pytest.mark.parametrize("num_frames,fps", [(20, 25.0), (62, 25.0), (90, 36.0)])
def test_audio_lasts_the_clip(gen, fast, num_frames, fps):
    frames = video_helpers.moving_square_frames(num_frames, 48)
    audio = generate.generate_audio(gen, frames, fps, options=fast)
    expected_frames = round(num_frames / fps * 25)
    assert audio.shape == (2, expected_frames * 640) and audio.dtype == np.float32
    assert np.all(np.isfinite(audio)) and np.std(audio) > 1e-4


def test_seeds_reproduce_and_vary_and_captions_condition(gen, fast):
    frames = video_helpers.moving_square_frames(40, 64)
    a = generate.generate_audio(gen, frames, 25.0, options=fast)
    b = generate.generate_audio(gen, frames, 25.0, options=fast)
    c = generate.generate_audio(gen, frames, 25.0, options=dataclasses.replace(fast, seed=1))
    d = generate.generate_audio(gen, frames, 25.0, caption="Visible sound: bell. Invisible sound: none.", options=fast)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.1 * np.abs(a).mean()
    # Two training steps leave the caption's path nearly at its zero initialisation: its effect is tiny, but a
    # caption that reached the model makes the otherwise bit-identical computation differ.
    assert np.any(a != d)


def test_variants_and_clips_batched_together(gen, fast):
    clips = [generate.Clip(video_helpers.moving_square_frames(n, 64), 25.0) for n in (10, 70)]
    out = generate.generate_clips(gen, clips, dataclasses.replace(fast, num_variants=2))
    assert [a.shape for a in out] == [(2, 2, 6400), (2, 2, 70 * 640)]
    assert np.abs(out[1][0] - out[1][1]).mean() > 1e-3  # variants are independent samples


def test_missing_workdir_and_checkpoint_are_named(workdir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such workdir"):
        generate.load_generator(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"checkpoints/7: no such checkpoint \(saved steps: \[2\]\)"):
        generate.load_generator(workdir, step=7)
    with pytest.raises(checkpointing.CheckpointError, match="not a checkpoint directory"):
        checkpointing.split_step_dir(tmp_path)
    assert checkpointing.split_step_dir(f"{workdir}/checkpoints/2")[1] == 2


def test_a_config_that_does_not_match_the_checkpoint_is_named(workdir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["video"]["width"] = 48  # the checkpoint's video encoder is 32 wide
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(checkpointing.CheckpointError) as info:
        generate.load_generator(copy)
    message = str(info.value)
    assert message.startswith(str(copy / "checkpoints" / "2" / "state")) and "does not match" in message
    assert "has shape (32,) in the checkpoint, the config builds (48,)" in message and "\n" not in message


def test_a_damaged_checkpoint_is_named(workdir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy)
    state = copy / "checkpoints" / "2" / "state"
    for data in state.glob("ocdbt.process_*"):
        shutil.rmtree(data)  # the arrays' data, as an interrupted copy would leave it
    with pytest.raises(checkpointing.CheckpointError) as info:
        generate.load_generator(copy)
    assert str(info.value).startswith(f"{state}: cannot restore ema_params (") and "\n" not in str(info.value)

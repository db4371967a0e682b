"""The exact-sampler tool: the run's crop of the stored clips and their redraws, a refused redraw of another
scene, and the command's rows and one-line mistakes."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.tools import exact_sampler as tool
from tests.generator import helpers
from tests.train import run_utils
from tests.xla_flags import xla_flags
from v2a_jax import cli
from v2a_jax.input_pipeline import loader
from v2a_jax.train import run_config


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": xla_flags()}
    return subprocess.run(
        [sys.executable, "-m", "experiments.tools.exact_sampler", *args],
        cwd=run_utils.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_redraws_are_the_stored_crops_scene_with_other_sounds(tiny_synth):
    config = helpers.tiny_config("visaudio", tiny_synth[2], data__duration_s=0.64)
    stored, redrawn, clip = tool.redraw(config, "test", max_clips=2, draw=1)
    source, _ = loader.open_split(tiny_synth[2], "binaural_synth/test_tiny", "test")
    n, frames = int(0.64 * clip.sample_rate), int(0.64 * clip.fps)
    assert redrawn.shape == stored["audio"].shape == (2, 2, n)
    for i in range(2):
        raw = source[i]
        np.testing.assert_allclose(stored["audio"][i], raw["audio"][:, :n] * np.float32(clip.audio_scale))
        np.testing.assert_array_equal(stored["relative_azimuth_deg"][i], raw["relative_azimuth_deg"][:frames])
    assert not np.allclose(redrawn, stored["audio"], atol=1e-3)
    # Same level as the stored audio (float renders vs int16 * audio_scale): within a factor of 3 in RMS.
    ratio = np.sqrt(np.mean(redrawn**2) / np.mean(stored["audio"] ** 2))
    assert 1 / 3 < ratio < 3, ratio


def test_a_redraw_of_another_scene_is_refused(tiny_synth, monkeypatch):
    real = tool.config_from_metadata

    def other_scene(metadata):
        synth = real(metadata)
        return dataclasses.replace(synth, scene=dataclasses.replace(synth.scene, difficulty="hard"))

    monkeypatch.setattr(tool, "config_from_metadata", other_scene)
    config = helpers.tiny_config("visaudio", tiny_synth[2], data__duration_s=0.64)
    with pytest.raises(cli.ConfigError, match="renders another scene than the stored one"):
        tool.redraw(config, "test", max_clips=2, draw=1)


def test_a_dataset_without_scenes_is_refused_naming_it(tiny_recorded):
    config = helpers.tiny_config("visaudio", tiny_recorded, data__name="recorded_tiny", data__duration_s=0.64)
    with pytest.raises(cli.ConfigError, match="not a binaural_synth dataset"):
        tool.redraw(config, "test", max_clips=1, draw=1)


@pytest.mark.xdist_group("generator_run")
def test_command_scores_every_row(tiny_generator_run, tmp_path):
    out = tmp_path / "rows.json"
    result = _run(f"--workdir={tiny_generator_run}", "--max_clips=2", f"--out={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert list(rows) == ["ground_truth", "autoencoder", "redrawn", "redrawn_codec", "mono_copy"]
    assert rows["ground_truth"]["stft"] == 0 and rows["redrawn"]["stft"] > 0
    assert rows["mono_copy"]["left_right_agreement"] == 0
    assert "distribution" in json.loads(out.read_text())["omitted"]


def test_command_answers_mistakes_in_one_line(tmp_path):
    run_config.save(run_utils.toy_config(), tmp_path / "toy")
    for args, message in (
        (["--workdir=x", "--draw=-1"], "--draw"),
        ([f"--workdir={tmp_path / 'toy'}"], "is not the generator task"),
        ([f"--workdir={tmp_path / 'toy'}", f"--out={tmp_path / 'toy' / 'config.json' / 'a.json'}"], "not a directory"),
    ):
        result = _run(*args)
        output = result.stderr + result.stdout
        assert result.returncode == cli.EXIT_USER_ERROR and "Traceback" not in output, output[-3000:]
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and message in errors[0], output[-3000:]

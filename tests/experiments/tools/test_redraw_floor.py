"""The redraw-floor tool's rows: the run's crop of the stored clips and their redraws."""

import numpy as np
import pytest

from experiments.tools import redraw_floor as tool
from tests.generator import helpers
from v2a_jax import cli
from v2a_jax.input_pipeline import loader


def test_rows_are_the_stored_crops_and_their_redraws(tiny_synth):
    config = helpers.tiny_config("visaudio", tiny_synth[2], data__duration_s=0.64)
    features, rows, clip = tool.redraw_rows(config, "test", max_clips=2, draw=1)
    source, _ = loader.open_split(tiny_synth[2], "binaural_synth/test_tiny", "test")
    n, frames = int(0.64 * clip.sample_rate), int(0.64 * clip.fps)
    assert rows["redrawn"].shape == rows["ground_truth"].shape == (2, 2, n)
    for i in range(2):
        stored = source[i]
        np.testing.assert_allclose(rows["ground_truth"][i], stored["audio"][:, :n] * clip.audio_scale)
        np.testing.assert_array_equal(features["relative_azimuth_deg"][i], stored["relative_azimuth_deg"][:frames])
        np.testing.assert_array_equal(features["sounding"][i], stored["sounding"][:frames])
    assert not np.allclose(rows["redrawn"], rows["ground_truth"], atol=1e-3)
    downmix = rows["redrawn"].mean(axis=1)
    np.testing.assert_allclose(rows["mono_copy"], np.stack([downmix, downmix], axis=1), rtol=1e-6)


def test_a_dataset_without_scenes_is_refused_naming_it(tiny_recorded):
    config = helpers.tiny_config("visaudio", tiny_recorded, data__name="recorded_tiny", data__duration_s=0.64)
    with pytest.raises(cli.ConfigError, match="not a binaural_synth dataset"):
        tool.redraw_rows(config, "test", max_clips=1, draw=1)

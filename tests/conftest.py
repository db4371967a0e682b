"""Test-wide setup: 8 forced CPU devices so sharding tests see a real mesh.

The flag must be set before JAX initialises its backends, hence at conftest import time.
"""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A tiny `binaural_synth` variant built once per test session: (builder, config, data_dir)."""
    from data.binaural_synth.binaural_synth_dataset_builder import BinauralSynth, BinauralSynthConfig
    from data.binaural_synth.scenes import SceneConfig

    config = BinauralSynthConfig(
        name="test_tiny", scene=SceneConfig(duration_s=1.28, image_size=32, fps=25.0, offscreen_prob=0.5),
        num_train=6, num_validation=2, num_test=3, seed=7)
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    builder = BinauralSynth(config=config, data_dir=data_dir, num_workers=1)
    builder.download_and_prepare(file_format="array_record")
    return builder, config, data_dir

import dataclasses

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data.binaural_synth import prepare, scenes
from data.binaural_synth.binaural_synth_dataset_builder import (
    BinauralSynth,
    clip_seed,
    config_from_metadata,
    to_example,
)
from v2a_jax.spatial import hrtf as hrtf_lib


def test_splits_and_metadata(tiny_synth):
    builder, config, _ = tiny_synth
    splits = builder.info.splits
    assert {k: splits[k].num_examples for k in splits} == {"train": 6, "validation": 2, "test": 3}
    meta = builder.info.metadata
    assert meta["scene"]["duration_s"] == 1.28 and meta["scene"]["fps"] == 25.0
    assert meta["hrtf"] == "spherical"
    # The layout every dataset shares (the loader reads `clip`, the field of view and the truth flag).
    assert meta["clip"] == {
        "duration_s": 1.28,
        "sample_rate": 16000,
        "fps": 25.0,
        "height": 32,
        "width": 32,
        "resize_mode": "none",
    }
    assert meta["field_of_view_deg"] == config.scene.horizontal_fov_deg and meta["ground_truth"] is True


def test_stored_clip_is_the_seeded_render(tiny_synth):
    """Index i of a split is clip i rendered from its seed; audio only loses int16 quantisation."""
    builder, config, _ = tiny_synth
    source = builder.as_data_source(split="test")
    hrtf = hrtf_lib.make_hrtf("spherical", 16000)
    for i in (0, 2):
        seed = clip_seed(config.seed, "test", i)
        stored = source[i]
        assert int(stored["seed"]) == seed
        clip = scenes.render_clip(seed, config.scene, hrtf)
        np.testing.assert_array_equal(stored["video"], clip["video"])
        assert stored["audio"].dtype == np.int16
        np.testing.assert_allclose(stored["audio"] / 32767.0, clip["audio"], atol=0.6 / 32767)
        np.testing.assert_array_equal(stored["sounding"], clip["sounding"])
        np.testing.assert_array_equal(stored["class_id"], clip["class_id"])
        assert stored["caption"].decode() == clip["caption"]


def test_config_from_metadata_renders_the_stored_clips(tiny_synth):
    builder, config, _ = tiny_synth
    # As a reader gets it: from the files (JSON lists where the config has tuples).
    restored = config_from_metadata(dict(tfds.builder_from_directory(builder.data_dir).info.metadata))
    assert restored.scene == config.scene
    assert (restored.hrtf, restored.head_radius_m, restored.seed) == (config.hrtf, config.head_radius_m, config.seed)
    stored = builder.as_data_source(split="test")[1]
    clip = scenes.render_clip(int(stored["seed"]), restored.scene, restored.make_hrtf())
    np.testing.assert_allclose(stored["audio"] / 32767.0, clip["audio"], atol=0.6 / 32767)


def test_splits_use_different_seeds(tiny_synth):
    _, config, _ = tiny_synth
    seeds = {clip_seed(config.seed, s, i) for s in ("train", "validation", "test") for i in range(50)}
    assert len(seeds) == 150


def test_parallel_build_matches_serial(tiny_synth, tmp_path):
    builder, config, _ = tiny_synth
    parallel = dataclasses.replace(config, num_train=3, num_validation=0, num_test=0)
    other = BinauralSynth(config=parallel, data_dir=str(tmp_path), num_workers=2)
    other.download_and_prepare(file_format="array_record")
    a, b = builder.as_data_source(split="train"), other.as_data_source(split="train")
    for i in range(3):
        np.testing.assert_array_equal(a[i]["audio"], b[i]["audio"])
        np.testing.assert_array_equal(a[i]["video"], b[i]["video"])


def test_summary_reports_the_split(tiny_synth):
    builder, _, _ = tiny_synth
    text = prepare.summarize(builder, split="train")
    assert "train 6" in text and "test 3" in text
    assert "train: 6 clips" in text


def test_bad_audio_is_refused_naming_the_seed():
    clip = {"audio": np.full((2, 10), np.nan, np.float32)}
    with pytest.raises(ValueError, match="seed 123"):
        to_example(clip, 123)

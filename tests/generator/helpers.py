"""Tiny generator configs for the tests: experiments/generator.py variants shrunk to seconds-scale shapes and
pointed at the session's `tiny_synth` dataset (1.28 s clips, 32x32 video) and the FrameCodec stand-in."""

from typing import Any

import ml_collections

from experiments import generator

TEST_SIZES = {
    "model.hidden": 32,
    "model.num_heads": 2,
    "model.joint_depth": 1,
    "model.single_depth": 1,
    "model.mlp_multiple_of": 16,
    "model.spatialisation.hidden": 16,
    "model.video.image_size": 16,
    "model.video.patch_size": 4,
    "model.video.width": 32,
    "model.video.depth": 1,
    "model.video.num_heads": 2,
    "model.text.width": 32,
    "model.text.depth": 1,
    "model.text.num_heads": 2,
    "data.duration_s": 1.28,
    "data.semantic_fps": 6.25,
    "batch_size": 8,
    "sampler.num_steps": 2,
    "codec.factory": "v2a_jax.autoencoder.frame_codec:load_codec",
    "optimizer.warmup_steps": 0,
    "optimizer.schedule": "constant",
}


def tiny_config(model: str, data_dir: str = "", **overrides: Any) -> ml_collections.ConfigDict:
    """`experiments/generator.py:{model}-tiny` at test sizes; `overrides` use "__" for "." in dotted names."""
    config = generator.get_config(f"{model}-tiny")
    config.update_from_flattened_dict(
        {
            **TEST_SIZES,
            "data.data_dir": data_dir,
            "data.name": "binaural_synth/test_tiny",
            **{name.replace("__", "."): value for name, value in overrides.items()},
        }
    )
    return config

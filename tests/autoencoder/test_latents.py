import json
import os

import numpy as np
import pytest

from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.autoencoder import latents
from v2a_jax.pipeline import loader


def test_exported_statistics_normalise_the_training_latents(trained_tiny, tiny_codec):
    config, workdir, _ = trained_tiny
    stats = latents.read_latent_stats(workdir)
    assert stats["step"] == config.num_train_steps and stats["split"] == "train"
    assert stats["config"].model.latent_dim == config.model.latent_dim
    codec = tiny_codec
    # Recomputed here from the normalised latents of the whole training split: mean 0, std 1 per channel.
    z = np.concatenate([np.asarray(codec.encode(a)) for a, _ in latents.split_batches(
        config.data.data_dir, config.data.name, "train", codec.samples_per_latent, 6)])
    z = z.reshape(-1, codec.latent_dim)
    assert z.shape[0] == stats["num_frames"] == 6 * 2 * (20480 // 512)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(0), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="step"):
        codec_lib.load_codec(workdir, step=1)


def test_latent_cache_round_trip(trained_tiny, tiny_codec, tmp_path):
    config, workdir, _ = trained_tiny
    codec = tiny_codec
    out_dir = str(tmp_path / "latents")
    for split in ("test", "validation"):
        entry = latents.encode_split(codec, config.data.data_dir, config.data.name, split, out_dir,
                                     batch_size=3, codec_info={"workdir": workdir})
        assert entry["num_examples"] == {"test": 3, "validation": 2}[split]
    with open(os.path.join(out_dir, latents.MANIFEST_FILE)) as f:
        assert set(json.load(f)) == {"test", "validation"}

    cached, entry = latents.load_latents(out_dir, "test")
    assert cached["latents"].shape == (3, 2, 40, codec.latent_dim) and cached["latents"].dtype == np.float32
    assert entry["samples_per_latent"] == 512 and entry["normalised"]
    source, clip = loader.open_split(config.data.data_dir, config.data.name, "test")
    audio = np.stack([source[i]["audio"] for i in range(3)]).astype(np.float32) * np.float32(clip.audio_scale)
    np.testing.assert_allclose(cached["latents"], np.asarray(codec.encode(audio)), atol=1e-5)
    np.testing.assert_array_equal(cached["seed"], [source[i]["seed"] for i in range(3)])
    waves = np.asarray(codec.decode(cached["latents"]))
    assert waves.shape == audio.shape and np.all(np.abs(waves) <= 1.0)
    with pytest.raises(KeyError, match="train"):
        latents.load_latents(out_dir, "train")


def test_missing_statistics_say_how_to_export(tmp_path):
    with pytest.raises(FileNotFoundError, match="--export_stats"):
        codec_lib.load_codec(str(tmp_path))

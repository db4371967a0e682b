import numpy as np
import pytest

from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.autoencoder import latent_stats


def test_exported_statistics_normalise_the_training_latents(trained_tiny, tiny_codec):
    config, workdir, _ = trained_tiny
    stats = codec_lib.read_latent_stats(workdir)
    assert stats["step"] == config.num_train_steps and stats["split"] == "train"
    assert stats["config"].model.latent_dim == config.model.latent_dim
    codec = tiny_codec
    # Recomputed here from the normalised latents of the whole training split: mean 0, std 1 per channel.
    z = np.concatenate(
        [
            np.asarray(codec.encode(a))
            for a, _ in latent_stats.split_batches(
                config.data.data_dir, config.data.name, "train", codec.samples_per_latent, 6
            )
        ]
    )
    z = z.reshape(-1, codec.latent_dim)
    assert z.shape[0] == stats["num_frames"] == 6 * 2 * (20480 // 512)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(0), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="step"):
        codec_lib.load_codec(workdir, step=1)


def test_missing_statistics_say_how_to_export(tmp_path):
    with pytest.raises(FileNotFoundError, match="no latent statistics; export them first"):
        codec_lib.load_codec(str(tmp_path))

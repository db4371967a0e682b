"""Fixtures of the autoencoder tests: the tiny config on the tiny dataset, and one short trained run."""

import pytest

from experiments import autoencoder as ae_config


@pytest.fixture(scope="session")
def tiny_config(tiny_synth):
    """experiments/autoencoder.py:tiny reading the session's tiny `binaural_synth` (1.28 s clips, 6/2/3).

    The mesh is 2 data x 4 tensor over the 8 forced CPU devices: the 2 validation clips make a batch of 2.
    """
    _, synth_config, data_dir = tiny_synth
    config = ae_config.get_config("tiny")
    config.data.data_dir = data_dir
    config.data.name = f"binaural_synth/{synth_config.name}"
    config.mesh.update({"data": 2, "fsdp": 1, "tensor": 4})
    config.batch_size = 2
    config.num_train_steps = 2
    config.log_every_steps = 1
    config.eval_every_steps = 1
    config.checkpoint_every_steps = 1
    config.summary_every_steps = 2
    return config


@pytest.fixture(scope="session")
def trained_tiny(tiny_config, tmp_path_factory):
    """(config, workdir, final TrainState) of a 2-step run with its latent statistics exported."""
    from v2a_jax.autoencoder import latent_stats
    from v2a_jax.train.trainer import train_and_evaluate

    workdir = str(tmp_path_factory.mktemp("ae_tiny"))
    state = train_and_evaluate(tiny_config, workdir)
    latent_stats.export_latent_stats(tiny_config, workdir, batch_size=6)
    return tiny_config, workdir, state


@pytest.fixture(scope="session")
def tiny_codec(trained_tiny):
    """`load_codec` of the trained run, shared so that its jitted encode/decode compile once per shape."""
    from v2a_jax.autoencoder import codec

    return codec.load_codec(trained_tiny[1])

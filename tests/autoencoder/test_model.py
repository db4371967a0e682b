import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import autoencoder as ae_config
from v2a_jax.autoencoder.model import AutoencoderConfig, BinauralAutoencoder, model_config


class Tiny:
    """The tiny config's model with its params and jitted entry points (eager applies are ~10x slower)."""

    def __init__(self, dtype=jnp.float32, interaural_delay=True):
        config = ae_config.get_config("tiny")
        config.model.interaural_delay = interaural_delay
        self.model = model = BinauralAutoencoder(model_config(config), dtype)
        self.boxed = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 2, 1024)))["params"]
        self.params = nn.meta.unbox(self.boxed)
        self.encode = jax.jit(lambda p, a: model.apply({"params": p}, a, method=model.encode))
        self.decode = jax.jit(lambda p, z: model.apply({"params": p}, z, method=model.decode))
        self.forward = jax.jit(lambda p, a, rng: model.apply({"params": p}, a, rng))


@pytest.fixture(scope="module")
def tiny():
    return Tiny()


def test_params_carry_logical_axis_names(tiny):
    leaves = jax.tree.leaves(tiny.boxed, is_leaf=lambda x: hasattr(x, "names"))
    assert leaves and all(hasattr(leaf, "names") for leaf in leaves)
    names = {n for leaf in leaves for n in leaf.names}
    assert {"channels", "embed", "mlp", "conv_kernel"} <= names


@pytest.mark.parametrize("num_frames", [1, 10])
def test_shapes_and_dtypes_for_several_durations(tiny, num_frames):
    cfg = tiny.model.config
    audio = jnp.asarray(np.random.default_rng(num_frames).uniform(-0.5, 0.5, (2, 2, num_frames * 512)), jnp.float32)
    mean, log_var = tiny.encode(tiny.params, audio)
    assert mean.shape == log_var.shape == (2, 2, num_frames, cfg.latent_dim)
    assert mean.dtype == log_var.dtype == jnp.float32
    wave = tiny.decode(tiny.params, mean)
    assert wave.shape == audio.shape and wave.dtype == jnp.float32
    out = tiny.forward(tiny.params, audio, jax.random.PRNGKey(1))
    assert out["reconstruction"].shape == audio.shape
    assert out["log_magnitude"].shape == (2, 2, num_frames * cfg.stft_frames_per_latent, cfg.num_bins)
    assert not np.allclose(out["latents"], mean)  # a posterior sample when given an rng


def test_ears_are_coded_independently_with_shared_weights():
    """Without the measured delay channel (which aligns each ear by its delay against the other, test_delay.py)
    an ear's latents depend neither on the other ear nor on which ear it is."""
    plain = Tiny(interaural_delay=False)
    rng = np.random.default_rng(3)
    a, b, c = (jnp.asarray(rng.uniform(-0.5, 0.5, (2, 1, 512)), jnp.float32) for _ in range(3))
    mean_ab, _ = plain.encode(plain.params, jnp.concatenate([a, b], 1))
    mean_ca, _ = plain.encode(plain.params, jnp.concatenate([c, a], 1))
    np.testing.assert_allclose(mean_ab[:, 0], mean_ca[:, 1], atol=1e-5)
    wave = plain.decode(plain.params, jnp.concatenate([mean_ab[:, :1], mean_ca[:, :1]], 1))
    wave_swapped = plain.decode(plain.params, jnp.concatenate([mean_ca[:, :1], mean_ab[:, :1]], 1))
    assert not np.allclose(wave[:, 0], wave[:, 1])
    np.testing.assert_allclose(wave[:, 0], wave_swapped[:, 1], atol=1e-6)


def test_decoder_output_is_finite_and_bounded(tiny):
    rng = np.random.default_rng(4)
    for scale in (1.0, 1e3, 1e6):
        latents = jnp.asarray(scale * rng.standard_normal((2, 2, 10, tiny.model.config.latent_dim)), jnp.float32)
        wave = np.asarray(tiny.decode(tiny.params, latents))
        assert np.all(np.isfinite(wave)) and np.abs(wave).max() <= 1.0


def test_bfloat16_compute(tiny):
    bf16 = Tiny(jnp.bfloat16)
    audio = jnp.asarray(np.random.default_rng(5).uniform(-0.5, 0.5, (2, 2, 512)), jnp.float32)
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), tiny.params)  # as the trainer casts them
    out = bf16.forward(params, audio, None)
    assert out["mean"].dtype == jnp.float32 and out["reconstruction"].dtype == jnp.float32
    # Same function to bfloat16 precision.
    ref = tiny.forward(tiny.params, audio, None)
    np.testing.assert_allclose(out["mean"], ref["mean"], atol=0.1 * np.abs(ref["mean"]).max())


def test_jitted_encode_traces_once_per_shape(tiny):
    model, params = tiny.model, tiny.params

    @jax.jit
    @chex.assert_max_traces(n=1)
    def encode(params, audio):
        return model.apply({"params": params}, audio, method=model.encode)[0]

    for seed in range(3):
        encode(params, jnp.asarray(np.random.default_rng(seed).standard_normal((2, 2, 512)), jnp.float32))


def test_bad_shapes_and_configs_raise(tiny):
    model, params = tiny.model, tiny.params
    with pytest.raises(ValueError, match="multiple of 512"):
        model.apply({"params": params}, jnp.zeros((1, 2, 1000)), method=model.encode)
    with pytest.raises(ValueError, match=r"latents \[B, 2, T"):
        model.apply({"params": params}, jnp.zeros((1, 2, 4, 3)), method=model.decode)
    with pytest.raises(ValueError, match="stft_frames_per_latent"):
        AutoencoderConfig(samples_per_latent=512, stft_frames_per_latent=3)
    config = ae_config.get_config("tiny")
    config.model.unknown_width = 3
    with pytest.raises(ValueError, match="unknown_width"):
        model_config(config)

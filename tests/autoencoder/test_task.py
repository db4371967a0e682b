import chex
import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.autoencoder.task import AutoencoderTask
from v2a_jax.train.summaries import Audio

NO_SHARDING = grain.sharding.NoSharding()


def test_datasets_yield_aligned_audio_crops(tiny_config):
    task = AutoencoderTask(tiny_config)
    train = next(iter(task.make_dataset("train", seed=0, shard_options=NO_SHARDING, batch_size=3)))
    assert set(train) == {"audio"}
    assert train["audio"].shape == (3, 2, int(0.32 * 16000)) and train["audio"].dtype == np.float32
    val = list(task.make_dataset("val", seed=0, shard_options=NO_SHARDING, batch_size=3))
    assert [b["audio"].shape[0] for b in val] == [2]  # the 2 validation clips, from their start
    with pytest.raises(ValueError, match="split"):
        task.make_dataset("test", seed=0, shard_options=NO_SHARDING, batch_size=3)


def test_a_few_steps_on_one_batch_lower_the_loss(tiny_config):
    task = AutoencoderTask(tiny_config)
    batch = next(iter(task.make_dataset("train", seed=0, shard_options=NO_SHARDING, batch_size=2)))
    batch = {"audio": jnp.asarray(batch["audio"])}
    params = nn.meta.unbox(jax.jit(task.init)(jax.random.PRNGKey(0), batch))
    tx = optax.adam(1e-2)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(params, opt_state, rng):
        (loss, metrics), grads = jax.value_and_grad(task.loss, has_aux=True)(params, batch, rng, 1)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, metrics

    opt_state, history = tx.init(params), []
    for _ in range(15):  # one posterior-noise draw for all steps: the same objective every step
        params, opt_state, loss, metrics = step(params, opt_state, jax.random.PRNGKey(0))
        history.append(float(loss))
    assert np.all(np.isfinite(history))
    assert np.mean(history[-3:]) < 0.92 * history[0], history
    assert {"log_magnitude", "spectral_convergence", "decoder_spectrum", "complex", "ipd", "ild_db", "kl"} <= set(
        metrics
    )
    metrics = jax.jit(task.eval_step)(params, batch, jax.random.PRNGKey(0))
    assert "loss" in metrics and all(np.ndim(v) == 0 for v in metrics.values())


def test_summaries_render_spectrograms_and_audio(tiny_config):
    task = AutoencoderTask(tiny_config)
    batch = {"audio": jnp.asarray(np.random.default_rng(0).uniform(-0.1, 0.1, (2, 2, 5120)), jnp.float32)}
    params = nn.meta.unbox(jax.jit(task.init)(jax.random.PRNGKey(0), batch))
    media = task.summaries(params, batch, jax.random.PRNGKey(0), 1)
    image = media["spectrograms"]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
    assert image.shape[0] == 4 * 257  # four spectrograms of 257 bins stacked
    assert isinstance(media["reconstruction"], Audio) and media["reconstruction"].waveform.shape == (2, 5120)


def test_restored_checkpoint_gives_identical_reconstructions(trained_tiny, tiny_codec):
    config, workdir, state = trained_tiny
    audio = np.random.default_rng(1).uniform(-0.3, 0.3, (2, 2, 2048)).astype(np.float32)
    task = AutoencoderTask(config)
    reconstruct = jax.jit(lambda params: task.model.apply({"params": params}, audio)["reconstruction"])
    direct = np.asarray(reconstruct(jax.device_get(state.ema_params)))

    _, restored, step = codec_lib.load_autoencoder(workdir, config)
    assert step == config.num_train_steps
    np.testing.assert_array_equal(np.asarray(reconstruct(jax.device_get(restored))), direct)

    # The codec restores the same params: decode(encode(x)) with the statistics undone is the same function.
    np.testing.assert_allclose(np.asarray(tiny_codec.decode(tiny_codec.encode(audio))), direct, atol=1e-5)
    # Raw params differ from the EMA ones (so the test above would notice the wrong choice).
    raw = np.asarray(reconstruct(jax.device_get(state.params)))
    assert not np.allclose(raw, direct)

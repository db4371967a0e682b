"""The measured delay channel: per-ear delays and the decoder's delay, against independent
measurements of rendered and decoded signals."""

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.autoencoder import delay, stft
from v2a_jax.autoencoder.model import AutoencoderConfig, BinauralAutoencoder
from v2a_jax.metrics import binaural
from v2a_jax.spatial import hrtf, renderer

SR = 16000
SPL = 512


def _rendered_noise(azimuth_deg: float, seconds: float = 1.024, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1
    out = renderer.render_moving_source(noise, azimuth_deg, 0.0, 1.0, hrtf.make_hrtf("spherical", SR))
    return out[:, : int(seconds * SR)].astype(np.float32)[None]  # [1, 2, N]


def test_ear_delays_are_antisymmetric():
    per_ear = np.asarray(delay.ear_delays(jnp.asarray([[4.0, -2.0]])))
    np.testing.assert_allclose(per_ear[0, 0] * delay.DELAY_SCALE, [-2.0, 1.0])  # left: -ITD / 2
    np.testing.assert_allclose(per_ear[0, 1] * delay.DELAY_SCALE, [2.0, -1.0])


def test_apply_delay_shifts_the_waveform():
    n_fft, hop, frames = 512, 128, 8
    x = np.random.default_rng(1).standard_normal(frames * SPL).astype(np.float32)
    spec = stft.stft(jnp.asarray(x)[None], n_fft, hop, num_frames=frames * SPL // hop)
    shift = 3.0  # samples
    delayed = delay.apply_delay(spec, jnp.full((1, frames), shift / delay.DELAY_SCALE), SPL, hop, n_fft)
    y = np.asarray(stft.istft(delayed, n_fft, hop, frames * SPL))[0]
    # Cross-correlation of input and output (independent of the STFT) peaks at the shift.
    lags = np.arange(-8, 9)
    core = slice(SPL, -SPL)
    corr = [np.dot(np.roll(x, lag)[core], y[core]) for lag in lags]
    assert lags[int(np.argmax(corr))] == shift
    np.testing.assert_allclose(y[core], np.roll(x, 3)[core], atol=1e-3 * np.abs(x).max())


def test_untrained_autoencoder_already_keeps_the_itd():
    """Structure, not training: the two ears' reconstructions differ by the measured delays."""
    config = AutoencoderConfig(
        stft_dim=16,
        latent_rate_dim=32,
        encoder_stft_blocks=1,
        encoder_latent_blocks=1,
        decoder_latent_blocks=1,
        decoder_stft_blocks=1,
        mlp_ratio=2,
        kernel_size=3,
        interaural_delay=True,
    )
    model = BinauralAutoencoder(config)
    audio = jnp.asarray(_rendered_noise(45.0, seconds=2.048))
    params = model.init(jax.random.PRNGKey(0), audio)["params"]
    mean, _ = model.apply({"params": params}, audio, method=BinauralAutoencoder.encode)
    # Decode one ear's learned channels with each ear's delay: the same spectrum, delayed per ear.
    left = mean[:, :1]
    pair = jnp.concatenate([left, left.at[..., -1].set(mean[:, 1, :, -1])], axis=1)
    recon = np.asarray(model.apply({"params": params}, pair, method=BinauralAutoencoder.decode))
    itd_in, valid_in = binaural.gcc_phat_itd(np.asarray(audio))
    itd_out, valid_out = binaural.gcc_phat_itd(recon * 1e3)  # untrained output is quiet; GCC-PHAT is scale-free
    both = valid_in & valid_out
    assert both.sum() >= 20
    assert np.abs(itd_out[both] - itd_in[both]).mean() < 40e-6


def test_encoder_sees_each_ear_advanced_by_its_delay():
    """A pure interaural delay moves only the delay channel: the learned channels of both ears agree."""
    config = AutoencoderConfig(
        stft_dim=16,
        latent_rate_dim=32,
        encoder_stft_blocks=1,
        encoder_latent_blocks=1,
        decoder_latent_blocks=1,
        decoder_stft_blocks=1,
        mlp_ratio=2,
        kernel_size=3,
        interaural_delay=True,
    )
    model = BinauralAutoencoder(config)
    x = np.random.default_rng(2).standard_normal(8 * SPL + 64).astype(np.float32) * 0.1
    audio = jnp.asarray(np.stack([x[6 : 6 + 8 * SPL], x[: 8 * SPL]])[None])  # right lags by 6 samples: ITD +6
    params = model.init(jax.random.PRNGKey(0), audio)["params"]
    mean, _ = model.apply({"params": params}, audio, method=BinauralAutoencoder.encode)
    mean = np.asarray(mean)[0, :, 1:-1]  # edge frames are half zero padding
    np.testing.assert_allclose(mean[1, :, -1] - mean[0, :, -1], 6.0 / delay.DELAY_SCALE, atol=0.05)
    spread = np.abs(mean[0, :, :-1]).mean()
    assert np.abs(mean[0, :, :-1] - mean[1, :, :-1]).mean() < 0.1 * spread  # STFT-domain delay: edges inexact
    # Without the alignment (the ablation, interaural_delay=False) the delay shows in the learned channels.
    plain = BinauralAutoencoder(AutoencoderConfig(**{**config.__dict__, "interaural_delay": False}))
    p2 = plain.init(jax.random.PRNGKey(0), audio)["params"]
    m2 = np.asarray(plain.apply({"params": p2}, audio, method=BinauralAutoencoder.encode)[0])[0, :, 1:-1]
    assert np.abs(m2[0] - m2[1]).mean() > 0.3 * np.abs(m2[0]).mean()

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.autoencoder import losses
from v2a_jax.metrics import binaural as bm

SR = 16000
IPD = dict(n_fft=512, hop=128, sample_rate=SR, band_hz=(50.0, 7200.0), weight_power=0.25)
ILD = dict(n_fft=512, hop=128, sample_rate=SR, num_bands=8)


def _noise(n=8000, seed=0):
    return np.random.default_rng(seed).standard_normal(n) * 0.05


def _delayed(x, delay_samples):
    """x delayed by a (fractional) number of samples, by a linear phase (independent of the losses' STFT)."""
    n = x.shape[-1]
    freqs = np.fft.rfftfreq(2 * n)
    spec = np.fft.rfft(x, 2 * n) * np.exp(-2j * np.pi * freqs * delay_samples)
    return np.fft.irfft(spec, 2 * n)[..., :n]


def _binaural(delay_samples=0.0, right_gain=1.0, seed=0):
    left = _noise(seed=seed)
    return jnp.asarray(np.stack([left, right_gain * _delayed(left, delay_samples)])[None], jnp.float32)


def test_interaural_losses_are_zero_for_identical_pairs():
    x = _binaural(delay_samples=3.0, right_gain=0.5)
    assert float(losses.interaural_phase_loss(x, x, **IPD)) < 1e-6
    assert float(losses.interaural_level_loss(x, x, **ILD)) < 1e-5


def test_interaural_phase_loss_grows_with_the_imposed_delay():
    target = _binaural(delay_samples=0.0)
    values = [float(losses.interaural_phase_loss(_binaural(delay_samples=d), target, **IPD)) for d in (0.25, 1.0, 4.0)]
    assert 0.0 < values[0] < values[1] < values[2]
    # A pure level difference leaves the interaural phase alone.
    assert float(losses.interaural_phase_loss(_binaural(right_gain=0.5), target, **IPD)) < 1e-6


def test_interaural_level_loss_measures_the_imposed_gain_in_db():
    target = _binaural()
    for gain_db in (1.0, 6.0):
        pred = _binaural(right_gain=10 ** (-gain_db / 20))
        np.testing.assert_allclose(float(losses.interaural_level_loss(pred, target, **ILD)), gain_db, rtol=1e-3)
    # Scaling both ears alike keeps every ILD.
    assert float(losses.interaural_level_loss(0.3 * target, target, **ILD)) < 1e-4


def test_reconstruction_losses():
    x = jnp.asarray(_noise(seed=1)[None], jnp.float32)
    y = jnp.asarray(_noise(seed=2)[None], jnp.float32)
    res = ((256, 64), (512, 128))
    log_mag, sc = losses.multi_resolution_stft_loss(x, x, res, 1e-9)
    assert float(log_mag) == 0.0 and float(sc) < 1e-6
    log_mag, sc = losses.multi_resolution_stft_loss(0.5 * x, x, res, 1e-9)
    np.testing.assert_allclose(float(log_mag), np.log(2.0) ** 2, rtol=1e-3)  # every bin 6 dB too quiet
    np.testing.assert_allclose(float(sc), 0.5, rtol=1e-3)
    assert float(losses.complex_stft_loss(x, x, res)) == 0.0
    # The complex loss sees phase: a sign flip leaves every magnitude but not the complex spectrum.
    assert float(losses.multi_resolution_stft_loss(-x, x, res, 1e-9)[0]) < 1e-6
    assert float(losses.complex_stft_loss(-x, x, res)) > 0.1 * float(losses.complex_stft_loss(y, x, res))


def test_decoder_spectrum_loss_compares_the_decoder_magnitudes_with_the_target_stft():
    x = _noise(n=4096, seed=3)[None]  # white noise at -26 dBFS: every bin far above the floor
    # The target's STFT computed independently (the metrics' librosa-style numpy STFT), frames [T, F].
    log_mag = np.log(np.abs(bm.stft(x, 512, 128, 512)) + 1e-30).swapaxes(-1, -2)[..., : 4096 // 128, :]
    target = jnp.asarray(x, jnp.float32)
    exact = losses.decoder_spectrum_loss(jnp.asarray(log_mag, jnp.float32), target, 512, 128, 1e-8)
    assert float(exact) < 1e-6
    too_quiet = losses.decoder_spectrum_loss(jnp.asarray(log_mag - np.log(2.0), jnp.float32), target, 512, 128, 1e-8)
    np.testing.assert_allclose(float(too_quiet), np.log(2.0) ** 2, rtol=1e-3)  # every bin 6 dB low
    # Bins far below the floor cost nothing whatever their level: silence against a -140 dB prediction.
    silent = losses.decoder_spectrum_loss(jnp.full_like(log_mag, -12.0), jnp.zeros_like(target), 512, 128, 1e-8)
    assert float(silent) < 1e-4


def test_losses_have_finite_gradients_on_silence():
    silence = jnp.zeros((1, 2, 4096), jnp.float32)

    def total(pred):
        return (
            sum(losses.multi_resolution_stft_loss(pred, silence, ((512, 128),), 1e-9))
            + losses.complex_stft_loss(pred, silence, ((512, 128),))
            + losses.interaural_phase_loss(pred, silence, **IPD)
            + losses.interaural_level_loss(pred, silence, **ILD)
        )

    for pred in (silence, silence + 1e-3):
        assert np.all(np.isfinite(np.asarray(jax.grad(total)(pred))))


def test_kl_divergence():
    assert float(losses.kl_divergence(jnp.zeros(5), jnp.zeros(5))) == 0.0
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2.
    np.testing.assert_allclose(
        float(losses.kl_divergence(jnp.full(3, 2.0), jnp.full(3, np.log(0.25)))),
        0.5 * (4.0 + 0.25 - 1.0 - np.log(0.25)),
        rtol=1e-6,
    )


def test_interaural_losses_reject_mono():
    with pytest.raises(ValueError, match="2, N"):
        losses.interaural_phase_loss(jnp.zeros((1, 4096)), jnp.zeros((1, 4096)), **IPD)

"""The autoencoder evaluation's own pieces: the frame-ITD error and the ITD-only ceiling row."""

import numpy as np

from experiments.tools import evaluate_autoencoder as ev
from v2a_jax.metrics import binaural
from v2a_jax.spatial import geometry, hrtf, renderer

SR = ev.SAMPLE_RATE


def _rendered(azimuth_deg: float, n: int = 2 * SR + 300) -> np.ndarray:
    noise = np.random.default_rng(0).standard_normal(n) * 0.1
    out = renderer.render_moving_source(noise, azimuth_deg, 0.0, 1.0, hrtf.make_hrtf("spherical", SR))
    return out[:, :n].astype(np.float32)[None]


def test_frame_itd_error_of_swapped_ears_is_twice_the_itd():
    x = _rendered(40.0)
    assert ev.delta_itd_frame_us(x, x) == 0.0
    swapped = ev.delta_itd_frame_us(x[:, ::-1], x)
    np.testing.assert_allclose(swapped, 2e6 * geometry.woodworth_itd(40.0), rtol=0.05)


def test_itd_only_row_keeps_the_itd_and_the_length():
    x = _rendered(-50.0)
    out = ev.itd_only(x)
    assert out.shape == x.shape
    assert ev.delta_itd_frame_us(out, x) < 10.0
    # The plain GCC-PHAT of the reference metric agrees: a single dry source has no incoherent tail to lose.
    delta, count = binaural.delta_itd_us(out, x, SR)
    assert count[0] > 50 and delta[0] < 10.0


def test_spectrum_oracles_of_a_perfect_decoder_give_back_the_input():
    x = _rendered(30.0, n=16 * 512)
    spec = np.abs(binaural.stft(x.astype(np.float64), 512, 128, 512)).swapaxes(-1, -2)[..., : x.shape[-1] // 128, :]
    rows = ev.spectrum_oracles(x, x, np.log(spec + 1e-30).astype(np.float32), 512, 128)
    assert set(rows) == {"decoder_magnitude_input_phase", "input_magnitude_codec_phase", "input_magnitude_random_phase"}
    for name in ("decoder_magnitude_input_phase", "input_magnitude_codec_phase"):
        assert rows[name].shape == x.shape
        np.testing.assert_allclose(rows[name], x, atol=1e-4)
    # Random phase keeps no waveform and smears the spectrum: several dB of log-spectral distance.
    assert binaural.multires_log_spectral_distance(rows["input_magnitude_random_phase"], x).mean() > 2.0
    assert np.abs(rows["input_magnitude_random_phase"] - x).max() > 0.01

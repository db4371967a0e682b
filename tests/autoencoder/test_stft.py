import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.autoencoder import stft as stft_lib
from v2a_jax.metrics import binaural as bm


@pytest.mark.parametrize("n_fft,hop", [(512, 128), (256, 64), (1024, 256), (512, 256)])
@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_istft_inverts_stft(n_fft, hop, pad_mode):
    x = np.random.default_rng(0).standard_normal((3, 2, 4096)).astype(np.float32)
    # librosa's frame count, and the autoencoder's (one per hop), which needs hop <= n_fft / 4.
    for num_frames in (None, 4096 // hop) if hop <= n_fft // 4 else (None,):
        spec = stft_lib.stft(jnp.asarray(x), n_fft, hop, num_frames=num_frames, pad_mode=pad_mode)
        y = np.asarray(stft_lib.istft(spec, n_fft, hop, x.shape[-1]))
        np.testing.assert_allclose(y, x, atol=2e-5)


def test_stft_matches_the_metrics_numpy_stft():
    # v2a_jax.metrics.binaural.stft is an independent (numpy, librosa-convention) implementation.
    x = np.random.default_rng(1).standard_normal((2, 3000))
    for mode in ("reflect", "constant"):
        ours = np.asarray(stft_lib.stft(jnp.asarray(x, jnp.float32), 512, 128, pad_mode=mode))
        ref = np.swapaxes(bm.stft(x, 512, 128, 512, pad_mode=mode), -1, -2)
        np.testing.assert_allclose(ours, ref, atol=2e-4 * np.abs(ref).max())


def test_stft_of_a_sine_peaks_at_its_bin():
    sr, f = 16000, 1000.0
    x = np.sin(2 * np.pi * f * np.arange(8000) / sr).astype(np.float32)
    spec = np.abs(np.asarray(stft_lib.stft(jnp.asarray(x), 512, 128)))
    assert np.all(np.argmax(spec[2:-2], axis=-1) == round(f * 512 / sr))
    # A unit sine under a Hann window of n samples peaks at n / 4.
    np.testing.assert_allclose(spec[10:-10].max(axis=-1), 512 / 4, rtol=1e-3)


def test_bad_arguments_raise():
    x = jnp.zeros(1024)
    with pytest.raises(ValueError, match="hop"):
        stft_lib.stft(x, 512, 100)
    with pytest.raises(ValueError, match="pad_mode"):
        stft_lib.stft(x, 512, 128, pad_mode="wrap")
    with pytest.raises(ValueError, match="num_frames"):
        stft_lib.stft(x, 512, 128, num_frames=100)
    with pytest.raises(ValueError, match="length"):
        stft_lib.istft(jnp.zeros((4, 257), jnp.complex64), 512, 128, 1000)
    with pytest.raises(ValueError, match="edge of a window"):
        stft_lib.istft(jnp.zeros((16, 257), jnp.complex64), 512, 256, 4096)

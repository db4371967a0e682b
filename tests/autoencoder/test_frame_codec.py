import jax.numpy as jnp
import numpy as np

from v2a_jax.autoencoder.frame_codec import FrameCodec


def test_round_trip_is_the_orthogonal_projection():
    codec = FrameCodec(latent_dim=8, samples_per_latent=64)
    rng = np.random.default_rng(0)
    latents = jnp.asarray(rng.standard_normal((2, 2, 5, 8)), jnp.float32)
    audio = codec.decode(latents)
    assert audio.shape == (2, 2, 5 * 64)
    np.testing.assert_allclose(codec.encode(audio), latents, atol=1e-5)  # audio in the span comes back exactly
    noise = jnp.asarray(rng.standard_normal((1, 2, 320)), jnp.float32)
    projected = codec.decode(codec.encode(noise))
    np.testing.assert_allclose(codec.decode(codec.encode(projected)), projected, atol=1e-5)  # idempotent
    assert float(jnp.sum(projected**2)) < 0.2 * float(jnp.sum(noise**2))  # 8 of 64 dimensions kept

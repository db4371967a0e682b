"""A fixed, deterministic stand-in for the trained audio autoencoder (tests and benchmarks).

`FrameCodec` cuts each ear into frames of `samples_per_latent` samples and projects every frame onto a fixed
random orthonormal basis of `latent_dim` vectors (seeded), divided by `scale` so that latents of benchmark-level
audio (RMS ~0.05) have roughly unit variance. Decoding maps back with the transposed basis: the orthogonal
projection of the audio onto the basis (lossy, but exact for audio in its span). It implements
v2a_jax.autoencoder.codec.AudioCodec; configs select it with config.codec.factory =
'v2a_jax.autoencoder.frame_codec:load_codec'.
"""

import jax.numpy as jnp
import numpy as np


class FrameCodec:
    def __init__(
        self,
        latent_dim: int = 8,
        samples_per_latent: int = 512,
        sample_rate: int = 16000,
        scale: float = 0.05,
        seed: int = 0,
    ):
        self.latent_dim = latent_dim
        self.delay_channel = None  # a fixed projection: no channel measures the ears' delay
        self.samples_per_latent = samples_per_latent
        self.sample_rate = sample_rate
        self.scale = scale
        basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((samples_per_latent, latent_dim)))
        self.basis = basis.astype(np.float32)  # [samples_per_latent, latent_dim], orthonormal columns

    def encode(self, audio):
        """[B, 2, N] -> [B, 2, N // samples_per_latent, latent_dim]."""
        b, ears, n = audio.shape
        frames = audio.reshape(b, ears, n // self.samples_per_latent, self.samples_per_latent)
        return jnp.einsum("bets,sc->betc", frames, self.basis) / self.scale

    def decode(self, latents):
        """[B, 2, T, latent_dim] -> [B, 2, T * samples_per_latent]."""
        b, ears, t, _ = latents.shape
        frames = jnp.einsum("betc,sc->bets", latents * self.scale, self.basis)
        return frames.reshape(b, ears, t * self.samples_per_latent)


def load_codec(workdir: str) -> FrameCodec:
    """Same signature as the trained autoencoder's loader (config.codec.factory =
    'v2a_jax.autoencoder.frame_codec:load_codec'); the stand-in has no trained state, so `workdir` is unused."""
    del workdir
    return FrameCodec()

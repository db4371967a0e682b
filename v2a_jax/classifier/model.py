"""A small log-mel CNN that tags which sound classes are audible in a mono clip (one ear or the mid channel).

    waveform [B, N] -> log-mel [B, T, M] (features.py) -> standardise -> len(channels) x (3x3 conv, GroupNorm,
    ReLU, 2x2 average pool) -> mean over frequency -> mean + max over time [B, C] -> Dense + ReLU = embedding
    [B, D] -> Dense = class logits [B, K]

The pooling head is PANNs' (Kong et al. 2020, CNN14): averaging over frequency and adding the mean and the max
over time lets both steady sounds and short events decide. The embedding (the post-ReLU hidden layer before the
logits, like PANNs' `fc1` output) is what the Frechet distance of `v2a_jax.metrics.distribution` compares.

Parameters carry logical axis names: conv kernels [kh, kw, in, out] ('conv_kernel', None, None, 'channels') (flax
allows a name once per array), norm scales ('channels',), the embedding layer ('channels', 'embed') and the
classifier ('embed', 'vocab').
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from v2a_jax.classifier.features import LogMelConfig, log_mel

# Mean and standard deviation of LogMelConfig() log-mels of binaural_synth/small training crops (single ears),
# so that the first convolution sees inputs of unit scale whatever the frontend's log offset puts at silence.
LOG_MEL_MEAN = -9.6
LOG_MEL_STD = 5.4


class AudioClassifier(nn.Module):
    """`[B, N]` mono waveforms at `frontend.sample_rate` -> (embeddings `[B, D]`, logits `[B, K]`), float32.

    Attributes:
      num_classes: K.
      channels: output channels of each conv block; each block halves time and frequency.
      embed_dim: D.
      frontend: log-mel parameters.
      dtype: compute dtype of the convolutions and dense layers (params stay float32).
    """

    num_classes: int
    channels: Sequence[int] = (16, 32, 64)
    embed_dim: int = 128
    frontend: LogMelConfig = LogMelConfig()
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, audio: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = (log_mel(audio, self.frontend) - LOG_MEL_MEAN) / LOG_MEL_STD  # [B, T, M]
        x = x[..., None].astype(self.dtype)  # [B, T, M, 1]
        for i, features in enumerate(self.channels):
            x = nn.Conv(
                features,
                (3, 3),
                padding="SAME",
                dtype=self.dtype,
                name=f"conv{i}",
                kernel_init=nn.with_logical_partitioning(
                    nn.initializers.lecun_normal(), ("conv_kernel", None, None, "channels")
                ),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("channels",)),
            )(x)
            x = nn.GroupNorm(
                num_groups=min(8, features),
                dtype=self.dtype,
                name=f"norm{i}",
                scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), ("channels",)),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("channels",)),
            )(x)
            x = nn.avg_pool(nn.relu(x), (2, 2), strides=(2, 2), padding="SAME")
        x = jnp.mean(x, axis=2)  # [B, T', C]
        x = jnp.mean(x, axis=1) + jnp.max(x, axis=1)  # [B, C]
        embedding = nn.relu(
            nn.Dense(
                self.embed_dim,
                dtype=self.dtype,
                name="embedding",
                kernel_init=nn.with_logical_partitioning(nn.initializers.lecun_normal(), ("channels", "embed")),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("embed",)),
            )(x)
        )
        logits = nn.Dense(
            self.num_classes,
            dtype=self.dtype,
            name="logits",
            kernel_init=nn.with_logical_partitioning(nn.initializers.lecun_normal(), ("embed", "vocab")),
            bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("vocab",)),
        )(embedding)
        return embedding.astype(jnp.float32), logits.astype(jnp.float32)

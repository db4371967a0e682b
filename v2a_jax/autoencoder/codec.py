"""The contract between the audio autoencoder and everything that works in its latent space.

The generator trains on, and samples in, normalised per-ear latents; evaluation and sampling turn them back into
binaural waveforms. Both only see an `AudioCodec`, so the trained autoencoder (or, in tests, any other codec
with the same shapes) plugs in without the generator knowing how it was made.

`AutoencoderCodec` is this project's implementation (the per-ear STFT VAE of model.py) and `load_codec(workdir)`
restores a trained one.
"""

from __future__ import annotations

import json
import os
import time
from typing import Protocol

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from v2a_jax import cli
from v2a_jax.autoencoder.model import BinauralAutoencoder, model_config
from v2a_jax.train import checkpointing, partitioning

# The latent statistics of a trained run (written by latent_stats.export_latent_stats): the codec's normalisation.
STATS_FILE = "latent_stats.json"


class AudioCodec(Protocol):
    """Per-ear audio codec with normalised latents.

    Attributes:
      sample_rate: audio samples per second.
      samples_per_latent: audio samples per latent frame (512 at 16 kHz gives MMAudio's 31.25 frames/s).
      latent_dim: channels C of one latent frame.
      delay_channel: index of the channel that carries each ear's measured arrival delay (so the ears' difference
        in it is the ITD: autoencoder/delay.py), or None when the codec has no such channel.
    """

    sample_rate: int
    samples_per_latent: int
    latent_dim: int
    delay_channel: int | None

    def encode(self, audio: jax.Array) -> jax.Array:
        """[B, 2, N] waveforms (N a multiple of samples_per_latent) -> [B, 2, N // samples_per_latent, C]
        latents, normalised by the training set's per-channel mean/std (deterministic: the posterior mean)."""

    def decode(self, latents: jax.Array) -> jax.Array:
        """[B, 2, T, C] normalised latents -> [B, 2, T * samples_per_latent] waveforms in [-1, 1]."""


class AutoencoderCodec:
    """The trained binaural autoencoder as an `AudioCodec` (model.py; built by `load_codec`).

    Latents are normalised per channel by the training split's statistics (latent_stats.py):
    encode = (posterior mean - latent_mean) / latent_std; decode undoes it before the decoder. The two ears go
    through the same encoder and decoder independently. encode/decode are jitted (one compilation per shape).
    """

    def __init__(
        self, model: BinauralAutoencoder, params, latent_mean: np.ndarray, latent_std: np.ndarray, sample_rate: int
    ):
        self.model = model
        self.params = params
        self.sample_rate = int(sample_rate)
        self.samples_per_latent = model.config.samples_per_latent
        self.latent_dim = model.config.latent_dim
        # The model's last channel is measured, not learned, when it keeps the interaural delay (model.py).
        self.delay_channel = self.latent_dim - 1 if model.config.interaural_delay else None
        if np.shape(latent_mean) != (self.latent_dim,) or np.shape(latent_std) != (self.latent_dim,):
            raise ValueError(
                f"AutoencoderCodec: latent_mean/std must be [{self.latent_dim}], "
                f"got {np.shape(latent_mean)} and {np.shape(latent_std)}"
            )
        if not np.all(np.asarray(latent_std) > 0):
            raise ValueError("AutoencoderCodec: latent_std must be positive")
        self.latent_mean = jnp.asarray(latent_mean, jnp.float32)
        self.latent_std = jnp.asarray(latent_std, jnp.float32)

        def encode(params, audio):
            mean, _ = model.apply({"params": params}, audio, method=model.encode)
            return (mean - self.latent_mean) / self.latent_std

        def decode(params, latents):
            raw = latents.astype(jnp.float32) * self.latent_std + self.latent_mean
            return model.apply({"params": params}, raw, method=model.decode)

        def encode_raw(params, audio):
            return model.apply({"params": params}, audio, method=model.encode)[0]

        self._encode, self._decode, self._encode_raw = jax.jit(encode), jax.jit(decode), jax.jit(encode_raw)

    def encode(self, audio: jax.Array) -> jax.Array:
        """[B, 2, N] waveforms (N a multiple of samples_per_latent) -> [B, 2, N // samples_per_latent, C]
        normalised posterior means."""
        return self._encode(self.params, jnp.asarray(audio, jnp.float32))

    def decode(self, latents: jax.Array) -> jax.Array:
        """[B, 2, T, C] normalised latents -> [B, 2, T * samples_per_latent] waveforms in [-1, 1]."""
        return self._decode(self.params, jnp.asarray(latents))

    def encode_unnormalised(self, audio: jax.Array) -> jax.Array:
        """[B, 2, N] -> [B, 2, N // samples_per_latent, C] posterior means before normalisation (for the
        statistics themselves)."""
        return self._encode_raw(self.params, jnp.asarray(audio, jnp.float32))


def read_latent_stats(workdir: str) -> dict:
    """`workdir/latent_stats.json` as {"mean": [C], "std": [C], "step": int, "config": ConfigDict, ...}."""
    path = os.path.join(workdir, STATS_FILE)
    if not os.path.isfile(path):
        raise cli.NotFoundError(
            f"{path}: no latent statistics; export them first "
            f"(python -m v2a_jax.autoencoder.latent_stats --config=... --workdir={workdir})"
        )
    with open(path) as f:
        stats = json.load(f)
    stats["config"] = ml_collections.ConfigDict(stats["config"])
    return stats


def load_autoencoder(
    workdir: str, config: ml_collections.ConfigDict, step: int | None = None, *, use_ema: bool = True
) -> tuple[BinauralAutoencoder, object, int]:
    """(model, params, step) of the autoencoder run of `config` in `workdir` at `step` (default: the newest),
    on the config's mesh (train/checkpointing.load_params: no dataset needed)."""
    model = BinauralAutoencoder(model_config(config))
    audio = jax.ShapeDtypeStruct((1, 2, 2 * model.config.samples_per_latent), jnp.float32)
    params, step = checkpointing.load_params(
        workdir,
        lambda key, x: model.init(key, x)["params"],
        audio,
        mesh=partitioning.make_mesh(config.mesh),
        rules=partitioning.logical_axis_rules(config),
        step=step,
        use_ema=use_ema,
    )
    return model, params, step


def load_codec(workdir: str, step: int | None = None, *, use_ema: bool = True) -> AutoencoderCodec:
    """The autoencoder trained in `workdir`, with the latent statistics exported there.

    Reads `workdir/latent_stats.json` (written by `v2a_jax.autoencoder.latent_stats.export_latent_stats`, which
    records the training config, the checkpoint step and the per-channel mean/std) and restores only that step's
    params (`load_autoencoder`).

    Args:
      step: checkpoint to load; default (and the only step the statistics fit): the one they were computed on.
      use_ema: the EMA params (what validation used when config.eval_on_ema) rather than the raw ones.
    Raises:
      cli.NotFoundError if the statistics were not exported or their checkpoint is gone; cli.ConfigError if
      `step` differs from theirs.
    """
    stats = read_latent_stats(workdir)
    if step is not None and step != stats["step"]:
        raise cli.ConfigError(
            f"load_codec: step={step}, but {workdir}/{STATS_FILE} holds the statistics "
            f"of step {stats['step']}; export them for step {step} first"
        )
    config = stats["config"]
    model, params, _ = load_autoencoder(workdir, config, stats["step"], use_ema=use_ema)
    return AutoencoderCodec(model, params, np.asarray(stats["mean"]), np.asarray(stats["std"]), config.data.sample_rate)


def _median_seconds(fn, arg, repeats: int) -> float:
    jax.block_until_ready(fn(arg))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(arg))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure_speed(codec: AudioCodec, duration_s: float, batch_size: int, repeats: int) -> dict[str, float]:
    """Encode/decode speed of `codec` on the default device, on random binaural clips of `duration_s` (rounded
    down to whole latent frames), `batch_size` at a time; median of `repeats` calls after a compiling one.

    Returns:
      {"encode_x_realtime", "decode_x_realtime": seconds of binaural audio per wall-clock second,
       "latent_frames_per_s", "latent_floats_per_s": latent values per second of binaural audio (both ears)}.
    """
    frames = max(1, int(duration_s * codec.sample_rate) // codec.samples_per_latent)
    num_samples = frames * codec.samples_per_latent
    audio = 0.1 * np.random.default_rng(0).standard_normal((batch_size, 2, num_samples)).astype(np.float32)
    audio_seconds = batch_size * num_samples / codec.sample_rate
    latents = codec.encode(audio)
    return {
        "encode_x_realtime": audio_seconds / _median_seconds(codec.encode, audio, repeats),
        "decode_x_realtime": audio_seconds / _median_seconds(codec.decode, latents, repeats),
        "latent_frames_per_s": codec.sample_rate / codec.samples_per_latent,
        "latent_floats_per_s": 2 * codec.latent_dim * codec.sample_rate / codec.samples_per_latent,
    }

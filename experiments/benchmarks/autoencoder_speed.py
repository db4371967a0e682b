r"""Encode/decode speed of the binaural autoencoder on the local device, in seconds of audio per second.

    python -m experiments.benchmarks.autoencoder_speed --config=experiments/autoencoder.py:cpu
    python -m experiments.benchmarks.autoencoder_speed --workdir=runs/ae_cpu     # a trained, exported codec

With --workdir the trained codec is timed (load_codec); with only --config a randomly initialised model of that
config (same cost). Binaural clips of --duration_s seconds, --batch_size at a time; each figure is the median of
--repeats timed calls after one compiling call. Also prints the latent size per second of audio. Figures on
the 2-core development machine are in experiments/RESULTS.md ("Binaural autoencoder").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from v2a_jax import cli
from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.autoencoder.model import BinauralAutoencoder, model_config

_CONFIG = config_flags.DEFINE_config_file("config", None, "Autoencoder config (random init) if no --workdir.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Trained autoencoder with exported latent statistics.")
_DURATION = flags.DEFINE_float("duration_s", 2.048, "Seconds of audio per clip (rounded down to latent frames).")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Binaural clips per call.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per figure.")


def random_codec(config) -> codec_lib.AutoencoderCodec:
    """A codec with freshly initialised params and identity latent statistics (for timing only)."""
    model = BinauralAutoencoder(model_config(config))
    audio = jnp.zeros((1, 2, model.config.samples_per_latent * 4), jnp.float32)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), audio)["params"]
    dim = model.config.latent_dim
    return codec_lib.AutoencoderCodec(model, params, np.zeros(dim), np.ones(dim), config.data.sample_rate)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if _WORKDIR.value:
        codec = codec_lib.load_codec(_WORKDIR.value)
    elif _CONFIG.value is not None:
        codec = random_codec(_CONFIG.value)
    else:
        raise app.UsageError("give --workdir (trained codec) or --config (random init)")
    result = codec_lib.measure_speed(codec, _DURATION.value, _BATCH.value, _REPEATS.value)
    print(f"device: {jax.devices()[0].platform}, batch {_BATCH.value} x {_DURATION.value} s binaural")
    print(
        f"encode: {result['encode_x_realtime']:.1f} s of audio per s; "
        f"decode: {result['decode_x_realtime']:.1f} s of audio per s"
    )
    print(
        f"latents: {result['latent_frames_per_s']:g} frames/s x 2 ears x {codec.latent_dim} channels = "
        f"{result['latent_floats_per_s']:g} floats per second of binaural audio "
        f"(audio: {2 * codec.sample_rate} samples/s, {2 * codec.sample_rate / result['latent_floats_per_s']:.1f}x)"
    )


if __name__ == "__main__":
    cli.run(main)

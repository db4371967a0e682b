r"""The latent statistics of a trained binaural autoencoder: the normalisation of the generator's latents.

`export_latent_stats(config, workdir)` encodes the whole training split with a checkpoint (EMA params) and writes
`workdir/latent_stats.json` (codec.STATS_FILE): the per-channel mean and std of the posterior means over every
frame of both ears (the normalisation the generator's latents get, as in MMAudio), the checkpoint step and the full
training config, so that `codec.load_codec(workdir)` needs nothing else. The generator encodes its training audio
inside the jitted step (after mirroring and cropping), so no latents are cached on disk.

Clips are encoded whole, cut to the largest multiple of `samples_per_latent` (2 s clips: 1.984 s, 62 frames),
so a latent frame covers the same samples as in training.

    python -m v2a_jax.autoencoder.latent_stats --config=experiments/autoencoder.py:cpu --workdir=runs/ae_cpu
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import ml_collections
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from v2a_jax import cli
from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.input_pipeline import loader

STD_FLOOR = 1e-6  # a channel the encoder never uses (std ~ 0) is left unscaled rather than blown up


def split_batches(
    data_dir: str, name: str, split: str, samples_per_latent: int, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(audio [b, 2, N'] float32, seeds [b]) of every clip of `split` in order, N' = the clip length cut to a
    multiple of `samples_per_latent`; the last batch may be smaller. Seeds are the benchmark's (-1 for datasets
    that store none, e.g. recordings)."""
    source, clip = loader.open_split(data_dir, name, split)
    for start in range(0, len(source), batch_size):
        examples = [source[i] for i in range(start, min(start + batch_size, len(source)))]
        audio = np.stack([e["audio"] for e in examples]).astype(np.float32) * np.float32(clip.audio_scale)
        usable = audio.shape[-1] - audio.shape[-1] % samples_per_latent
        yield audio[..., :usable], np.asarray([e.get("seed", -1) for e in examples], np.int64)


def export_latent_stats(
    config: ml_collections.ConfigDict, workdir: str, *, step: int | None = None, batch_size: int = 16
) -> dict:
    """Encodes config.data's training split with the checkpoint of `step` (default: newest) in `workdir` and
    writes the per-channel mean/std of the posterior means to `workdir/latent_stats.json`; returns its content."""
    model, params, step = codec_lib.load_autoencoder(workdir, config, step)
    # Identity statistics: encode_unnormalised does not use them.
    codec = codec_lib.AutoencoderCodec(
        model, params, np.zeros(model.config.latent_dim), np.ones(model.config.latent_dim), config.data.sample_rate
    )
    total, total_sq, count = 0.0, 0.0, 0
    for audio, _ in split_batches(
        config.data.data_dir, config.data.name, "train", codec.samples_per_latent, batch_size
    ):
        mean = np.asarray(codec.encode_unnormalised(audio), np.float64).reshape(-1, codec.latent_dim)
        total, total_sq, count = total + mean.sum(0), total_sq + (mean**2).sum(0), count + mean.shape[0]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    stats = {
        "mean": mean.tolist(),
        "std": np.maximum(std, STD_FLOOR).tolist(),
        "step": int(step),
        "num_frames": int(count),
        "split": "train",
        "dataset": config.data.name,
        "config": json.loads(config.to_json()),
    }
    with open(os.path.join(workdir, codec_lib.STATS_FILE), "w") as f:
        json.dump(stats, f, indent=1)
    return stats


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    flag_values = flags.FLAGS
    for name in ("config", "workdir"):
        if flag_values[name].value is None:
            raise app.UsageError(f"--{name} is required")
    stats = export_latent_stats(
        flag_values.config, flag_values.workdir, step=flag_values.step, batch_size=flag_values.batch_size
    )
    print(
        f"step {stats['step']}: {stats['num_frames']} frames; mean {np.round(stats['mean'], 3).tolist()}; "
        f"std {np.round(stats['std'], 3).tolist()}"
    )


if __name__ == "__main__":
    # Defined here, not at import: the library functions above are imported next to other flag-defining modules.
    config_flags.DEFINE_config_file("config", None, "Training config of the autoencoder run.")
    flags.DEFINE_string("workdir", None, "Workdir of the trained autoencoder.")
    flags.DEFINE_integer("step", None, "Checkpoint to compute the statistics with (default: newest).")
    flags.DEFINE_integer("batch_size", 16, "Clips per encoder call.")
    cli.run(main)

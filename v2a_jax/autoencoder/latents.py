r"""Latent statistics and cached latents of a trained binaural autoencoder.

1. `export_latent_stats(config, workdir)`: encodes the whole training split with a checkpoint (EMA params) and
   writes `workdir/latent_stats.json`: per-channel mean and std of the posterior means over every frame of both
   ears (the normalisation the generator's latents get, as in MMAudio), the checkpoint step and the full training
   config, so that `codec.load_codec(workdir)` needs nothing else.
2. `encode_split(codec, ...)`: encodes a whole split into normalised latents and writes
   `out_dir/<split>.npz` (latents [N, 2, T, C] float32, seed [N], index [N]) plus an entry in
   `out_dir/manifest.json` (shapes, rates, dataset, codec); `load_latents(out_dir, split)` reads them back.
   The generator trains on these instead of running the encoder every step; `codec.decode` turns latents back
   into binaural waveforms.

Clips are encoded whole, cut to the largest multiple of `samples_per_latent` (2 s clips: 1.984 s, 62 frames),
so a latent frame covers the same samples as in training and cached latents can be cropped with the audio's
aligned offsets (pipeline/sequence.py).

    python -m v2a_jax.autoencoder.latents --config=experiments/autoencoder.py:cpu --workdir=runs/ae_cpu \
        --export_stats --out_dir=runs/ae_cpu/latents --splits=train,validation,test
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
from v2a_jax.autoencoder.model import BinauralAutoencoder, model_config
from v2a_jax.pipeline import loader

STATS_FILE = "latent_stats.json"
MANIFEST_FILE = "manifest.json"
STD_FLOOR = 1e-6  # a channel the encoder never uses (std ~ 0) is left unscaled rather than blown up


def split_batches(data_dir: str, name: str, split: str, samples_per_latent: int,
                  batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(audio [b, 2, N'] float32, seeds [b]) of every clip of `split` in order, N' = the clip length cut to a
    multiple of `samples_per_latent`; the last batch may be smaller. Seeds are the benchmark's (-1 for datasets
    that store none, e.g. recordings)."""
    source, clip = loader.open_split(data_dir, name, split)
    for start in range(0, len(source), batch_size):
        examples = [source[i] for i in range(start, min(start + batch_size, len(source)))]
        audio = np.stack([e["audio"] for e in examples]).astype(np.float32) * np.float32(clip.audio_scale)
        usable = audio.shape[-1] - audio.shape[-1] % samples_per_latent
        yield audio[..., :usable], np.asarray([e.get("seed", -1) for e in examples], np.int64)


def read_latent_stats(workdir: str) -> dict:
    """`workdir/latent_stats.json` as {"mean": [C], "std": [C], "step": int, "config": ConfigDict, ...}."""
    path = os.path.join(workdir, STATS_FILE)
    if not os.path.isfile(path):
        raise cli.NotFoundError(f"{path}: no latent statistics; export them first "
                                f"(python -m v2a_jax.autoencoder.latents --config=... --workdir={workdir} "
                                f"--export_stats)")
    with open(path) as f:
        stats = json.load(f)
    stats["config"] = ml_collections.ConfigDict(stats["config"])
    return stats


def export_latent_stats(config: ml_collections.ConfigDict, workdir: str, *, step: int | None = None,
                        batch_size: int = 16) -> dict:
    """Encodes config.data's training split with the checkpoint of `step` (default: newest) in `workdir` and
    writes the per-channel mean/std of the posterior means to `workdir/latent_stats.json`; returns its content."""
    from v2a_jax.train import trainer

    state = trainer.restore_checkpoint(config, workdir, step=step)
    model = BinauralAutoencoder(model_config(config))
    # Identity statistics: encode_unnormalised does not use them.
    codec = codec_lib.AutoencoderCodec(model, state.ema_params, np.zeros(model.config.latent_dim),
                                       np.ones(model.config.latent_dim), config.data.sample_rate)
    total, total_sq, count = 0.0, 0.0, 0
    for audio, _ in split_batches(config.data.data_dir, config.data.name, "train", codec.samples_per_latent,
                                  batch_size):
        mean = np.asarray(codec.encode_unnormalised(audio), np.float64).reshape(-1, codec.latent_dim)
        total, total_sq, count = total + mean.sum(0), total_sq + (mean ** 2).sum(0), count + mean.shape[0]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    stats = {"mean": mean.tolist(), "std": np.maximum(std, STD_FLOOR).tolist(), "step": int(state.step),
             "num_frames": int(count), "split": "train", "dataset": config.data.name,
             "config": json.loads(config.to_json())}
    with open(os.path.join(workdir, STATS_FILE), "w") as f:
        json.dump(stats, f, indent=1)
    return stats


def encode_split(codec: codec_lib.AudioCodec, data_dir: str, name: str, split: str, out_dir: str, *,
                 batch_size: int = 16, codec_info: dict | None = None) -> dict:
    """Writes the normalised latents of every clip of `split` to `out_dir/<split>.npz` and records the split in
    `out_dir/manifest.json`; returns the manifest entry.

    Args:
      codec: any AudioCodec (normally `load_codec(workdir)`).
      codec_info: stored in the manifest to identify the codec (e.g. {"workdir": ..., "step": ...}).
    """
    latents, seeds = [], []
    for audio, seed in split_batches(data_dir, name, split, codec.samples_per_latent, batch_size):
        latents.append(np.asarray(codec.encode(audio), np.float32))
        seeds.append(seed)
    latents, seeds = np.concatenate(latents), np.concatenate(seeds)
    os.makedirs(out_dir, exist_ok=True)
    np.savez(os.path.join(out_dir, f"{split}.npz"), latents=latents, seed=seeds,
             index=np.arange(len(seeds), dtype=np.int64))
    entry = {"file": f"{split}.npz", "num_examples": int(latents.shape[0]), "shape": list(latents.shape[1:]),
             "layout": "[N, 2 (0 = left ear), T, C]", "normalised": True, "dataset": name,
             "data_dir": data_dir, "sample_rate": codec.sample_rate,
             "samples_per_latent": codec.samples_per_latent, "latent_dim": codec.latent_dim,
             "codec": codec_info or {}}
    manifest_path = os.path.join(out_dir, MANIFEST_FILE)
    manifest = {}
    if os.path.isfile(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    manifest[split] = entry
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    return entry


def load_latents(out_dir: str, split: str) -> tuple[dict[str, np.ndarray], dict]:
    """({"latents": [N, 2, T, C], "seed": [N], "index": [N]}, manifest entry) of a split cached by
    `encode_split`."""
    manifest_path = os.path.join(out_dir, MANIFEST_FILE)
    if not os.path.isfile(manifest_path):
        raise FileNotFoundError(f"{manifest_path}: no latent cache here")
    with open(manifest_path) as f:
        manifest = json.load(f)
    if split not in manifest:
        raise KeyError(f"{manifest_path}: split {split!r} not cached (has {sorted(manifest)})")
    with np.load(os.path.join(out_dir, manifest[split]["file"])) as data:
        return {k: data[k] for k in data.files}, manifest[split]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    if f.workdir is None:
        raise app.UsageError("--workdir is required")
    if f.export_stats:
        if f.config is None:
            raise app.UsageError("--export_stats needs --config (the training config)")
        stats = export_latent_stats(f.config, f.workdir, step=f.step, batch_size=f.batch_size)
        print(f"step {stats['step']}: {stats['num_frames']} frames; mean {np.round(stats['mean'], 3).tolist()}; "
              f"std {np.round(stats['std'], 3).tolist()}")
    if f.out_dir:
        cli.check_output_dir(f.out_dir, "out_dir")
        codec = codec_lib.load_codec(f.workdir)
        stats = read_latent_stats(f.workdir)
        for split in f.splits:
            entry = encode_split(codec, stats["config"].data.data_dir, stats["config"].data.name, split, f.out_dir,
                                 batch_size=f.batch_size, codec_info={"workdir": f.workdir, "step": stats["step"]})
            print(f"{split}: {entry['num_examples']} x {entry['shape']} -> {f.out_dir}/{entry['file']}")


if __name__ == "__main__":
    # Defined here, not at import: the library functions above are imported next to other flag-defining modules.
    config_flags.DEFINE_config_file("config", None, "Training config (needed for --export_stats).")
    flags.DEFINE_string("workdir", None, "Workdir of the trained autoencoder.")
    flags.DEFINE_bool("export_stats", False, "Compute and write workdir/latent_stats.json first.")
    flags.DEFINE_integer("step", None, "Checkpoint for --export_stats (default: newest).")
    flags.DEFINE_string("out_dir", None, "Write cached latents of --splits here.")
    flags.DEFINE_list("splits", ["train", "validation", "test"], "Splits to cache.")
    flags.DEFINE_integer("batch_size", 16, "Clips per encoder call.")
    cli.run(main)

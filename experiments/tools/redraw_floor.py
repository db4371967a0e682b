r"""What a perfect sampler of the benchmark would score: every clip's scene rendered again with its sounds and
reverb tail drawn anew (data/binaural_synth/scenes.redraw_clip), scored against the stored clip like a
generated row.

    python -m experiments.tools.redraw_floor --workdir=runs/quickstart/generator [--split=test] [--max_clips=64] \
        [--draw=1] [--classifier_workdir=runs/classifier] [--out=floor.json]

The video and ground truth of a redrawn clip are the stored clip's; only what the picture cannot determine
changes: each sound event's random variation and the diffuse reverb tail. So a generator that samples the
benchmark's sound distribution given the video exactly scores, in expectation, the `redrawn` row on every
metric that compares with the reference audio (STFT, dITD, dILD, ...), and the `redrawn_codec` row (the redraw
through the run's codec) if it generates the codec's latents exactly: the floors under issue 18's reference-based
goals. The truth-based columns (direction error, left/right agreement, lateral r) of the redraws are those of the
recording itself, up to the draw. Rows: ground_truth, autoencoder (the codec's reconstruction), redrawn,
redrawn_codec, mono_copy (the redraw's downmix in both ears). Crops, dataset and codec are the run's
(`--workdir`'s saved config), as `v2a_jax.evaluate` crops them; results: experiments/RESULTS.md, issue 18.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags

from data.binaural_synth import scenes
from data.binaural_synth.binaural_synth_dataset_builder import config_from_metadata
from v2a_jax import cli
from v2a_jax.classifier.embedding import ClassifierEmbedding
from v2a_jax.evaluation import baselines, report, scores
from v2a_jax.generator.task import load_codec, sequence_config
from v2a_jax.input_pipeline import loader
from v2a_jax.spatial import itd_map
from v2a_jax.train import run_config


def redraw_rows(config, split: str, max_clips: int, draw: int) -> tuple[dict, dict, loader.ClipFormat]:
    """(Truth features of the first `max_clips` clips of `split` cropped as the run's evaluation crops them, {row:
    audio [B, 2, N]} without the codec rows, the clips' ClipFormat) for the run of `config`."""
    seq = sequence_config(config.data)
    source, clip = loader.open_split(config.data.data_dir, config.data.name, split)
    metadata = dict(tfds.builder_from_directory(clip.path).info.metadata)
    if "scene" not in metadata or "seed" not in clip.features:
        raise cli.ConfigError(f"{clip.path}: not a binaural_synth dataset (no scene or seeds to redraw from)")
    synth = config_from_metadata(metadata)
    head = synth.make_hrtf()
    stored, redrawn = [], []
    for i in range(min(max_clips, len(source)) if max_clips else len(source)):
        example = source[i]
        stored.append(loader.crop(example, seq, Fraction(0)))
        clip_audio = scenes.redraw_clip(int(example["seed"]), synth.scene, head, draw)["audio"]
        redrawn.append(loader.crop({"audio": clip_audio}, seq, Fraction(0))["audio"])
    features = {k: np.stack([s[k] for s in stored]) for k in (*scores.DIRECTION_TRUTH, *scores.SYNC_TRUTH)}
    features["audio"] = np.stack([s["audio"] for s in stored]).astype(np.float32) * np.float32(clip.audio_scale)
    audio = np.stack(redrawn).astype(np.float32)
    rows = {"ground_truth": features["audio"], "redrawn": audio, "mono_copy": baselines.mono_copy(audio)}
    return features, rows, clip


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    opts = flags.FLAGS
    if opts.max_clips < 0:
        raise app.UsageError(f"--max_clips={opts.max_clips}: must be >= 0 (0: the whole split)")
    config = run_config.load(opts.workdir)
    features, rows, clip = redraw_rows(config, opts.split, opts.max_clips, opts.draw)
    print(f"{clip.path} {opts.split}: {len(features['audio'])} clips redrawn (draw {opts.draw})", flush=True)
    codec = load_codec(config.codec)
    for name, audio in (("autoencoder", features["audio"]), ("redrawn_codec", rows["redrawn"])):
        rows[name] = np.asarray(codec.decode(codec.encode(audio)))[..., : audio.shape[-1]]
    path = opts.classifier_workdir
    embedding = ClassifierEmbedding(run_config.load(path), path) if path else None
    truth = scores.Truth.from_features(features)
    head_map = itd_map.dataset_map(clip.hrtf, clip.sample_rate)
    order = ("ground_truth", "autoencoder", "redrawn", "redrawn_codec", "mono_copy")
    scored = {}
    for name in order:
        scored[name] = scores.score(
            rows[name], truth, fps=clip.fps, sample_rate=clip.sample_rate, itd_map=head_map, embedding=embedding
        )
        print(f"scored {name}", flush=True)
    print(report.markdown_table(scored))
    if opts.out:
        report.write_json(opts.out, {"workdir": opts.workdir, "draw": opts.draw, "rows": scored})


if __name__ == "__main__":
    # Defined here, not at import: the tests import this module next to other modules that define these flags.
    flags.DEFINE_string("workdir", None, "Generator run whose dataset, crop and codec are used.", required=True)
    flags.DEFINE_string("split", "test", "Split to redraw.")
    flags.DEFINE_integer("max_clips", 64, "Clips to redraw (0: the whole split).")
    flags.DEFINE_integer("draw", 1, "Seed of the new sounds and reverb tails.")
    flags.DEFINE_string("classifier_workdir", None, "Classifier run whose embeddings give FD/KL/IS.")
    flags.DEFINE_string("out", "", "Optional JSON file for the scored rows.")
    cli.run(main)

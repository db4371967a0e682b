r"""What a generator that samples the benchmark's sound distribution exactly would score: every clip's scene
rendered again with its sounds and reverb tail drawn anew (data/binaural_synth/scenes.redraw_clip), scored
against the stored clip like a generated row.

    python -m experiments.tools.exact_sampler --workdir=runs/quickstart/generator [--split=test] [--max_clips=64] \
        [--draw=1] [--classifier_workdir=runs/classifier] [--out=exact_sampler.json]

A redrawn clip keeps the stored clip's scene: its video and ground truth, and also what the video does not show
(an off-screen source's path, the RT60); each sound event's random variation and the diffuse reverb tail change.
So the `redrawn` row is the expected score of a sampler that draws exactly from the benchmark's audio given the
whole scene (a more informed sampler than one given the video), and `redrawn_codec` (the redraw through the run's
codec) that of one that generates the codec's latents exactly. It is a reference point, not a bound: a system can
score better on the distance metrics by being less varied (the mono copy's dITD and STFT beat the redraw's), and on
the truth-based ones by cleaner cues than a recording has. Draws differ by the metrics' sampling noise; the stored
clip is one more draw. Rows: ground_truth, autoencoder (the codec's reconstruction), redrawn, redrawn_codec,
mono_copy (the redraw's downmix in both ears). Dataset, crop and codec are the run's (`--workdir`'s saved
config), as `v2a_jax.evaluate` reads them; results: experiments/RESULTS.md, issue 18.
"""

from __future__ import annotations

import os
from fractions import Fraction

import grain
import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags

from data.binaural_synth import scenes
from data.binaural_synth.binaural_synth_dataset_builder import config_from_metadata
from v2a_jax import cli
from v2a_jax.classifier.embedding import ClassifierEmbedding
from v2a_jax.evaluation import baselines, evaluator, report, runner, scores
from v2a_jax.generator.task import load_codec, sequence_config
from v2a_jax.inference.generate import load_generator_config
from v2a_jax.input_pipeline import loader
from v2a_jax.spatial import itd_map

# The truth a redraw must share with the stored clip: a redraw of another scene is refused.
SCENE_KEYS = ("relative_azimuth_deg", "sounding", "onset_s")


def redraw(
    config, split: str, max_clips: int, draw: int
) -> tuple[dict[str, np.ndarray], np.ndarray, loader.ClipFormat]:
    """(the first `max_clips` clips of `split` (0: all) as the run of `config` evaluates them: the loader's batch
    of audio [B, 2, N] and truth, their redraws of sound draw `draw` [B, 2, N] on the same crop, the clips'
    ClipFormat). Raises cli.ConfigError naming the dataset when it is not binaural_synth, is empty, or a redraw's
    scene differs from its stored clip's (the rendering code changed since the dataset was built)."""
    seq = sequence_config(config.data)
    source, clip = loader.open_split(
        config.data.data_dir, config.data.name, f"{split}[:{max_clips}]" if max_clips else split
    )
    metadata = dict(tfds.builder_from_directory(clip.path).info.metadata)
    if "scene" not in metadata or "seed" not in clip.features:
        raise cli.ConfigError(f"{clip.path}: not a binaural_synth dataset (no scene or seeds to redraw from)")
    if len(source) == 0:
        raise cli.ConfigError(f"{clip.path}: split {split!r} has no clips")
    keys = (*runner.scored_keys(clip), "seed")
    ds = loader.make_dataset(
        source,
        clip,
        seq,
        train=False,
        batch_size=len(source),
        seed=0,
        shard_options=grain.sharding.NoSharding(),
        keys=keys,
    )
    stored = next(iter(ds))
    synth = config_from_metadata(metadata)
    head = synth.make_hrtf()
    redrawn = []
    for i, seed in enumerate(stored["seed"]):
        clip_redrawn = loader.crop(scenes.redraw_clip(int(seed), synth.scene, head, draw), seq, Fraction(0))
        if not all(np.array_equal(clip_redrawn[k], stored[k][i], equal_nan=True) for k in SCENE_KEYS):
            raise cli.ConfigError(
                f"{clip.path}: clip {i} of {split!r} (seed {int(seed)}) renders another scene than the stored one: "
                f"the scene code changed since the dataset was built (rebuild it)"
            )
        redrawn.append(clip_redrawn["audio"])
    return stored, np.stack(redrawn).astype(np.float32), clip


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    opts = flags.FLAGS
    if opts.out:
        cli.check_output_dir(os.path.dirname(os.path.abspath(opts.out)), "out")
    # Everything that can fail on a flag before the minutes of rendering.
    config = load_generator_config(opts.workdir)
    codec = load_codec(config.codec)
    path = opts.classifier_workdir
    embedding = ClassifierEmbedding.from_workdir(path) if path else None
    stored, redrawn, clip = redraw(config, opts.split, opts.max_clips, opts.draw)
    print(f"{clip.path} {opts.split}: {len(redrawn)} clips redrawn (draw {opts.draw})", flush=True)
    truth = scores.Truth.from_features(stored)
    systems = {
        "ground_truth": truth.audio,
        "autoencoder": codec.decode(codec.encode(truth.audio)),
        "redrawn": redrawn,
        "redrawn_codec": codec.decode(codec.encode(redrawn)),
        "mono_copy": baselines.mono_copy(redrawn),
    }
    rows, omitted = evaluator.score_rows(
        {name: (np.asarray(audio), truth) for name, audio in systems.items()},
        fps=clip.fps,
        sample_rate=clip.sample_rate,
        head_map=itd_map.dataset_map(clip.hrtf, clip.sample_rate),
        embedding=embedding,
        progress=lambda name: print(f"scored {name}", flush=True),
    )
    print(report.markdown_table(rows) + "".join(f"\n- {k}: {v}" for k, v in omitted.items()))
    if opts.out:
        report.write_json(opts.out, {"workdir": opts.workdir, "draw": opts.draw, "rows": rows, "omitted": omitted})


if __name__ == "__main__":
    # Defined here, not at import: the tests import this module next to other modules that define these flags.
    flags.DEFINE_string("workdir", None, "Generator run whose dataset, crop and codec are used.", required=True)
    flags.DEFINE_string("split", "test", "Split to redraw.")
    flags.DEFINE_integer("max_clips", 64, "Clips to redraw (0: the whole split).", lower_bound=0)
    flags.DEFINE_integer("draw", 1, "Seed of the new sounds and reverb tails.", lower_bound=0)
    flags.DEFINE_string("classifier_workdir", None, "Classifier run whose embeddings give FD/KL/IS.")
    flags.DEFINE_string("out", "", "Optional JSON file for the scored rows.")
    cli.run(main)

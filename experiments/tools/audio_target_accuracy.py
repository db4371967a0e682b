r"""How often the localisation targets taken from the recording (v2a_jax/spatial/audio_targets.py) name
the side of the source that is really sounding, on a split with ground truth (binaural_synth).

    python -m experiments.tools.audio_target_accuracy [--data_dir=runs/quickstart/data] [--split=test] [--clips=0]

Frames counted: exactly one sounding source, at least 5 degrees off the median plane (as the direction metrics
count them). One row per coherence threshold (`audio_targets.MIN_CONFIDENCE` is the training's), without and with
the ILD veto (`audio_targets.ILD_VETO_DB`): the share of the counted frames a target keeps and how often its side
is right (results: experiments/RESULTS.md, "audio localisation targets").
"""

from __future__ import annotations

import jax
import numpy as np
from absl import app, flags

from v2a_jax import cli
from v2a_jax.input_pipeline import loader
from v2a_jax.metrics import direction
from v2a_jax.spatial import audio_targets, itd_map

THRESHOLDS = (0.0, audio_targets.MIN_CONFIDENCE, 0.8)


def side_accuracy(targets: audio_targets.AudioTargets, true_lateral_deg, counted, min_confidence: float):
    """(share of the `counted` frames [B, T] whose confidence reaches `min_confidence`, fraction of those whose
    target names the side of `true_lateral_deg` [B, T])."""
    kept = counted & (targets.confidence >= min_confidence) & (targets.confidence > 0)
    right = np.sign(targets.lateral_deg[kept]) == np.sign(true_lateral_deg[kept])
    return float(kept.sum() / max(counted.sum(), 1)), float(right.mean()) if kept.any() else float("nan")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    opts = flags.FLAGS
    if opts.clips < 0:
        raise app.UsageError(f"--clips={opts.clips}: must be >= 0 (0: the whole split)")
    source, clip = loader.open_split(opts.data_dir, opts.dataset, opts.split)
    if not clip.has_truth(("relative_azimuth_deg", "elevation_deg", "sounding")):
        raise cli.ConfigError(f"{clip.path}: {opts.dataset} stores no source directions to check the targets with")
    examples = [source[i] for i in range(min(opts.clips, len(source)) or len(source))]
    audio = np.stack([e["audio"] for e in examples]).astype(np.float32) * np.float32(clip.audio_scale)
    azimuth, elevation, sounding = (
        np.stack([e[k] for e in examples]) for k in ("relative_azimuth_deg", "elevation_deg", "sounding")
    )
    truth, one_source = direction.single_source_lateral_deg(azimuth, sounding, elevation)
    counted = one_source & (np.abs(truth) >= direction.MIN_LATERAL_DEG)
    head = itd_map.dataset_map(clip.hrtf, clip.sample_rate)
    print(
        f"{opts.dataset} {opts.split}: {len(examples)} clips, {counted.sum()} frames with one sounding source "
        f">= {direction.MIN_LATERAL_DEG:g} deg off the median plane"
    )
    print(f"{'ILD veto':>10s} {'coherence >=':>13s} {'frames kept':>12s} {'side right':>11s}")
    for veto in (np.inf, audio_targets.ILD_VETO_DB):
        targets = jax.device_get(
            audio_targets.audio_targets(
                audio,
                azimuth.shape[1],
                clip.fps,
                clip.sample_rate,
                width=64,
                fov_deg=clip.field_of_view_deg,
                itd_map=head,
                ild_veto_db=veto,
            )
        )
        for threshold in THRESHOLDS:
            share, right = side_accuracy(targets, truth, counted, threshold)
            label = "off" if np.isinf(veto) else f"{veto:g} dB"
            print(f"{label:>10s} {threshold:13.1f} {share:12.3f} {right:11.3f}")


if __name__ == "__main__":
    # Defined here, not at import: the tests import this module next to other modules that define these flags.
    flags.DEFINE_string("data_dir", "runs/quickstart/data", "TFDS data dir holding binaural_synth.")
    flags.DEFINE_string("dataset", "binaural_synth/small", "Dataset name.")
    flags.DEFINE_string("split", "test", "Split to measure on.")
    flags.DEFINE_integer("clips", 0, "Clips to use (0: the whole split).")
    cli.run(main)

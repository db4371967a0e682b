"""Library side of building `binaural_synth`: pick a named variant, prepare it, summarise it.

The command-line front end is `python -m data.binaural_synth.build`; the quick-start calls these directly.
"""

from __future__ import annotations

import os
import time

import numpy as np
from absl import logging

from data.binaural_synth.binaural_synth_dataset_builder import BUILDER_CONFIGS, BinauralSynth, BinauralSynthConfig


def named_config(name: str) -> BinauralSynthConfig:
    for config in BUILDER_CONFIGS:
        if config.name == name:
            return config
    raise ValueError(f"unknown binaural_synth config {name!r}; known: {[c.name for c in BUILDER_CONFIGS]}")


def build(config: BinauralSynthConfig | str, data_dir: str, num_workers: int = 2) -> tuple[BinauralSynth, float]:
    """Prepares `config` (a variant or its name) under `data_dir` (no-op if already there).

    Returns (builder, seconds spent).
    """
    builder = BinauralSynth(config=config, data_dir=data_dir, num_workers=num_workers)
    start = time.perf_counter()
    if not builder.is_prepared():
        logging.info("building binaural_synth/%s into %s", builder.builder_config.name, builder.data_dir)
    builder.download_and_prepare(file_format="array_record")
    return builder, time.perf_counter() - start


def _dir_size_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def summarize(builder: BinauralSynth, split: str = "train") -> str:
    """Human-readable summary of a prepared variant: sizes, shapes and ground-truth statistics of `split`."""
    config: BinauralSynthConfig = builder.builder_config
    scene = config.scene
    source = builder.as_data_source(split=split)
    n = len(source)
    sources_per_clip, classes, visible, sounding, sounding_az, offscreen, lateral = [], [], [], [], [], 0, []
    for i in range(n):
        ex = source[i]
        present = ex["source_present"]
        sources_per_clip.append(int(present.sum()))
        classes.extend(ex["class_id"][present].tolist())
        offscreen += int(np.any(present & ~ex["onscreen_source"]))
        visible.append(ex["visible"][:, present].mean())
        sounding.append(ex["sounding"][:, present].mean())
        az = ex["relative_azimuth_deg"][ex["sounding"]]
        sounding_az.append(az)
        lateral.append(np.mean(np.abs(az)) if az.size else np.nan)
    az = np.concatenate(sounding_az) if sounding_az else np.zeros(0)
    class_counts = np.bincount(np.asarray(classes, np.int64), minlength=1)
    lines = [
        f"binaural_synth/{config.name} at {builder.data_dir}",
        "  splits: " + ", ".join(f"{k} {v.num_examples}" for k, v in builder.info.splits.items()),
        f"  on disk: {_dir_size_bytes(builder.data_dir) / 2**20:.1f} MiB",
        f"  clip: {scene.duration_s:g} s, audio 2 x {int(scene.duration_s * scene.sample_rate)} at "
        f"{scene.sample_rate} Hz, video {int(scene.duration_s * scene.fps)} x {scene.image_size} x "
        f"{scene.image_size} x 3 at {scene.fps:g} fps, hrtf {config.hrtf}",
        f"  {split}: {n} clips; sources per clip "
        + ", ".join(f"{k}: {sources_per_clip.count(k)}" for k in sorted(set(sources_per_clip))),
        f"  clips with an off-screen source: {offscreen}",
        f"  class counts: {class_counts.tolist()}",
        f"  frames visible {np.mean(visible):.2f}, sounding {np.mean(sounding):.2f} (fraction of source-frames)",
        f"  sounding azimuth: mean |az| {np.nanmean(lateral):.1f} deg, left (az>0) {np.mean(az > 0):.2f}, "
        f"range [{az.min() if az.size else 0:.0f}, {az.max() if az.size else 0:.0f}] deg",
    ]
    return "\n".join(lines)

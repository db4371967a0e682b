"""Grain input pipeline over TFDS ArrayRecord clips: the `binaural_synth` benchmark and the recorded-video datasets
(the stored layout every builder shares: `video`, `audio`, `caption`, plus optional ground truth).

    source (ArrayRecord, random access)
      -> shard by JAX process -> [train: shuffle(seed), repeat] -> temporal crop (random when training)
      -> [train: left/right mirror with probability mirror_prob] -> batch -> IterDataset [-> worker processes]
      -> normalise

The returned `grain.IterDataset` yields dicts of numpy arrays with a leading per-process batch axis; its
iterator's `get_state()/set_state()` make the position checkpointable (the trainer stores it with orbax), so a
resumed run sees exactly the batches an uninterrupted run would have seen.

Shapes of one batch element after cropping to `seq` (B = batch, T = seq.num_video_frames, N = seq.num_samples,
S = source slots, E = onset slots):
  video [B, T, H, W, 3] float32 in [-1, 1]; audio [B, 2, N] float32 in [-1, 1] (0 = left ear);
  relative_azimuth_deg / elevation_deg / distance_m / screen_x / screen_y [B, T, S] float32;
  visible / sounding [B, T, S] bool; camera_yaw_deg [B, T]; class_id / source_present / onscreen_source [B, S];
  onset_s [B, S, E] float32 seconds from the crop start, -1 where empty; caption [B] bytes; seed [B] int64.
Recorded-video datasets store no ground truth (no per-frame source features, no onsets, no seed) but clip_id [B]
bytes, start_s and gain_db [B] float32 (the window's start in its source file; the builder's loudness gain).

What a dataset holds is read from its metadata in one place, `ClipFormat.from_info`: the clips' rates and length
(metadata `clip`), the camera's horizontal field of view (`field_of_view_deg`) and which ground-truth features
it stores (`ClipFormat.truth`: none when metadata `ground_truth` is false, else those of TRUTH_KEYS present).
Datasets built before the `clip` field (binaural_synth versions without it) are read through the one fallback
documented there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from fractions import Fraction

import grain
import numpy as np
import tensorflow_datasets as tfds
from absl import flags

from v2a_jax import cli
from v2a_jax.input_pipeline.sequence import SequenceConfig

# Features indexed by video frame on their first axis: cropped together with the video.
PER_FRAME_KEYS = (
    "video",
    "relative_azimuth_deg",
    "elevation_deg",
    "distance_m",
    "screen_x",
    "screen_y",
    "visible",
    "sounding",
    "camera_yaw_deg",
)
# The benchmark's ground truth about the sources, which a dataset of recordings does not have.
TRUTH_KEYS = (
    "relative_azimuth_deg",
    "elevation_deg",
    "distance_m",
    "screen_x",
    "screen_y",
    "visible",
    "sounding",
    "onset_s",
)
DEFAULT_FOV_DEG = 90.0  # binaural_synth's camera, for its versions built before `field_of_view_deg` was stored


@dataclasses.dataclass(frozen=True)
class ClipFormat:
    """What the stored clips are: rates and length, the camera's horizontal field of view, the names of the stored
    features, the ground-truth ones among them (`truth`, a subset of TRUTH_KEYS; empty for recordings), the head
    the audio was rendered with where the builder records one (`hrtf`: ('spherical', radius_m) or ('sofa', path);
    None for recordings; spatial/itd_map.dataset_map turns it into the ITD-to-angle map), and the dataset's
    directory (`path`, for messages)."""

    duration_s: float
    sample_rate: int
    fps: float
    audio_scale: float
    field_of_view_deg: float = DEFAULT_FOV_DEG
    features: tuple[str, ...] = ()
    truth: tuple[str, ...] = ()
    hrtf: tuple[str, float | str] | None = None
    path: str = dataclasses.field(default="", compare=False)

    def has_truth(self, keys: Sequence[str]) -> bool:
        """Whether every one of the ground-truth features `keys` is stored."""
        return all(k in self.truth for k in keys)

    @classmethod
    def from_info(cls, metadata: dict, features: Sequence[str], where: str) -> ClipFormat:
        """From a dataset's metadata and feature names (`where` names it in errors).

        Metadata `clip` gives the rates and length (the contract of every builder). Fallback, the only one: a
        binaural_synth dataset built before `clip` was stored has them in `scene` (same keys), its camera's field
        of view there too, and no `ground_truth` flag; its truth is then the TRUTH_KEYS it stores.
        """
        clip = metadata.get("clip", metadata.get("scene"))
        if clip is None or "audio_scale" not in metadata:
            raise cli.ConfigError(
                f"{where}: the dataset metadata has no 'clip' (rates and length) or 'audio_scale': "
                f"not a dataset in the stored layout this loader reads"
            )
        fov = metadata.get("field_of_view_deg", clip.get("horizontal_fov_deg", DEFAULT_FOV_DEG))
        features = tuple(sorted(features))
        truth = () if metadata.get("ground_truth", True) is False else tuple(k for k in TRUTH_KEYS if k in features)
        # binaural_synth records its head at the top level, the builders over recordings in `builder`.
        rendered = metadata.get("builder", metadata)
        hrtf = None
        if rendered.get("hrtf") == "spherical":
            hrtf = ("spherical", float(rendered["head_radius_m"]))
        elif rendered.get("hrtf") == "sofa":
            hrtf = ("sofa", str(rendered["sofa_path"]))
        return cls(
            duration_s=float(clip["duration_s"]),
            sample_rate=int(clip["sample_rate"]),
            fps=float(clip["fps"]),
            audio_scale=float(metadata["audio_scale"]),
            field_of_view_deg=float(fov),
            features=features,
            truth=truth,
            hrtf=hrtf,
        )


def open_split(data_dir: str, name: str, split: str):
    """Opens one split of a prepared TFDS dataset for random access.

    Args:
      data_dir: TFDS data directory the dataset was built into.
      name: '<dataset>/<config>' (optionally ':<version>'), e.g. 'binaural_synth/small'.
      split: 'train', 'validation' or 'test' (TFDS slicing such as 'train[:10]' works too).
    Returns:
      (source, ClipFormat): an ArrayRecord data source and the stored clips' rates.
    Raises:
      FileNotFoundError naming the directory if the dataset has not been built there; ValueError naming it if
      its metadata lacks the stored layout's rates (`ClipFormat.from_info`).
    """
    dataset, _, version = name.partition(":")
    root = os.path.join(data_dir, dataset)
    if not version:
        prepared = [
            v
            for v in (os.listdir(root) if os.path.isdir(root) else [])
            if os.path.isfile(os.path.join(root, v, "dataset_info.json"))
        ]
        version = max(prepared, key=lambda v: tuple(int(p) for p in v.split(".")), default="")
    path = os.path.join(root, version)
    if not version or not os.path.isfile(os.path.join(path, "dataset_info.json")):
        raise cli.NotFoundError(
            f"{root}: no prepared dataset {name!r} (build it first: "
            f"python -m data.binaural_synth.build --data_dir={data_dir})"
        )
    # Read from the files alone: the builder class (if imported) only knows its named configs.
    builder = tfds.builder_from_directory(path)
    try:
        source = builder.as_data_source(split=split)
    except ValueError as e:  # an unknown split or slice
        raise cli.ConfigError(f"{path}: {cli.one_line(e)}") from e
    clip = ClipFormat.from_info(dict(builder.info.metadata), list(builder.info.features.keys()), path)
    return source, dataclasses.replace(clip, path=path)


def _check_rates(seq: SequenceConfig, clip: ClipFormat) -> None:
    if seq.sample_rate != clip.sample_rate or Fraction(str(seq.video_fps)) != Fraction(str(clip.fps)):
        raise cli.ConfigError(
            f"{clip.path or 'dataset'}: the config's sequence ({seq.sample_rate} Hz, "
            f"{seq.video_fps} fps) does not match the stored clips ({clip.sample_rate} Hz, "
            f"{clip.fps} fps)"
        )
    seq.crop_starts(clip.duration_s)  # Raises if the crop is longer than the clips.


def crop(example: dict, seq: SequenceConfig, start_s: Fraction) -> dict:
    """Cuts `seq.duration_s` seconds starting at the aligned time `start_s` from every time-indexed feature."""
    f0, s0 = seq.video_frames_at(start_s), seq.samples_at(start_s)
    out = dict(example)
    for key in PER_FRAME_KEYS:
        if key in example:
            out[key] = example[key][f0 : f0 + seq.num_video_frames]
    if "audio" in example:
        out["audio"] = example["audio"][:, s0 : s0 + seq.num_samples]
    if "onset_s" in example:
        onsets = example["onset_s"] - np.float32(start_s)
        inside = (example["onset_s"] >= 0) & (onsets >= 0) & (onsets < seq.duration_s)
        out["onset_s"] = np.where(inside, onsets, np.float32(-1.0)).astype(np.float32)
    return out


class RandomCrop(grain.transforms.RandomMap):
    """Crop at a random aligned start (training)."""

    def __init__(self, seq: SequenceConfig, clip: ClipFormat):
        self._seq, self._num_starts = seq, seq.crop_starts(clip.duration_s)

    def random_map(self, example: dict, rng: np.random.Generator) -> dict:
        start = int(rng.integers(self._num_starts)) * self._seq.alignment_s
        return crop(example, self._seq, start)


class FirstCrop(grain.transforms.Map):
    """Crop from the clip's start (evaluation: the same window every time)."""

    def __init__(self, seq: SequenceConfig):
        self._seq = seq

    def map(self, example: dict) -> dict:
        return crop(example, self._seq, Fraction(0))


def mirror(example: dict) -> dict:
    """The same scene reflected in the median plane: what a listener facing the mirror image would record.

    The video is flipped left-right (width axis), the ears are swapped, relative azimuths and the camera yaw are
    negated (SOFA angles: +az is left) and screen_x is reflected about the frame's centre (x -> W - x, W the
    stored frame width). Elevation, distance, screen_y, visibility, timing and caption are unchanged: the
    captions name classes, not sides. Exact for binaural_synth, whose head model and rooms are left/right
    symmetric; for measured HRTFs it is the usual approximation of a symmetric head.
    """
    out = dict(example)
    if "video" in example:
        out["video"] = example["video"][:, :, ::-1]  # [T, H, W, 3]
    if "audio" in example:
        out["audio"] = example["audio"][::-1]  # [2, N]: ear 0 (left) <-> ear 1
    for key in ("relative_azimuth_deg", "camera_yaw_deg"):
        if key in example:
            out[key] = -example[key]
    if "screen_x" in example:
        if "video" not in example:
            raise KeyError("mirror: screen_x needs the video to know the frame width")
        out["screen_x"] = np.float32(example["video"].shape[2]) - example["screen_x"]
    return out


class RandomMirror(grain.transforms.RandomMap):
    """`mirror` with probability `prob` (training): every scene is seen with the source on either side, so the
    side of the sound can only be learnt from the side of the picture, never as a per-dataset bias."""

    def __init__(self, prob: float):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"mirror probability must be in [0, 1], got {prob}")
        self._prob = prob

    def random_map(self, example: dict, rng: np.random.Generator) -> dict:
        return mirror(example) if rng.random() < self._prob else example


class Normalize(grain.transforms.Map):
    """uint8 video -> float32 [-1, 1]; int16 PCM -> float32 [-1, 1]."""

    def __init__(self, audio_scale: float):
        self._audio_scale = np.float32(audio_scale)

    def map(self, example: dict) -> dict:
        out = dict(example)
        if "video" in out:
            out["video"] = out["video"].astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        if "audio" in out:
            out["audio"] = out["audio"].astype(np.float32) * self._audio_scale
        return out


class SelectKeys(grain.transforms.Map):
    """Keeps only the features a task consumes (less to decode, copy and ship to devices)."""

    def __init__(self, keys: Sequence[str]):
        self._keys = tuple(keys)

    def map(self, example: dict) -> dict:
        missing = [k for k in self._keys if k not in example]
        if missing:
            raise KeyError(f"features {missing} not in the dataset (has {sorted(example)})")
        return {k: example[k] for k in self._keys}


def make_dataset(
    source,
    clip: ClipFormat,
    seq: SequenceConfig,
    *,
    train: bool,
    batch_size: int,
    seed: int,
    shard_options: grain.sharding.ShardOptions | None = None,
    keys: Sequence[str] | None = None,
    num_workers: int = 0,
    mirror_prob: float = 0.0,
) -> grain.IterDataset:
    """Builds the per-process pipeline described in the module docstring.

    Args:
      source: random-access source of stored examples (`open_split(...)[0]`).
      clip: rates of the stored clips.
      seq: lengths of one cropped example.
      train: shuffle, repeat forever and crop at random; otherwise one pass in order from each clip's start.
      batch_size: examples per batch on this process (global batch / process count).
      seed: shuffle and crop seed.
      shard_options: which slice of the source this process reads (default: by JAX process).
      keys: features to keep (default: all).
      num_workers: grain worker processes for decoding/cropping (0 = in the calling thread).
      mirror_prob: training only: probability of `mirror`ing each example (0 = never).
    """
    _check_rates(seq, clip)
    shard = shard_options or grain.sharding.ShardByJaxProcess(drop_remainder=True)
    ds = grain.MapDataset.source(source)[shard.shard_index :: shard.shard_count]
    if keys is not None:
        ds = ds.map(SelectKeys(keys))
    if train:
        ds = ds.shuffle(seed=seed).repeat(None).random_map(RandomCrop(seq, clip), seed=seed)
        if mirror_prob > 0:
            # Its own seed stream: turning mirroring on leaves the crops of a run unchanged.
            ds = ds.random_map(RandomMirror(mirror_prob), seed=seed + 1)
    else:
        ds = ds.map(FirstCrop(seq))
    it = ds.batch(batch_size, drop_remainder=train).to_iter_dataset()
    if num_workers > 0:
        if not flags.FLAGS.is_parsed():
            # Grain workers read absl flags; outside absl.app.run (notebooks, pytest) they keep their defaults.
            flags.FLAGS.mark_as_parsed()
        it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
    # Normalised after the worker hand-off: uint8/int16 batches cross process boundaries at 1/4 and 1/2 the
    # bytes of float32 ones, which is what limits multi-worker throughput here.
    return it.map(Normalize(clip.audio_scale))

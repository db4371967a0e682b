"""TFDS builder for `binaural_synth`, the project's procedurally generated binaural benchmark.

Every clip is rendered from an integer seed by `scenes.render_clip`, so the dataset is reproducible
bit-for-bit from its config. Examples are written as ArrayRecord (random access, no TensorFlow needed) and are
read back with `tfds.builder_from_directory(...).as_data_source()` (see `v2a_jax/input_pipeline/loader.py`).
Features, shapes and conventions are documented in README.md next to this file.

Build from the command line with `python -m data.binaural_synth.build --config=small --data_dir=DIR`.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterator

import numpy as np
import tensorflow_datasets as tfds

from data import features as clip_features
from data.binaural_synth import scenes
from v2a_jax.spatial import hrtf as hrtf_lib

_SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}


@dataclasses.dataclass(eq=False)
class BinauralSynthConfig(tfds.core.BuilderConfig):
    """A named benchmark variant: scene parameters, split sizes and renderer.

    Attributes:
      scene: what each clip looks and sounds like (duration, resolution, sources, motion, reverb).
      num_train / num_validation / num_test: clips per split.
      hrtf: 'spherical' (Brown-Duda spherical head) or 'sofa' (measured HRIRs from `sofa_path`).
      sofa_path: SimpleFreeFieldHRIR SOFA file used when hrtf == 'sofa'.
      head_radius_m: spherical-head radius (ignored for SOFA).
      seed: base seed; clip i of split s is rendered from SeedSequence([seed, split_id(s), i]).
    """

    scene: scenes.SceneConfig = dataclasses.field(default_factory=scenes.SceneConfig)
    num_train: int = 2000
    num_validation: int = 200
    num_test: int = 200
    hrtf: str = "spherical"
    sofa_path: str = ""
    head_radius_m: float = 0.0875
    seed: int = 0

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}

    def make_hrtf(self):
        if self.hrtf == "spherical":
            return hrtf_lib.make_hrtf("spherical", self.scene.sample_rate, head_radius_m=self.head_radius_m)
        if self.hrtf == "sofa":
            return hrtf_lib.make_hrtf("sofa", self.scene.sample_rate, path=self.sofa_path)
        raise ValueError(f"BinauralSynthConfig.hrtf must be 'spherical' or 'sofa', got {self.hrtf!r}")

    def metadata(self) -> dict:
        """JSON-able description stored with the dataset, so readers know its rates without this code: the
        layout every dataset shares (`clip`, `audio_scale`, `field_of_view_deg`, `ground_truth`; read by
        v2a_jax.input_pipeline.loader.ClipFormat.from_info) and the benchmark's own parameters."""
        scene = self.scene
        return {
            "clip": {
                "duration_s": scene.duration_s,
                "sample_rate": scene.sample_rate,
                "fps": scene.fps,
                "height": scene.image_size,
                "width": scene.image_size,
                "resize_mode": "none",
            },  # rendered at the stored size, nothing resized
            "field_of_view_deg": scene.horizontal_fov_deg,
            "ground_truth": True,
            "scene": dataclasses.asdict(scene),
            "hrtf": self.hrtf,
            "sofa_path": self.sofa_path,
            "head_radius_m": self.head_radius_m,
            "seed": self.seed,
            "audio_scale": 1.0 / 32767.0,
        }


def config_from_metadata(metadata: dict) -> BinauralSynthConfig:
    """The config a dataset was built with, from its stored metadata (the inverse of `metadata()` for the
    rendering fields; split sizes are left at their defaults): re-renders its clips without knowing its name."""
    scene = {k: tuple(v) if isinstance(v, list) else v for k, v in metadata["scene"].items()}
    return BinauralSynthConfig(
        name="from_metadata",
        scene=scenes.SceneConfig(**scene),
        hrtf=metadata["hrtf"],
        sofa_path=metadata["sofa_path"],
        head_radius_m=float(metadata["head_radius_m"]),
        seed=int(metadata["seed"]),
    )


def clip_seed(base_seed: int, split: str, index: int) -> int:
    """The integer seed clip `index` of `split` is rendered from."""
    return int(np.random.SeedSequence([base_seed, _SPLIT_IDS[split], index]).generate_state(1)[0])


BUILDER_CONFIGS = [
    BinauralSynthConfig(
        name="default",
        description="8 s clips, 64x64 at 25 fps, 16 kHz binaural, 1-2 sources plus an optional off-screen one.",
        scene=scenes.SceneConfig(duration_s=8.0),
        num_train=2000,
        num_validation=200,
        num_test=200,
    ),
    BinauralSynthConfig(
        name="small",
        description="1,000 two-second training clips at 64x64 (the quick-start and benchmark-build size).",
        scene=scenes.SceneConfig(duration_s=2.0),
        num_train=1000,
        num_validation=100,
        num_test=100,
    ),
    BinauralSynthConfig(
        name="hires",
        description="8 s clips at 224x224 for experiments with pretrained-size visual encoders.",
        scene=scenes.SceneConfig(duration_s=8.0, image_size=224),
        num_train=2000,
        num_validation=200,
        num_test=200,
    ),
]


# Rendering state of one worker process: the HRTF is built once per process, not once per clip.
_worker: dict = {}


def _init_worker(config: BinauralSynthConfig) -> None:
    _worker["config"] = config
    _worker["hrtf"] = config.make_hrtf()


def _render(seed: int) -> dict:
    config = _worker["config"]
    clip = scenes.render_clip(seed, config.scene, _worker["hrtf"])
    return to_example(clip, seed)


def to_example(clip: dict, seed: int) -> dict:
    """Converts a `render_clip` dict to the stored feature dict (audio as int16 PCM, float32 [-1, 1] scale)."""
    example = {k: v for k, v in clip.items() if k != "audio"}
    audio = np.asarray(clip["audio"], np.float32)
    if not np.all(np.isfinite(audio)) or np.max(np.abs(audio)) > 1.0:
        raise ValueError(f"binaural_synth: clip with seed {seed} has non-finite or clipped audio")
    example["audio"] = np.round(audio * 32767.0).astype(np.int16)
    example["seed"] = np.int64(seed)
    return example


def features(scene: scenes.SceneConfig) -> tfds.features.FeaturesDict:
    """Feature spec for clips of `scene`; T video frames, N samples, S source slots, E onset slots."""
    shapes = scenes.clip_shapes(scene)
    t, s, e = shapes["num_frames"], shapes["num_sources"], shapes["max_events"]
    size = scene.image_size
    per_frame = lambda dtype: tfds.features.Tensor(shape=(t, s), dtype=dtype)  # noqa: E731
    return tfds.features.FeaturesDict(
        {
            "video": clip_features.video_frames(t, size, size),
            "audio": clip_features.binaural_audio(shapes["num_samples"]),
            "caption": tfds.features.Text(),
            "seed": np.int64,
            "class_id": tfds.features.Tensor(shape=(s,), dtype=np.int32),
            "source_present": tfds.features.Tensor(shape=(s,), dtype=np.bool_),
            "onscreen_source": tfds.features.Tensor(shape=(s,), dtype=np.bool_),
            "relative_azimuth_deg": per_frame(np.float32),
            "elevation_deg": per_frame(np.float32),
            "distance_m": per_frame(np.float32),
            "screen_x": per_frame(np.float32),
            "screen_y": per_frame(np.float32),
            "visible": per_frame(np.bool_),
            "sounding": per_frame(np.bool_),
            "camera_yaw_deg": tfds.features.Tensor(shape=(t,), dtype=np.float32),
            "onset_s": tfds.features.Tensor(shape=(s, e), dtype=np.float32),
        }
    )


class BinauralSynth(tfds.core.GeneratorBasedBuilder):
    """Procedurally generated binaural scenes with per-frame source ground truth."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "First release.",
        "1.1.0": "Audio stored as raw int16 bytes, not an int64 list: examples decode several times faster.",
    }
    BUILDER_CONFIGS = BUILDER_CONFIGS
    DEFAULT_CONFIG_NAME = "default"

    def __init__(self, *, num_workers: int = 2, **kwargs):
        """`num_workers`: processes that render clips while building (the data does not depend on it)."""
        self._num_workers = num_workers
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        config: BinauralSynthConfig = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=features(config.scene),
            # Index i of a split is clip i: readers can regenerate or inspect any clip from its seed.
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(config.metadata()),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: every clip is rendered here.
        return {
            split: self._generate_examples(split, n) for split, n in self.builder_config.split_sizes().items() if n > 0
        }

    def _generate_examples(self, split: str, num_clips: int) -> Iterator[tuple[int, dict]]:
        config: BinauralSynthConfig = self.builder_config
        seeds = [clip_seed(config.seed, split, i) for i in range(num_clips)]
        if self._num_workers <= 1:
            _init_worker(config)
            for i, seed in enumerate(seeds):
                yield i, _render(seed)
            return
        # spawn, not fork: the caller may already have started JAX/XLA threads, which fork would copy broken.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(self._num_workers, initializer=_init_worker, initargs=(config,)) as pool:
            for i, example in enumerate(pool.imap(_render, seeds, chunksize=4)):
                yield i, example

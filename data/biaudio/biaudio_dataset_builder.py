"""TFDS builder `biaudio`: ViSAudio's BiAudio construction from a folder of 360-degree videos with first-order
ambisonics (the layout of YT-360 / Sphere360: equirectangular video, 4-channel FOA in the container or in a
`<stem>.wav` / `<stem>.flac` side-car; folder layout and labels: data/biaudio/sources.py).

Per source file and window (data/video_folder/clips.py windows): phi_max of the window's FOA, a random camera
trajectory from it seeded by the clip id (trajectory.py), the perspective video cut along it from the
equirectangular frames (decoded at equirect_height x equirect_width; about 4x the perspective width keeps one
panorama pixel per output pixel at a 90-degree field of view), and the FOA rotated into the camera frame along the
same path and decoded to binaural with the configured HRTF (construct.py). Windows whose normalised left-right
difference is below min_lr_difference are dropped and listed in the skip manifest. Stored: the contract's
features plus camera_yaw_deg / camera_pitch_deg / camera_roll_deg [T] and phi_max_deg [2] float32.

Memory: a source file is decoded whole at the equirectangular size (duration * fps * equirect_height *
equirect_width * 3 bytes; 30 s at 25 fps and 256 x 512 is ~300 MB), so cut hour-long recordings first.

Build: `python -m data.biaudio.build --input_dir=DIR --data_dir=DIR --config=small [--num_workers=N]`.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow_datasets as tfds

from data.biaudio import construct, decoding, sources
from data.biaudio import trajectory as trajectory_lib
from data.video_folder import clips, media
from data.video_folder.builder import ClipConfig
from v2a_jax.spatial import ambisonics


@dataclasses.dataclass(eq=False)
class BiAudioConfig(ClipConfig):
    """A BiAudio variant. Window, rates and loudness as data/video_folder's ClipConfig; height / width / fov_deg:
    the perspective camera; equirect_height / equirect_width: the size equirectangular frames are decoded at;
    foa_format: 'ambix' (ACN/SN3D), 'fuma' or 'n3d' (converted on read); hrtf, sofa_path, head_radius_m and
    decoder as decoding.DecoderConfig; the trajectory fields as trajectory.TrajectoryConfig; min_lr_difference:
    windows below it are dropped; seed: trajectory seed."""

    fov_deg: float = 90.0
    equirect_height: int = 128
    equirect_width: int = 256
    foa_format: str = "ambix"
    hrtf: str = "spherical"
    sofa_path: str = ""
    head_radius_m: float = 0.0875
    decoder: str = "parametric"
    start_yaw_offset_deg: float = 30.0
    start_pitch_offset_deg: float = 10.0
    start_roll_offset_deg: float = 0.0
    max_yaw_rate_deg_s: float = 20.0
    max_pitch_rate_deg_s: float = 5.0
    max_roll_rate_deg_s: float = 2.0
    max_abs_pitch_deg: float = 30.0
    max_abs_roll_deg: float = 10.0
    segment_s: tuple[float, float] = (1.0, 3.0)
    min_lr_difference: float = 0.01
    seed: int = 0

    def spec(self) -> clips.ClipSpec:
        return self.clip_spec(channels=4)

    def trajectory(self) -> trajectory_lib.TrajectoryConfig:
        names = {f.name for f in dataclasses.fields(trajectory_lib.TrajectoryConfig)}
        return trajectory_lib.TrajectoryConfig(**{k: getattr(self, k) for k in names})

    def check(self) -> None:
        """Raises ValueError (one line naming the field) for an inconsistent config."""
        self.spec().check()
        self.trajectory()
        if self.foa_format not in ambisonics.FORMATS:
            raise ValueError(f"foa_format must be one of {ambisonics.FORMATS}, got {self.foa_format!r}")
        decoding.DecoderConfig.of(self)
        if not 0 < self.fov_deg < 180 or self.equirect_height < 2 or self.equirect_width < 2:
            raise ValueError(
                f"need 0 < fov_deg < 180 and an equirectangular size >= 2, got {self.fov_deg}, "
                f"{self.equirect_height}x{self.equirect_width}"
            )
        if not 0 <= self.min_lr_difference < 1:
            raise ValueError(f"min_lr_difference must be in [0, 1), got {self.min_lr_difference}")


BUILDER_CONFIGS = [
    BiAudioConfig(name="small", description="8 s windows, 64x64 perspective video at 25 fps, 16 kHz binaural."),
    BiAudioConfig(
        name="default",
        description="8 s windows, 224x224 perspective video at 25 fps (panorama decoded at 448x896), 16 kHz binaural.",
        height=224,
        width=224,
        equirect_height=448,
        equirect_width=896,
    ),
]


def make_examples(source: clips.SourceFile, config: BiAudioConfig) -> list[tuple[str, dict]]:
    """(clip_id, example) of every window of `source`, or `sources.dropped` for windows below
    min_lr_difference; raises clips.BadFile for a file that cannot be used."""
    spec = config.spec()
    equirect = functools.partial(
        media.fit_frame, height=config.equirect_height, width=config.equirect_width, mode="crop"
    )
    loaded = clips.load(source, spec, equirect)
    decoder = decoding.binaural_decoder(decoding.DecoderConfig.of(config))
    out = []
    for window in clips.windows(loaded, spec):
        key = clips.clip_id(source.key, window.start_s)
        clip = construct.construct_clip(
            window.video,
            ambisonics.to_acn_sn3d(window.audio, config.foa_format),
            spec.fps,
            spec.sample_rate,
            trajectory_lib.clip_rng(config.seed, key),
            config.trajectory(),
            decoder,
            config.height,
            config.width,
            config.fov_deg,
        )
        difference = construct.lr_difference(clip["audio"])
        if difference < config.min_lr_difference:
            out.append(
                sources.dropped(
                    key, f"left-right difference {difference:.4f} < min_lr_difference={config.min_lr_difference:g}"
                )
            )
            continue
        key, example = clips.to_example(source, dataclasses.replace(window, video=clip["video"]), clip["audio"], spec)
        example.update({k: clip[k] for k in ("camera_yaw_deg", "camera_pitch_deg", "camera_roll_deg", "phi_max_deg")})
        out.append((key, example))
    return out


class BiAudio(sources.WindowFilteringBuilder):
    """Perspective video + binaural audio along random camera trajectories through 360-degree video with FOA."""

    name = "biaudio"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "First release.",
        "1.1.0": "Audio stored as raw int16 bytes, not an int64 list: examples decode several times faster.",
    }
    BUILDER_CONFIGS = BUILDER_CONFIGS
    DEFAULT_CONFIG_NAME = "small"

    def _info(self) -> tfds.core.DatasetInfo:
        config: BiAudioConfig = self.builder_config
        per_frame = tfds.features.Tensor(shape=(config.spec().num_frames,), dtype=np.float32)
        return self.dataset_info(
            __doc__,
            field_of_view_deg=config.fov_deg,
            ground_truth=False,
            camera_yaw_deg=per_frame,
            camera_pitch_deg=per_frame,
            camera_roll_deg=per_frame,
            phi_max_deg=tfds.features.Tensor(shape=(2,), dtype=np.float32),
        )

    def example_fn(self):
        return functools.partial(make_examples, config=self.builder_config)

"""TFDS builder `pseudo_binaural`: SpatialV2A's BinauralVGGSound construction from a folder of ordinary videos
with mono or stereo audio (stereo is downmixed to mono); folder layout and labels: data/biaudio/sources.py.

Filters (SpatialV2A's): a file shorter than min_clip_s (10 s) is skipped whole (video_folder's 'too short'); a
window with more than max_silence_fraction (80 %) of silence, 50 ms blocks whose RMS is below silence_dbfs, is
dropped. Both go into the skip manifest. Per kept window: the sounding object's position per frame from the
localiser ('file': the clip's position file, required; 'saliency': the fallback; 'file_or_saliency': the file
where there is one; data/pseudo_binaural/localise.py), the mono sound placed at that direction through the
camera's field of view (fov_deg, taken as the stored frame's) in a first-order field with optional ambience and
decoded to binaural with the configured HRTF (placement.py). The positions and directions used are stored as the
clip's ground truth under data/binaural_synth's names (one source slot), so the benchmark's truth-based metrics
run on it.

Build: `python -m data.pseudo_binaural.build --input_dir=DIR --data_dir=DIR --config=small [--num_workers=N]`.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np
import soundfile
import tensorflow_datasets as tfds

from data.biaudio import decoding, sources
from data.biaudio import trajectory as trajectory_lib
from data.pseudo_binaural import localise, placement
from data.video_folder import clips, media
from data.video_folder.builder import ClipConfig

SILENCE_BLOCK_S = 0.05


@dataclasses.dataclass(eq=False)
class PseudoBinauralConfig(ClipConfig):
    """A pseudo-binaural variant. Window, rates, frame size and loudness as data/video_folder's ClipConfig
    (min_clip_s is the shortest file kept), resize_mode as its ClipSpec; max_silence_fraction / silence_dbfs: the
    silence filter; localiser: 'file', 'saliency' or 'file_or_saliency'; fov_deg, ambience_gain, ambience_rt60_s:
    placement.PlacementConfig; hrtf, sofa_path, head_radius_m and decoder as decoding.DecoderConfig; seed:
    ambience seed."""

    clip_s: float = 10.0
    hop_s: float = 10.0
    min_clip_s: float = 10.0
    resize_mode: str = "crop"
    max_silence_fraction: float = 0.8
    silence_dbfs: float = -45.0
    localiser: str = "file_or_saliency"
    fov_deg: float = 90.0
    ambience_gain: float = 0.0
    ambience_rt60_s: float = 0.4
    hrtf: str = "spherical"
    sofa_path: str = ""
    head_radius_m: float = 0.0875
    decoder: str = "parametric"
    seed: int = 0

    def spec(self, channels: int = 1) -> clips.ClipSpec:
        return self.clip_spec(resize_mode=self.resize_mode, channels=channels)

    def placement(self) -> placement.PlacementConfig:
        return placement.PlacementConfig(
            fov_deg=self.fov_deg, ambience_gain=self.ambience_gain, ambience_rt60_s=self.ambience_rt60_s
        )

    def check(self) -> None:
        """Raises ValueError (one line naming the field) for an inconsistent config."""
        self.spec().check()
        self.placement()
        if self.localiser not in localise.LOCALISERS:
            raise ValueError(f"localiser must be one of {localise.LOCALISERS}, got {self.localiser!r}")
        decoding.DecoderConfig.of(self)
        if not 0 <= self.max_silence_fraction <= 1:
            raise ValueError(f"max_silence_fraction must be in [0, 1], got {self.max_silence_fraction}")


BUILDER_CONFIGS = [
    PseudoBinauralConfig(name="small", description="10 s windows, 64x64 at 25 fps, 16 kHz pseudo-binaural."),
    PseudoBinauralConfig(
        name="default", description="10 s windows, 224x224 at 25 fps, 16 kHz pseudo-binaural.", height=224, width=224
    ),
]


def silence_fraction(mono: np.ndarray, sample_rate: int, silence_dbfs: float) -> float:
    """Share of the SILENCE_BLOCK_S blocks of mono [N] whose RMS is below silence_dbfs (a partial last block
    counts as a block)."""
    block = max(1, round(SILENCE_BLOCK_S * sample_rate))
    count = -(-mono.size // block)
    padded = np.zeros(count * block)
    padded[: mono.size] = mono
    power = np.mean(padded.reshape(count, block) ** 2, axis=1)
    return float(np.mean(power < 10 ** (silence_dbfs / 10))) if count else 1.0


def _source_channels(source: clips.SourceFile) -> int:
    """Channels of the audio the file will be read from (0 when unknown: clips.load then names the problem)."""
    try:
        if source.audio:
            return soundfile.info(source.audio).channels
        return media.probe(source.video).audio_channels
    except Exception:  # noqa: BLE001 -- unreadable files are reported by clips.load with their one-line reason
        return 0


def make_examples(source: clips.SourceFile, config: PseudoBinauralConfig) -> list[tuple[str, dict]]:
    """(clip_id, example) of every kept window of `source`, `sources.dropped` for silent windows; raises
    clips.BadFile for a file that cannot be used."""
    channels = _source_channels(source)
    if channels > 2:
        raise clips.BadFile(f"{channels}-channel audio, expected mono or stereo")
    spec = config.spec(channels if channels in (1, 2) else 1)
    loaded = clips.load(source, spec)
    rows = None
    position_file = localise.positions_path(source.video)
    if config.localiser != "saliency" and os.path.isfile(position_file):
        try:
            rows = localise.read_positions(position_file)
        except ValueError as e:
            raise clips.BadFile(str(e).replace(position_file, os.path.basename(position_file))) from None
    elif config.localiser == "file":
        raise clips.BadFile(f"no position file {os.path.basename(position_file)} (localiser='file')")
    if rows is not None:
        info = media.probe(source.video)
    decoder = decoding.binaural_decoder(decoding.DecoderConfig.of(config))
    out = []
    for window in clips.windows(loaded, spec):
        key = clips.clip_id(source.key, window.start_s)
        mono = window.audio.mean(axis=0)
        silent = silence_fraction(
            mono[: round(window.valid_s * spec.sample_rate)], spec.sample_rate, config.silence_dbfs
        )
        if silent > config.max_silence_fraction:
            out.append(
                sources.dropped(
                    key,
                    f"{100 * silent:.0f}% silence (below {config.silence_dbfs:g} dBFS) > "
                    f"max_silence_fraction={config.max_silence_fraction:g}",
                )
            )
            continue
        if rows is not None:
            x, y = localise.to_stored_pixels(
                *localise.positions_at_frames(rows, window.start_s, spec.num_frames, spec.fps),
                info.height,
                info.width,
                spec.height,
                spec.width,
                spec.resize_mode,
            )
        else:
            x, y = localise.saliency_positions(window.video)
        placed = placement.place_source(
            mono,
            x,
            y,
            spec.height,
            spec.width,
            spec.fps,
            spec.sample_rate,
            decoder,
            config.placement(),
            trajectory_lib.clip_rng(config.seed, key),
        )
        key, example = clips.to_example(source, window, placed.pop("audio"), spec)
        example.update(placed)
        out.append((key, example))
    return out


def truth_features(num_frames: int) -> dict:
    """data/binaural_synth's truth features for one source slot and one (unknown) onset slot."""
    per_frame = lambda dtype: tfds.features.Tensor(shape=(num_frames, 1), dtype=dtype)  # noqa: E731
    return {
        "class_id": tfds.features.Tensor(shape=(1,), dtype=np.int32),
        "source_present": tfds.features.Tensor(shape=(1,), dtype=np.bool_),
        "onscreen_source": tfds.features.Tensor(shape=(1,), dtype=np.bool_),
        **{
            k: per_frame(np.float32)
            for k in ("relative_azimuth_deg", "elevation_deg", "distance_m", "screen_x", "screen_y")
        },
        "visible": per_frame(np.bool_),
        "sounding": per_frame(np.bool_),
        "camera_yaw_deg": tfds.features.Tensor(shape=(num_frames,), dtype=np.float32),
        "onset_s": tfds.features.Tensor(shape=(1, 1), dtype=np.float32),
    }


class PseudoBinaural(sources.WindowFilteringBuilder):
    """Ordinary videos with their mono sound placed at the sounding object's on-screen direction, in binaural."""

    name = "pseudo_binaural"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "First release.",
        "1.1.0": "Audio stored as raw int16 bytes, not an int64 list: examples decode several times faster.",
    }
    BUILDER_CONFIGS = BUILDER_CONFIGS
    DEFAULT_CONFIG_NAME = "small"

    def _info(self) -> tfds.core.DatasetInfo:
        config: PseudoBinauralConfig = self.builder_config
        return self.dataset_info(
            __doc__, field_of_view_deg=config.fov_deg, ground_truth=True, **truth_features(config.spec().num_frames)
        )

    def example_fn(self):
        return functools.partial(make_examples, config=self.builder_config)

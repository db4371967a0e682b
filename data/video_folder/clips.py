"""One source file -> checked, fixed-length windows -> examples in the shared stored layout (see __init__.py).

  ClipSpec         how every stored window is cut and shaped (length, hop, rates, frame size, loudness, checks).
  SourceFile       one input: video path, optional side-car audio, caption, and its key (path relative to the
                   input root, without suffix), from which every window's `clip_id` is made.
  load(source, spec, transform) -> Loaded: the file decoded and checked; raises BadFile(one-line reason).
  windows(loaded, spec)         -> [Window]: video [T, H, W, 3] uint8 + audio [C, N] float32 at the spec's rates.
  to_example(...)               -> the contract's features for one window (loudness applied, int16 PCM).
  features(spec, **extra) / metadata(spec, ...): the matching TFDS feature spec and dataset metadata.

A window starting at k * hop_s is kept while at least `min_clip_s` of it lies inside the file; when that is less
than `clip_s` the rest is padded (audio with silence, video by holding the last frame) and `valid_s` says how
much is real. The loudness gain is computed per window on the stored (2-channel) audio and capped so the peak
stays within [-1, 1]; it is stored as `gain_db` (stored = source * 10^(gain_db / 20)).

A file is decoded whole (video at the stored size and fps, audio at the stored rate) before it is cut, so a
worker holds one file's frames at the stored size: long recordings are best split into files of minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable

import av
import numpy as np
import tensorflow_datasets as tfds

from data import features as clip_features
from data.video_folder import media
from v2a_jax.input_pipeline.sequence import SequenceConfig
from v2a_jax.video.io import VideoError

LOUDNESS_POLICIES = ("none", "peak", "rms")
AUDIO_SCALE = 1.0 / 32767.0


class BadFile(ValueError):
    """A source file that cannot become examples; the message is the one-line reason (without the path)."""


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    """How every stored window is cut and shaped, and which files are refused.

    Attributes:
      clip_s / hop_s: window length and the step between window starts, seconds.
      min_clip_s: shortest real content a window may hold (the rest padded); also the shortest usable file.
      fps / sample_rate: stored video frame rate and audio rate (clip_s and hop_s must hold whole frames and
        samples, and a frame whole samples: `v2a_jax.input_pipeline.sequence.SequenceConfig` checks it).
      height / width / resize_mode: stored frame size and how other aspect ratios get there ('crop' | 'letterbox').
      channels: audio channels a source must have (the builder's choice: 2 for binaural, 4 for FOA).
      loudness / loudness_db: 'none' | 'peak' | 'rms' and its target level in dBFS.
      max_av_mismatch_s: largest accepted difference between the video's and the audio's duration (and between a
        video's declared and decoded duration).
      silence_dbfs: a file whose audio never exceeds this peak level is refused as all-silent.
    """

    clip_s: float = 8.0
    hop_s: float = 8.0
    min_clip_s: float = 8.0
    fps: float = 25.0
    sample_rate: int = 16000
    height: int = 64
    width: int = 64
    resize_mode: str = "crop"
    channels: int = 2
    loudness: str = "none"
    loudness_db: float = -1.0
    max_av_mismatch_s: float = 0.25
    silence_dbfs: float = -90.0

    def check(self) -> None:
        """Raises ValueError (one line naming the field) for an inconsistent spec."""
        if self.resize_mode not in media.RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {media.RESIZE_MODES}, got {self.resize_mode!r}")
        if self.loudness not in LOUDNESS_POLICIES:
            raise ValueError(f"loudness must be one of {LOUDNESS_POLICIES}, got {self.loudness!r}")
        if not (self.height > 0 and self.width > 0 and self.channels > 0):
            raise ValueError(
                f"height, width and channels must be positive, got {self.height}, {self.width}, {self.channels}"
            )
        if not 0 < self.min_clip_s <= self.clip_s:
            raise ValueError(f"min_clip_s must be in (0, clip_s={self.clip_s}], got {self.min_clip_s}")
        for name in ("clip_s", "hop_s"):
            # Frames and samples only: the semantic and latent streams are the training crop's business.
            try:
                SequenceConfig(
                    duration_s=getattr(self, name),
                    sample_rate=self.sample_rate,
                    video_fps=self.fps,
                    semantic_fps=self.fps,
                    latent_fps=self.fps,
                )
            except ValueError as e:
                raise ValueError(
                    f"{name}={getattr(self, name)} with fps={self.fps:g}, sample_rate={self.sample_rate}: {e}"
                ) from None

    @property
    def num_frames(self) -> int:
        return round(self.clip_s * self.fps)

    @property
    def num_samples(self) -> int:
        return round(self.clip_s * self.sample_rate)

    def frame_transform(self) -> Callable[[av.VideoFrame], np.ndarray]:
        return functools.partial(media.fit_frame, height=self.height, width=self.width, mode=self.resize_mode)

    def clip_metadata(self) -> dict:
        """The contract's `clip` metadata entry."""
        return {
            "duration_s": self.clip_s,
            "sample_rate": self.sample_rate,
            "fps": self.fps,
            "height": self.height,
            "width": self.width,
            "resize_mode": self.resize_mode,
        }


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """video: path of the video file; key: its path relative to the input root without suffix (clip ids are
    '<key>@<start ms>'); audio: side-car audio path ('' = the container's own audio); caption: '' when none."""

    video: str
    key: str
    audio: str = ""
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A checked source: video frames [T, H, W, 3] at spec.fps, audio float32 [C, N] at spec.sample_rate, and
    the usable duration (the shorter of the two streams)."""

    source: SourceFile
    video: np.ndarray
    audio: np.ndarray
    duration_s: float


@dataclasses.dataclass(frozen=True)
class Window:
    """start_s: start in the source; video uint8 [T, H, W, 3]; audio float32 [C, N] (source channels, not yet
    loudness-scaled); valid_s: seconds of real content (the rest padded)."""

    start_s: float
    video: np.ndarray
    audio: np.ndarray
    valid_s: float


def channel_problem(channels: int, expected: int) -> str | None:
    """One-line reason when a stream has `channels` channels but `expected` are needed, else None."""
    if channels == expected:
        return None
    kind = {1: " (mono)", 2: " (stereo or binaural)"}.get(channels, "")
    if channels == 4:
        kind = " (looks like first-order ambisonics)"
    elif channels > 2 and expected == 2:
        kind = " (more than 2 channels: a surround or multi-microphone recording)"
    return f"{channels}-channel audio{kind}, expected {expected} channels"


def _strip(e: VideoError, path: str) -> str:
    text = str(e)
    return text[len(path) + 2 :] if text.startswith(f"{path}: ") else text


def load(source: SourceFile, spec: ClipSpec, transform: Callable[[av.VideoFrame], np.ndarray] | None = None) -> Loaded:
    """Decodes and checks `source`; `transform` maps a decoded frame to the stored picture (default: the spec's
    crop/letterbox fit). Raises BadFile with the reason: unreadable or truncated container, no video stream,
    zero-frame video, no audio and no side-car, wrong channel count, NaN/Inf or all-silent audio, video and audio
    durations disagreeing, or too short."""
    transform = transform or spec.frame_transform()
    try:
        info = media.probe(source.video)
    except VideoError as e:
        raise BadFile(_strip(e, source.video)) from None
    if not info.has_video:
        raise BadFile("no video stream")
    if info.duration_s and info.duration_s + spec.max_av_mismatch_s < spec.min_clip_s:  # spare the decoding
        raise BadFile(f"too short: {info.duration_s:.2f} s < min_clip_s={spec.min_clip_s:g}")
    if source.audio:
        try:
            audio = media.read_sidecar(source.audio)
        except VideoError as e:
            raise BadFile(f"side-car {os.path.basename(source.audio)}: {_strip(e, source.audio)}") from None
        where = f"side-car {os.path.basename(source.audio)}"
    else:
        if not info.audio_channels:
            raise BadFile("no audio stream and no side-car audio file")
        if problem := channel_problem(info.audio_channels, spec.channels):
            raise BadFile(problem)
        try:
            audio = media.decode_audio(source.video)
        except VideoError as e:
            raise BadFile(_strip(e, source.video)) from None
        where = "audio"
    if problem := channel_problem(audio.samples.shape[0], spec.channels):
        raise BadFile(f"{where}: {problem}")
    if not np.all(np.isfinite(audio.samples)):
        raise BadFile(f"{where} has NaN/Inf samples")
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak <= 10.0 ** (spec.silence_dbfs / 20.0):
        raise BadFile(f"{where} is all silent (peak {_dbfs(peak)} dBFS)")
    try:
        video = media.decode_video(source.video, spec.fps, transform)
    except VideoError as e:
        raise BadFile(_strip(e, source.video)) from None
    # Truncated: the streams decode to less than the container declares (the video stream's own duration, or,
    # where it has none (Matroska), the container's, which the longer of its streams should reach).
    declared, reached = info.video_duration_s, video.duration_s
    if not declared and not (source.audio and info.audio_channels):
        declared = info.duration_s
        reached = max(video.duration_s, audio.duration_s) if info.audio_channels else video.duration_s
    if declared and declared - reached > spec.max_av_mismatch_s:
        raise BadFile(f"truncated: decoded {reached:.2f} s of the declared {declared:.2f} s")
    if abs(video.duration_s - audio.duration_s) > spec.max_av_mismatch_s:
        raise BadFile(
            f"video ({video.duration_s:.2f} s) and {where} ({audio.duration_s:.2f} s) durations "
            f"disagree by more than max_av_mismatch_s={spec.max_av_mismatch_s:g}"
        )
    duration = min(video.duration_s, audio.duration_s)
    if duration < spec.min_clip_s:
        raise BadFile(f"too short: {duration:.2f} s < min_clip_s={spec.min_clip_s:g}")
    samples = media.resample(audio.samples, audio.rate, spec.sample_rate)
    return Loaded(source, video.frames, samples, duration)


def _dbfs(level: float) -> str:
    return f"{20 * math.log10(level):.1f}" if level > 0 else "-inf"


def window_starts(duration_s: float, spec: ClipSpec) -> list[int]:
    """Indices k of the windows (start k * hop_s) that hold at least min_clip_s of a duration_s-long file."""
    count = math.floor((duration_s - spec.min_clip_s) / spec.hop_s + 1e-6) + 1
    return list(range(max(count, 0)))


def windows(loaded: Loaded, spec: ClipSpec) -> list[Window]:
    """Every window of `loaded` (see the module docstring); frames and samples of each window start exactly at
    k * hop_s (the spec's alignment check guarantees whole counts)."""
    t, n = spec.num_frames, spec.num_samples
    hop_frames, hop_samples = round(spec.hop_s * spec.fps), round(spec.hop_s * spec.sample_rate)
    out = []
    for k in window_starts(loaded.duration_s, spec):
        start = k * spec.hop_s
        valid = min(spec.clip_s, loaded.duration_s - start)
        f0, s0 = k * hop_frames, k * hop_samples
        frames = loaded.video[f0 : f0 + t]
        if len(frames) < t:  # hold the last frame over the padded tail
            frames = np.concatenate([frames, np.repeat(loaded.video[-1:], t - len(frames), axis=0)])
        audio = np.zeros((loaded.audio.shape[0], n), np.float32)
        real = loaded.audio[:, s0 : s0 + min(n, round(valid * spec.sample_rate))]
        audio[:, : real.shape[1]] = real
        out.append(Window(float(start), frames, audio, float(valid)))
    return out


def loudness_gain_db(audio: np.ndarray, spec: ClipSpec) -> float:
    """The gain (dB) the spec's loudness policy applies to `audio` [C, N], capped so the peak stays <= 1;
    0 for silence."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return 0.0
    if spec.loudness == "peak":
        gain = spec.loudness_db - 20 * math.log10(peak)
    elif spec.loudness == "rms":
        gain = spec.loudness_db - 20 * math.log10(float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))))
    else:
        gain = 0.0
    return min(gain, -20 * math.log10(peak))


def clip_id(key: str, start_s: float) -> str:
    """'<key>@<start in ms>': the same in every worker and every run."""
    return f"{key}@{round(start_s * 1000)}"


def to_example(source: SourceFile, window: Window, audio: np.ndarray, spec: ClipSpec) -> tuple[str, dict]:
    """(clip_id, features) of one window in the contract layout; `audio` float32 [2, N] is the stored signal
    (the window's own audio for binaural sources, a rendering of it otherwise), loudness-scaled here."""
    if audio.shape != (2, spec.num_samples):
        raise ValueError(f"stored audio must be [2, {spec.num_samples}], got {list(audio.shape)}")
    gain_db = loudness_gain_db(audio, spec)
    scaled = np.clip(audio * np.float32(10.0 ** (gain_db / 20.0)), -1.0, 1.0)
    key = clip_id(source.key, window.start_s)
    return key, {
        "video": window.video,
        "audio": np.round(scaled * 32767.0).astype(np.int16),
        "caption": source.caption,
        "clip_id": key,
        "start_s": np.float32(window.start_s),
        "gain_db": np.float32(gain_db),
        "valid_s": np.float32(window.valid_s),
    }


def features(spec: ClipSpec, **extra) -> tfds.features.FeaturesDict:
    """The contract's feature spec for windows of `spec` (plus `valid_s`), with builder-specific `extra` ones."""
    return tfds.features.FeaturesDict(
        {
            "video": clip_features.video_frames(spec.num_frames, spec.height, spec.width),
            "audio": clip_features.binaural_audio(spec.num_samples),
            "caption": tfds.features.Text(),
            "clip_id": tfds.features.Text(),
            "start_s": np.float32,
            "gain_db": np.float32,
            "valid_s": np.float32,
            **extra,
        }
    )


def metadata(spec: ClipSpec, *, field_of_view_deg: float, ground_truth: bool, builder: dict) -> dict:
    """The contract's dataset metadata (JSON-able)."""
    return {
        "clip": spec.clip_metadata(),
        "audio_scale": AUDIO_SCALE,
        "field_of_view_deg": float(field_of_view_deg),
        "ground_truth": bool(ground_truth),
        "builder": builder,
    }

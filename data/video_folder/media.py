"""Reading recorded media for the dataset builders: probe a file, decode its video onto a fixed frame grid at the
stored size, decode its audio (from the container or a side-car file) and resample it with soxr.

  probe(path)                              -> MediaInfo: streams, declared durations, fps, audio channels/rate.
  fit_frame(frame, height, width, mode)    -> uint8 [height, width, 3]: 'crop' (centre crop) or 'letterbox'.
  decode_video(path, fps, transform)       -> DecodedVideo: frames [T, H, W, 3] on the grid i / fps.
  decode_audio(path) / read_sidecar(path)  -> Audio: float32 [C, N] at the file's rate, t = 0 at the video's start.
  resample(audio, from_rate, to_rate)      -> float32 [C, M] (soxr, high quality).

Frame-rate conversion follows `v2a_jax.video.io.conform`: output frame i is the source frame on screen at
i / fps (the last one displayed at or before it), so 10, 29.97 or variable-rate sources all land on the same
grid. Unlike `v2a_jax.video.io.read_video` (square frames, whole file held at source size), frames are fitted
to the stored (H, W) as they are decoded, and only frames that land on the grid are converted, so a 1080p
recording never sits in memory at full size. Every failure is a `v2a_jax.video.io.VideoError` whose message
names the file and the problem in one line.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable

import av
import numpy as np
import soundfile
import soxr

from v2a_jax.video.io import VideoError, _reason

RESIZE_MODES = ("crop", "letterbox")


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What a container declares, read without decoding (declared values can be wrong in a damaged file).

    duration_s: the container's duration (0 when undeclared); video_*: the first video stream (has_video False
    when there is none; video_frames 0 when undeclared); audio_*: the first audio stream (audio_channels 0 when
    there is none).
    """

    path: str
    duration_s: float
    has_video: bool
    video_codec: str = ""
    video_fps: float = 0.0
    video_frames: int = 0
    video_duration_s: float = 0.0
    width: int = 0
    height: int = 0
    audio_codec: str = ""
    audio_channels: int = 0
    audio_rate: int = 0


@dataclasses.dataclass(frozen=True)
class DecodedVideo:
    """frames uint8 [T, H, W, 3] with frame i the picture on screen at i / fps; duration_s: from the first frame
    to the end of the last decoded one; source_frames: frames decoded from the file."""

    frames: np.ndarray
    fps: float
    duration_s: float
    source_frames: int


@dataclasses.dataclass(frozen=True)
class Audio:
    """samples float32 [C, N] at `rate` Hz; sample 0 is the video's first frame (container audio is shifted by
    the streams' start-time difference; a side-car file is taken to start with the video)."""

    samples: np.ndarray
    rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.rate


def _open(path: str) -> av.container.InputContainer:
    if not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    try:
        return av.open(path)
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as e:
        raise VideoError(f"{path}: unreadable or truncated container ({_reason(e)})") from e


def probe(path: str | os.PathLike) -> MediaInfo:
    """Streams and declared durations of `path`. Raises VideoError if it is missing or not a readable container."""
    path = os.fspath(path)
    with _open(path) as container:
        duration = container.duration / av.time_base if container.duration else 0.0
        fields: dict = {}
        if container.streams.video:
            v = container.streams.video[0]
            rate = v.average_rate or v.guessed_rate
            fields.update(
                video_codec=v.codec_context.name,
                video_fps=float(rate) if rate else 0.0,
                video_frames=int(v.frames or 0),
                width=v.width,
                height=v.height,
                video_duration_s=float(v.duration * v.time_base) if v.duration and v.time_base else 0.0,
            )
        if container.streams.audio:
            a = container.streams.audio[0]
            fields.update(
                audio_codec=a.codec_context.name,
                audio_channels=a.codec_context.layout.nb_channels,
                audio_rate=int(a.rate or 0),
            )
        return MediaInfo(path=path, duration_s=duration, has_video=bool(container.streams.video), **fields)


def fit_frame(frame: av.VideoFrame, height: int, width: int, mode: str) -> np.ndarray:
    """A decoded frame as RGB uint8 [height, width, 3].

    'crop': scaled (area interpolation) until it covers height x width, then the centre is cut out (nothing is
    distorted; the sides of a wider picture are lost). 'letterbox': scaled until it fits inside, centred on
    black (the whole picture is kept, so a source at the left edge stays at the left edge).
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, got {mode!r}")
    src_w, src_h = frame.width, frame.height
    scale = (max if mode == "crop" else min)(height / src_h, width / src_w)
    if mode == "crop":  # cover: at least the target size on both axes
        new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    else:  # fit: at most the target size on both axes
        new_w, new_h = min(width, max(1, round(src_w * scale))), min(height, max(1, round(src_h * scale)))
    pixels = frame.reformat(width=new_w, height=new_h, format="rgb24", interpolation="AREA").to_ndarray()
    if mode == "crop":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return np.ascontiguousarray(pixels[top : top + height, left : left + width])
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = pixels
    return out


def decode_video(path: str | os.PathLike, fps: float, transform: Callable[[av.VideoFrame], np.ndarray]) -> DecodedVideo:
    """The first video stream of `path` on the grid i / fps, i = 0 .. ceil(duration * fps) - 1, each grid frame
    `transform(source frame)` (e.g. `functools.partial(fit_frame, height=..., width=..., mode=...)`); a source
    frame shown at several grid instants is transformed once. Raises VideoError for an unreadable container,
    no video stream, a decoding error, or no frames."""
    path = os.fspath(path)
    grid: list[np.ndarray] = []
    with _open(path) as container:
        if not container.streams.video:
            raise VideoError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        nominal = float(rate) if rate else 0.0
        first, last_time, last_duration, count = None, 0.0, 0.0, 0
        shown, shown_pixels = None, None  # the source frame on screen now; its transform once computed

        def fill_until(t: float) -> None:  # every grid instant before t shows the current frame
            nonlocal shown_pixels
            while shown is not None and len(grid) / fps + 1e-9 < t:
                if shown_pixels is None:
                    shown_pixels = transform(shown)
                grid.append(shown_pixels)

        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    first = frame.time if first is None else first
                    t = frame.time - first
                elif nominal > 0:  # no timestamps: frames at the nominal rate
                    t = count / nominal
                else:
                    raise VideoError(f"{path}: frames have neither timestamps nor a frame rate")
                t = max(t, last_time)  # broken timestamps must not run backwards
                fill_until(t)
                shown, shown_pixels, last_time, count = frame, None, t, count + 1
                last_duration = (
                    float(frame.duration * frame.time_base)
                    if frame.duration and frame.time_base
                    else (1.0 / nominal if nominal > 0 else 0.0)
                )
        except av.error.FFmpegError as e:
            raise VideoError(
                f"{path}: cannot decode the video stream after {count} frames ({_reason(e)}); truncated or corrupt"
            ) from e
        if count == 0:
            raise VideoError(f"{path}: zero-frame video (the video stream decodes to no frames)")
        duration = last_time + (last_duration or 1.0 / fps)
        fill_until(math.ceil(duration * fps - 1e-6) / fps)
    return DecodedVideo(np.stack(grid), float(fps), float(duration), count)


def decode_audio(path: str | os.PathLike) -> Audio:
    """The first audio stream of `path` as float32 [C, N] at its own rate, shifted so that sample 0 is the first
    video frame (silence is prepended if the audio starts later, samples dropped if it starts earlier). Raises
    VideoError for an unreadable container, no audio stream, or a decoding error."""
    path = os.fspath(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise VideoError(f"{path}: has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate)
        video_start = _start_s(container.streams.video[0]) if container.streams.video else 0.0
        # Planar float at the stream's own rate and layout: decoders give s16, s32, flt, packed or planar.
        converter = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        chunks, first_time = [], None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.time is not None:
                    first_time = frame.time
                chunks.extend(f.to_ndarray() for f in converter.resample(frame))
            chunks.extend(f.to_ndarray() for f in converter.resample(None))
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: cannot decode the audio stream ({_reason(e)}); truncated or corrupt") from e
    channels = stream.codec_context.layout.nb_channels
    samples = np.concatenate(chunks, axis=1).astype(np.float32) if chunks else np.zeros((channels, 0), np.float32)
    offset = int(round(((first_time or 0.0) - video_start) * rate))
    if offset > 0:
        samples = np.concatenate([np.zeros((samples.shape[0], offset), np.float32), samples], axis=1)
    elif offset < 0:
        samples = samples[:, -offset:]
    return Audio(samples, rate)


def _start_s(stream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0


def read_sidecar(path: str | os.PathLike) -> Audio:
    """A side-car audio file (anything libsndfile reads: wav, flac, ...) as float32 [C, N] at its own rate.
    Raises VideoError naming the file if it is missing or unreadable."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise VideoError(f"{path}: unreadable audio file ({_reason(e)})") from e
    return Audio(np.ascontiguousarray(data.T), int(rate))


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """float32 [C, N] at from_rate -> float32 [C, round(N * to_rate / from_rate)] at to_rate (soxr 'HQ')."""
    if from_rate == to_rate:
        return audio.astype(np.float32, copy=False)
    out = soxr.resample(np.ascontiguousarray(audio.T), from_rate, to_rate, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)

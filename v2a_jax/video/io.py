"""Reading videos into model-ready frames and writing the generated audio back (PyAV, soundfile).

  read_video(path, size)           -> Video: RGB uint8 frames [T, size, size, 3] with their display times.
  conform(frames, times, duration, fps) -> frames [round(duration * fps), ...] at the model's frame rate.
  resize_frames(frames, size)      -> frames [T, size, size, 3] (the array path of read_video's resizing).
  write_video_with_audio(src, dst, audio, sample_rate): dst = src's video stream + the audio as AAC.
  write_wav(path, audio, sample_rate, subtype): 16-bit or float WAV.
  write_frames(path, frames, fps): a silent H.264 video of RGB frames (e.g. benchmark clips to sample from).

Frames are resized to the square frame the model was trained on with area interpolation over the WHOLE picture
(no crop): a source at the left edge of a wide video stays at the left edge of the model's frame, which is what
the direction of the generated sound follows. Frame-rate conversion picks, for each output instant i / fps, the
frame on screen at that instant (the last one displayed at or before it), so variable-rate videos are handled.
Every failure is a `VideoError` whose message names the file and the problem in one line.
"""

from __future__ import annotations

import dataclasses
import fractions
import os

import av
import numpy as np
import soundfile

AAC_FRAME = 1024  # samples per AAC frame


class VideoError(ValueError):
    """A video that cannot be read or written; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Video:
    """frames uint8 [T, H, W, 3] (RGB); times float64 [T]: display time of each frame in seconds from the first;
    duration_s: time from the first frame to the end of the last."""

    frames: np.ndarray
    times: np.ndarray
    duration_s: float


def _resize(frame: av.VideoFrame, size: int | None) -> np.ndarray:
    if size is None:
        return frame.to_ndarray(format="rgb24")
    return frame.reformat(width=size, height=size, format="rgb24", interpolation="AREA").to_ndarray()


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 [T, H, W, 3] -> uint8 [T, size, size, 3], the whole picture area-resampled (as read_video does)."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise VideoError(f"frames: expected uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack(
        [_resize(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24"), size) for f in frames]
    )


def read_video(path: str | os.PathLike, size: int | None = None) -> Video:
    """The first video stream of `path` (any container/codec FFmpeg reads), frames resized to size x size (or
    kept at their size when None). Raises VideoError for a missing file, a file that is not a readable video,
    a container without a video stream or without frames, and a stream that fails to decode."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    if os.path.isdir(path):
        raise VideoError(f"{path}: is a directory, not a video file")
    try:
        container = av.open(path)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: not a readable video container ({_reason(e)})") from e
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames, times, durations = [], [], []
        try:
            for frame in container.decode(stream):
                frames.append(_resize(frame, size))
                times.append(float(frame.time) if frame.time is not None else np.nan)
                durations.append(
                    float(frame.duration * frame.time_base) if frame.duration and frame.time_base else np.nan
                )
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: cannot decode the video stream after {len(frames)} frames ({_reason(e)})") from e
        rate = float(stream.average_rate) if stream.average_rate else np.nan
    if not frames:
        raise VideoError(f"{path}: has no video frames")
    times = np.asarray(times, np.float64)
    if np.any(np.isnan(times)):  # no timestamps: frames at the nominal rate
        if not rate > 0:
            raise VideoError(f"{path}: frames have neither timestamps nor a frame rate")
        times = np.arange(len(frames)) / rate
    times = np.maximum.accumulate(times - times[0])  # broken timestamps must not run backwards
    if durations[-1] > 0:
        last = durations[-1]
    elif rate > 0:
        last = 1.0 / rate
    elif len(times) > 1:
        last = float(np.median(np.diff(times)))
    else:
        last = 1.0 / 25.0  # a single frame without duration or rate: show it for one nominal frame
    return Video(np.stack(frames), times, float(times[-1] + last))


def conform(frames: np.ndarray, times: np.ndarray, duration_s: float, fps: float) -> np.ndarray:
    """frames [T, ...] shown at `times` [T] (seconds, increasing from 0) -> [max(1, round(duration_s * fps)), ...]:
    frame i is the one on screen at i / fps."""
    count = max(1, int(round(duration_s * fps)))
    index = np.searchsorted(times, np.arange(count) / fps + 1e-9, side="right") - 1
    return frames[np.clip(index, 0, len(frames) - 1)]


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split())


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """audio float [C, N] in [-1, 1] (clipped) -> WAV at `path` ("PCM_16" or "FLOAT" samples)."""
    try:
        soundfile.write(os.fspath(path), np.clip(audio, -1.0, 1.0).T, sample_rate, subtype=subtype)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as e:
        raise VideoError(f"{os.fspath(path)}: cannot write ({_reason(e)})") from e


def write_frames(path: str | os.PathLike, frames: np.ndarray, fps: float) -> None:
    """Encodes uint8 RGB frames [T, H, W, 3] (H, W even) at `fps` as a silent H.264 (yuv420p) video; the
    container follows the extension. Raises VideoError naming the file."""
    try:
        with av.open(os.fspath(path), "w") as out:
            stream = out.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1001))
            stream.height, stream.width = frames.shape[1:3]
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
            out.mux(stream.encode(None))
    except (av.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{path}: cannot write the video ({_reason(e)})") from e


def write_video_with_audio(src: str | os.PathLike, dst: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> None:
    """Writes `dst` (container from its extension, e.g. .mp4) with the first video stream of `src` copied packet
    by packet (not re-encoded) and `audio` float [2, N] (clipped to [-1, 1]) as AAC stereo at `sample_rate`,
    starting with the video. Other streams of `src` (its own audio, subtitles) are dropped. A video codec the
    container cannot hold is re-encoded with H.264. Written to a temporary name and renamed when complete."""
    src, dst = os.fspath(src), os.fspath(dst)
    root, ext = os.path.splitext(dst)
    tmp = f"{root}.partial{ext}"
    try:
        try:
            _mux(src, tmp, audio, sample_rate, copy_video=True)
        except (av.error.FFmpegError, ValueError):  # PyAV: ValueError when the container refuses the codec
            _mux(src, tmp, audio, sample_rate, copy_video=False)
        os.replace(tmp, dst)
    except (av.error.FFmpegError, OSError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise VideoError(f"{dst}: cannot write ({_reason(e)})") from e


def _mux(src: str, dst: str, audio: np.ndarray, sample_rate: int, copy_video: bool) -> None:
    with av.open(src) as inp, av.open(dst, mode="w") as out:
        in_video = inp.streams.video[0]
        if copy_video:
            out_video = out.add_stream_from_template(in_video)
        else:
            out_video = out.add_stream("libx264", rate=in_video.average_rate or 25)
            out_video.width, out_video.height, out_video.pix_fmt = in_video.width, in_video.height, "yuv420p"
        out_audio = out.add_stream("aac", rate=sample_rate, layout="stereo")
        start = in_video.start_time * in_video.time_base if in_video.start_time is not None else 0
        _encode_audio(out, out_audio, audio, sample_rate, first_sample=int(round(float(start) * sample_rate)))
        if copy_video:
            for packet in inp.demux(in_video):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = out_video
                out.mux(packet)
        else:
            for frame in inp.decode(in_video):
                frame.pts = None
                out.mux(out_video.encode(frame.reformat(format="yuv420p")))
            out.mux(out_video.encode(None))


def _encode_audio(out, stream, audio: np.ndarray, sample_rate: int, first_sample: int) -> None:
    planar = np.ascontiguousarray(np.clip(audio, -1.0, 1.0).astype(np.float32))
    if planar.ndim != 2 or planar.shape[0] != 2:
        raise ValueError(f"audio: expected [2, N], got {list(planar.shape)}")
    for offset in range(0, planar.shape[1], AAC_FRAME):
        frame = av.AudioFrame.from_ndarray(planar[:, offset : offset + AAC_FRAME], format="fltp", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = first_sample + offset
        frame.time_base = fractions.Fraction(1, sample_rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))

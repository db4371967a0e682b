"""Small test videos written with PyAV: a bright square moving left to right over black."""

import av
import numpy as np

SQUARE = 16


def moving_square_frames(num_frames: int, size: int) -> np.ndarray:
    """uint8 [num_frames, size, size, 3]: a SQUARE-pixel orange square crossing from the left edge to the right."""
    frames = np.zeros((num_frames, size, size, 3), np.uint8)
    for i in range(num_frames):
        x = int(i * (size - SQUARE) / max(num_frames - 1, 1))
        frames[i, size // 2 - SQUARE // 2 : size // 2 + SQUARE // 2, x : x + SQUARE] = (255, 160, 40)
    return frames


def write_video(path, frames: np.ndarray, fps: int, codec: str = "libx264", audio_rate: int | None = None) -> None:
    """Encodes frames [T, H, W, 3] at `fps` into `path` (container from the extension) as yuv420p `codec`; with
    `audio_rate`, also a silent stereo AAC track (so that tests see the input's own audio replaced)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if audio_rate:
            audio = out.add_stream("aac", rate=audio_rate, layout="stereo")
            silence = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            silence.sample_rate = audio_rate
            out.mux(audio.encode(silence))
            out.mux(audio.encode(None))
        out.start_encoding()  # writes the header even when there are no frames
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def decoded_frames(path) -> np.ndarray:
    """uint8 [T, H, W, 3] of the first video stream, as decoded."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def audio_track(path) -> tuple[np.ndarray, int, int]:
    """(decoded samples float [C, N], sample rate, number of audio streams) of `path`."""
    with av.open(str(path)) as container:
        streams = len(container.streams.audio)
        rate = container.streams.audio[0].rate
        samples = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    return samples, rate, streams

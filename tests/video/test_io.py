"""Video I/O: reading any container into model-size frames, frame-rate conversion by display time, one-line errors
for bad files, and writing the original video stream (copied) with new AAC stereo audio."""

import av
import numpy as np
import pytest
import soundfile

from tests.video import helpers
from v2a_jax.video import io


@pytest.fixture(scope="module")
def clip30(tmp_path_factory):
    """A 2 s, 30 fps, 96x64 (wide) mp4 and the frames it was made from."""
    frames = helpers.moving_square_frames(60, 64)
    frames = np.concatenate([frames, frames[:, :, :32]], axis=2)  # 64 x 96
    path = tmp_path_factory.mktemp("io") / "clip30.mp4"
    helpers.write_video(path, frames, 30)
    return path, frames


def test_read_video_resizes_the_whole_picture(clip30):
    path, frames = clip30
    video = io.read_video(path, 32)
    assert video.frames.shape == (60, 32, 32, 3) and video.frames.dtype == np.uint8
    np.testing.assert_allclose(video.times, np.arange(60) / 30, atol=1e-6)
    assert video.duration_s == pytest.approx(2.0)
    # The square's horizontal centre keeps its share of the width (no crop): compare with the source frames.
    for i in (0, 30, 59):
        source_x = np.nonzero(frames[i, 32, :, 0] > 128)[0].mean() / frames.shape[2]
        read_x = np.nonzero(video.frames[i, 16, :, 0] > 128)[0].mean() / 32
        assert read_x == pytest.approx(source_x, abs=0.05)


def test_conform_picks_the_frame_on_screen(clip30):
    path, _ = clip30
    video = io.read_video(path)
    out = io.conform(video.frames, video.times, video.duration_s, 25.0)
    assert out.shape[0] == 50
    expected = np.floor(np.arange(50) * 30 / 25 + 1e-9).astype(int)  # frame shown at i / 25 s
    np.testing.assert_array_equal(out, video.frames[expected])


def test_conform_handles_variable_frame_times():
    frames = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    times = np.array([0.0, 0.1, 0.5, 0.55])  # a long gap after frame 1
    out = io.conform(frames, times, 0.6, 10.0)
    assert out[:, 0, 0, 0].tolist() == [0, 1, 1, 1, 1, 2]


def test_resize_frames_matches_reading_at_that_size(clip30):
    path, _ = clip30
    full, small = io.read_video(path).frames, io.read_video(path, 32).frames
    resized = io.resize_frames(full, 32)
    assert resized.shape == small.shape
    assert np.abs(resized.astype(int) - small.astype(int)).mean() < 3  # same resampler, colour conversion order


@pytest.mark.parametrize(
    "kind,message",
    [
        ("missing", "no such file"),
        ("text", "not a readable video"),
        ("empty", "not a readable video"),
        ("truncated", "not a readable video"),
        ("audio_only", "no video stream"),
        ("folder", "is a directory"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(kind, message, clip30, tmp_path):
    path = tmp_path / f"{kind}.mp4"
    if kind == "text":
        path.write_text("not a video\n" * 50)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(clip30[0].read_bytes()[:3000])
    elif kind == "audio_only":
        io.write_wav(tmp_path / "a.wav", np.zeros((2, 1600), np.float32), 16000)
        path = tmp_path / "a.wav"
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(io.VideoError) as info:
        io.read_video(path, 32)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_write_copies_the_video_and_replaces_the_audio(tmp_path):
    frames = helpers.moving_square_frames(50, 64)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    helpers.write_video(src, frames, 25, audio_rate=44100)
    t = np.arange(32000) / 16000
    audio = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)]).astype(np.float32)
    io.write_video_with_audio(src, dst, audio, 16000)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        packets = [bytes(p) for p in a.demux(video=0) if p.size]
        assert [bytes(p) for p in b.demux(video=0) if p.size] == packets  # copied, not re-encoded
    np.testing.assert_array_equal(helpers.decoded_frames(dst), helpers.decoded_frames(src))
    samples, rate, streams = helpers.audio_track(dst)
    assert streams == 1 and rate == 16000 and samples.shape[0] == 2
    assert abs(samples.shape[1] - 32000) <= io.AAC_FRAME
    # Each ear keeps its own tone, in time with the video (the encoder's priming is trimmed on decoding).
    mid = slice(8000, 24000)
    for ear, source in enumerate(audio):
        assert np.corrcoef(samples[ear, mid], source[mid])[0, 1] > 0.95
    assert not (tmp_path / "out.partial.mp4").exists()


def test_a_codec_the_container_refuses_is_reencoded(tmp_path):
    frames = helpers.moving_square_frames(20, 64)
    src, dst = tmp_path / "raw.avi", tmp_path / "out.mp4"
    helpers.write_video(src, frames, 25, codec="rawvideo")  # mp4 cannot hold raw video
    io.write_video_with_audio(src, dst, np.zeros((2, 12800), np.float32), 16000)
    original, written = helpers.decoded_frames(src), helpers.decoded_frames(dst)
    assert written.shape == original.shape
    assert np.abs(written.astype(int) - original.astype(int)).mean() < 2  # H.264 at its default quality
    assert helpers.audio_track(dst)[1] == 16000


def test_write_to_a_missing_folder_is_one_line(tmp_path):
    src = tmp_path / "in.mp4"
    helpers.write_video(src, helpers.moving_square_frames(5, 32), 25)
    with pytest.raises(io.VideoError, match="cannot write"):
        io.write_video_with_audio(src, tmp_path / "nope" / "out.mp4", np.zeros((2, 3200), np.float32), 16000)


@pytest.mark.parametrize("subtype,atol", [("PCM_16", 1 / 32767), ("FLOAT", 0.0)])
def test_write_wav_round_trips(subtype, atol, tmp_path):
    audio = np.random.default_rng(0).uniform(-1, 1, (2, 1000)).astype(np.float32)
    io.write_wav(tmp_path / "a.wav", audio, 16000, subtype)
    data, rate = soundfile.read(tmp_path / "a.wav", dtype="float32")
    assert rate == 16000 and data.shape == (1000, 2)
    np.testing.assert_allclose(data.T, audio, atol=atol)


def test_write_frames_round_trips_through_read_video(tmp_path):
    frames = helpers.moving_square_frames(20, 64)
    io.write_frames(tmp_path / "clip.mp4", frames, 25.0)
    video = io.read_video(tmp_path / "clip.mp4")
    assert video.frames.shape == frames.shape
    np.testing.assert_allclose(video.times, np.arange(20) / 25.0, atol=1e-6)
    # H.264 is lossy: the square is where it was, within a few grey levels on average.
    assert np.abs(video.frames.astype(float) - frames).mean() < 4.0
    with pytest.raises(io.VideoError, match="cannot write the video"):
        io.write_frames(tmp_path / "missing" / "clip.mp4", frames, 25.0)

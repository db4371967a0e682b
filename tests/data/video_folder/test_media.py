import functools
import os

import av
import numpy as np
import pytest

from data.video_folder import media
from tests.data import media_fixtures as mf
from v2a_jax.video.io import VideoError


def _frame(height: int, width: int) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(mf.pattern(1, height, width)[0], format="rgb24")


def test_letterbox_keeps_the_whole_picture_on_black():
    out = media.fit_frame(_frame(36, 48), 36, 64, "letterbox")  # 4:3 into 16:9: bars left and right
    assert out.shape == (36, 64, 3)
    assert out[:, :8].max() == 0 and out[:, -8:].max() == 0
    band = out[:, 8 : 8 + 12]  # the red left quarter of the 48-pixel picture, now at columns 8..20
    assert band[..., 0].mean() > 200 and band[..., 1].mean() < 40


def test_crop_fills_the_frame_and_cuts_the_sides():
    out = media.fit_frame(_frame(36, 64), 36, 36, "crop")  # 16:9 into a square: 14 px cut on each side
    assert out.shape == (36, 36, 3) and out.min() > 0
    red = (out[..., 0] > 150) & (out[..., 1] < 80)
    assert 0 < red[:, :4].mean() and not red[:, 4:].any()  # 16 red source columns minus the 14 cut ones


def test_frame_rate_conversion_shows_the_frame_on_screen(tmp_path):
    path = mf.write_video(str(tmp_path / "v.mp4"), duration_s=1.0, fps=10.0, width=48, height=36)
    video = media.decode_video(path, 25.0, functools.partial(media.fit_frame, height=36, width=48, mode="crop"))
    assert video.frames.shape == (25, 36, 48, 3) and video.source_frames == 10
    grey = video.frames[:, :, 24:, 1].mean(axis=(1, 2))
    expected = [mf.level(int(np.floor(j * 10 / 25 + 1e-9))) for j in range(25)]
    np.testing.assert_allclose(grey, expected, atol=4)


def test_container_audio_is_aligned_with_the_video(tmp_path):
    # Noise, not a tone: its correlation has one peak, at the true lag.
    audio = (0.3 * np.random.default_rng(0).standard_normal((2, 57600))).clip(-1, 1).astype(np.float32)
    path = mf.write_video(str(tmp_path / "a.mp4"), duration_s=1.2, audio=audio, audio_rate=48000)
    decoded = media.decode_audio(path)
    assert decoded.rate == 48000 and decoded.samples.shape[0] == 2
    n = 48000
    # AAC is lossy but keeps the waveform in place: the best lag against the source is 0.
    ref, got = audio[0, 4800 : 4800 + n // 2], decoded.samples[0]
    lags = range(-200, 201)
    scores = [float(np.dot(ref, got[4800 + lag : 4800 + lag + n // 2])) for lag in lags]
    assert list(lags)[int(np.argmax(scores))] == 0


def test_resample_matches_the_analytic_signal():
    source = mf.tones(1.0, 44100)
    out = media.resample(source, 44100, 16000)
    expected = mf.tones(1.0, 16000)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out[:, 200:-200], expected[:, 200:-200], atol=2e-3)


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        media.probe(str(tmp_path / "nope.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(os.urandom(2048))
    with pytest.raises(VideoError, match=f"{bad}: unreadable"):
        media.probe(str(bad))
    with pytest.raises(VideoError, match="unreadable audio file"):
        media.read_sidecar(str(bad))

import os

import numpy as np
import pytest

from data.video_folder import clips
from tests.data import media_fixtures as mf

SPEC = clips.ClipSpec(clip_s=1.0, hop_s=0.4, min_clip_s=1.0, height=36, width=48)


def _source(path: str) -> clips.SourceFile:
    sidecar = os.path.splitext(path)[0] + ".wav"
    return clips.SourceFile(video=path, key="k", audio=sidecar if os.path.exists(sidecar) else "")


@pytest.mark.parametrize("kind", sorted(mf.BAD_KINDS))
def test_every_bad_kind_is_refused_with_its_reason(recorded_folder, kind):
    _, _, bad = recorded_folder
    with pytest.raises(clips.BadFile, match=mf.BAD_KINDS[kind]) as info:
        clips.load(_source(bad[kind]), SPEC)
    assert "\n" not in str(info.value) and bad[kind] not in str(info.value)


def test_a_short_video_track_in_matroska_is_a_mismatch_not_a_truncation(tmp_path):
    # Matroska declares no per-stream duration: the container's is that of its longer (audio) stream.
    path = mf.write_video(
        str(tmp_path / "v.webm"), duration_s=1.0, codec="libvpx-vp9", audio=mf.tones(2.0, 48000), audio_codec="libopus"
    )
    with pytest.raises(clips.BadFile, match="durations disagree"):
        clips.load(_source(path), SPEC)


def test_channel_count_is_the_builders_choice():
    assert clips.channel_problem(4, 4) is None
    assert "expected 4" in clips.channel_problem(2, 4)
    assert "ambisonics" in clips.channel_problem(4, 2)


def test_spec_refuses_windows_that_split_a_frame():
    with pytest.raises(ValueError, match="clip_s=1.01"):
        clips.ClipSpec(clip_s=1.01, hop_s=1.0, min_clip_s=1.0).check()
    with pytest.raises(ValueError, match="hop_s=0.3"):
        clips.ClipSpec(clip_s=1.0, hop_s=0.3, min_clip_s=1.0).check()  # 7.5 frames at 25 fps
    with pytest.raises(ValueError, match="resize_mode"):
        clips.ClipSpec(resize_mode="stretch").check()


def _loaded(duration_s: float, spec: clips.ClipSpec) -> clips.Loaded:
    frames = np.arange(round(duration_s * spec.fps), dtype=np.uint8)[:, None, None, None] * np.ones(
        (1, 2, 2, 3), np.uint8
    )
    audio = np.ones((2, round(duration_s * spec.sample_rate)), np.float32) * 0.1
    return clips.Loaded(clips.SourceFile("v.mp4", "v"), frames, audio, duration_s)


def test_windows_start_on_the_hop_and_pad_the_tail():
    spec = clips.ClipSpec(clip_s=1.0, hop_s=0.4, min_clip_s=0.5, height=2, width=2)
    spec.check()
    windows = clips.windows(_loaded(2.2, spec), spec)
    assert [w.start_s for w in windows] == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6])  # 1.6 + 0.5 <= 2.2 < 2.0 + 0.5
    last = windows[-1]
    assert last.valid_s == pytest.approx(0.6)
    assert last.video.shape == (25, 2, 2, 3) and last.video[0, 0, 0, 0] == round(1.6 * 25)
    assert np.all(last.video[15:] == last.video[14])  # the last real frame (0.6 s = 15 frames) is held
    real = round(0.6 * spec.sample_rate)
    assert np.all(last.audio[:, :real] == np.float32(0.1)) and np.all(last.audio[:, real:] == 0)


@pytest.mark.parametrize("policy,target", [("peak", -6.0), ("rms", -30.0)])
def test_loudness_gain_reaches_the_target_and_is_stored(policy, target):
    spec = clips.ClipSpec(clip_s=1.0, hop_s=1.0, min_clip_s=1.0, loudness=policy, loudness_db=target)
    audio = mf.tones(1.0, 16000)
    window = clips.Window(0.0, np.zeros((25, 64, 64, 3), np.uint8), audio, 1.0)
    _, example = clips.to_example(clips.SourceFile("v.mp4", "dir/v"), window, audio, spec)
    stored = example["audio"] * clips.AUDIO_SCALE
    level = np.max(np.abs(stored)) if policy == "peak" else np.sqrt(np.mean(stored.astype(np.float64) ** 2))
    assert 20 * np.log10(level) == pytest.approx(target, abs=0.05)
    np.testing.assert_allclose(stored, audio * 10 ** (example["gain_db"] / 20), atol=1.5 / 32767)
    assert example["clip_id"] == "dir/v@0"


def test_loudness_never_clips():
    spec = clips.ClipSpec(loudness="rms", loudness_db=0.0)
    audio = mf.tones(1.0, 16000)
    gain = clips.loudness_gain_db(audio, spec)
    assert np.max(np.abs(audio)) * 10 ** (gain / 20) == pytest.approx(1.0, rel=1e-6)

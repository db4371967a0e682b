"""The pseudo-binaural builder on real media files: a moving object's mono sound ends up on its side; the 10 s and
silence filters drop what they should; 1 and 2 Beam workers write the same dataset."""

import os

import numpy as np
import pytest

from data.pseudo_binaural import pseudo_binaural_dataset_builder as pseudo
from data.video_folder import beam as beam_lib
from tests.data import build_helpers, media_fixtures
from tests.video import helpers as video_helpers
from v2a_jax.metrics import direction

FS, FPS, SIZE = 16000, 5, 64
CONFIG = pseudo.PseudoBinauralConfig(name="test", fps=float(FPS), height=SIZE, width=SIZE)


def write_moving_square(folder, name, seconds, mono):
    path = os.path.join(folder, name + ".mp4")
    video_helpers.write_video(path, video_helpers.moving_square_frames(int(seconds * FPS), SIZE), FPS)
    media_fixtures.write_sidecar(os.path.join(folder, name + ".wav"), mono[None], FS)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("pseudo_src"))
    rng = np.random.default_rng(0)
    noise = lambda seconds: (rng.standard_normal(int(seconds * FS)) * 0.1).astype(np.float32)  # noqa: E731
    write_moving_square(folder, "square", 10.0, noise(10.0))
    write_moving_square(folder, "short", 8.0, noise(8.0))  # < 10 s: skipped
    quiet = noise(10.0)
    quiet[int(1.5 * FS) :] = 0.0  # 85 % silence: its only window is dropped
    write_moving_square(folder, "quiet", 10.0, quiet)
    # Stereo in the container (downmixed); the fixture's pattern has a red band over the left quarter.
    media_fixtures.write_video(
        os.path.join(folder, "stereo.mp4"),
        duration_s=10.0,
        fps=FPS,
        width=SIZE,
        height=SIZE,
        audio=np.stack([noise(10.0), noise(10.0)]),
        audio_rate=FS,
    )
    media_fixtures.write_video(
        os.path.join(folder, "quad.mp4"),
        duration_s=10.0,
        fps=FPS,
        width=SIZE,
        height=SIZE,
        audio=np.stack([noise(10.0)] * 4),
        audio_rate=FS,
    )  # 4 channels: refused
    return folder, build_helpers.build_with_workers(pseudo.PseudoBinaural, CONFIG, folder, tmp_path_factory)


def test_sound_is_on_the_moving_objects_side(built):
    _, out = built
    ex = out[1][1]["square@0"]
    t = np.arange(10 * FPS)
    centre_x = np.floor(t * (SIZE - video_helpers.SQUARE) / (len(t) - 1)) + video_helpers.SQUARE / 2
    true_az = np.degrees(np.arctan((SIZE / 2 - centre_x) / (SIZE / 2)))  # 90-degree field of view
    audio = ex["audio"].astype(np.float32)[None] / 32767.0
    agreement = direction.left_right_agreement(
        audio, true_az[None, :, None], ex["sounding"][None], FPS, FS, min_lateral_deg=10.0
    )
    assert agreement.count >= 30 and agreement.fraction >= 0.95, agreement
    assert np.all(ex["visible"]) and ex["relative_azimuth_deg"].shape == (len(t), 1)
    # The stereo file's red band sits over the left quarter: its sound is on the left.
    stereo = out[1][1]["stereo@0"]
    assert np.all(stereo["relative_azimuth_deg"] > 20.0)
    lateral = direction.itd_lateral_deg(stereo["audio"].astype(np.float32)[None] / 32767.0, 10 * FPS, FPS, FS)
    assert np.mean(lateral > 10.0) >= 0.95


def test_filters_drop_what_they_should(built):
    folder, out = built
    builder, examples = out[1]
    assert sorted(examples) == ["square@0", "stereo@0"]
    records = {os.path.basename(r["file"]): r["reason"] for r in beam_lib.read_manifest(builder.manifest_path())}
    assert set(records) == {"short.mp4", "quiet.mp4@0", "quad.mp4"}
    assert "too short" in records["short.mp4"] and "min_clip_s=10" in records["short.mp4"]
    assert "85% silence" in records["quiet.mp4@0"] and "max_silence_fraction=0.8" in records["quiet.mp4@0"]
    assert "4-channel" in records["quad.mp4"]
    assert builder.info.metadata["ground_truth"] is True


def test_two_workers_write_what_one_does(built):
    _, out = built
    build_helpers.assert_same_examples(out[1][1], out[2][1])

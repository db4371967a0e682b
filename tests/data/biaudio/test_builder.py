"""The BiAudio builder on real media files: a 360-degree video of a red disc circling the listener with its sound
FOA-encoded at the disc's direction, built with Beam (1 and 2 DirectRunner workers)."""

import fractions
import os

import av
import numpy as np
import pytest

from data.biaudio import biaudio_dataset_builder as biaudio
from data.video_folder import beam as beam_lib
from tests.data import build_helpers, media_fixtures
from tests.data.biaudio import helpers
from tests.video import helpers as video_helpers
from v2a_jax.metrics import direction
from v2a_jax.spatial import projection

FS, FPS, SECONDS, SIZE = 16000, 10.0, 4.0, 64
CONFIG = biaudio.BiAudioConfig(
    name="test",
    clip_s=2.0,
    hop_s=2.0,
    min_clip_s=2.0,
    fps=FPS,
    height=SIZE,
    width=SIZE,
    equirect_height=64,
    equirect_width=128,
    start_pitch_offset_deg=0.0,
    max_pitch_rate_deg_s=0.0,
    max_roll_rate_deg_s=0.0,
)
# The discs' motions; "in_container" carries its FOA in the video file, the others in a side-car wav.
MOTION = {
    "disc": {"start_deg": 0.0, "rate_deg_s": 45.0},
    "sub/disc_back": {"start_deg": 150.0, "rate_deg_s": -30.0},
    "in_container": {"start_deg": -60.0, "rate_deg_s": 40.0},
}


def write_source(folder, key, foa, fps=FPS, seconds=SECONDS, **motion):
    path = os.path.join(folder, key + ".mp4")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    video_helpers.write_video(path, helpers.equirect_frames(int(seconds * fps), fps, **motion), int(fps))
    media_fixtures.write_sidecar(os.path.splitext(path)[0] + ".wav", foa, FS, subtype="FLOAT")
    return path


def write_container_source(path, foa, seconds=SECONDS, **motion):
    """The disc video with its FOA as a 4-channel ('quad') AAC stream in the container."""
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=int(FPS))
        video.width, video.height, video.pix_fmt = 128, 64, "yuv420p"
        audio = out.add_stream("aac", rate=FS, layout="quad")
        for frame in helpers.equirect_frames(int(seconds * FPS), FPS, **motion):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode(None))
        for start in range(0, foa.shape[1], 1024):
            block = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(foa[:, start : start + 1024], np.float32), format="fltp", layout="quad"
            )
            block.sample_rate, block.pts, block.time_base = FS, start, fractions.Fraction(1, FS)
            out.mux(audio.encode(block))
        out.mux(audio.encode(None))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{num_workers: (builder, {clip_id: example})} of one input folder built with 1 and 2 workers."""
    folder = str(tmp_path_factory.mktemp("biaudio_src"))
    for key, motion in MOTION.items():
        foa = helpers.foa_sound(int(SECONDS * FS), FS, **motion)
        if key == "in_container":
            write_container_source(os.path.join(folder, key + ".mp4"), foa, **motion)
        else:
            write_source(folder, key, foa, **motion)
    # An omnidirectional recording (W only): identical ears whichever way the camera turns, so it is dropped.
    noise = np.random.default_rng(0).standard_normal(int(SECONDS * FS)) * 0.1
    write_source(folder, "omni", np.stack([noise, 0 * noise, 0 * noise, 0 * noise]))
    write_source(folder, "stereo", noise[None].repeat(2, axis=0))  # not FOA: refused
    return folder, build_helpers.build_with_workers(biaudio.BiAudio, CONFIG, folder, tmp_path_factory)


def test_disc_on_screen_and_in_the_ears_follows_the_stored_camera(built):
    _, out = built
    _, examples = out[1]
    assert sorted(examples) == [
        "disc@0",
        "disc@2000",
        "in_container@0",
        "in_container@2000",
        "sub/disc_back@0",
        "sub/disc_back@2000",
    ]
    focal = projection.focal_px(SIZE)
    for clip_id, ex in examples.items():
        key = clip_id.split("@")[0]
        t = float(ex["start_s"]) + np.arange(int(2.0 * FPS)) / FPS
        rel = np.mod(helpers.disc_azimuth_deg(t, **MOTION[key]) - ex["camera_yaw_deg"] + 180.0, 360.0) - 180.0
        inside = np.abs(rel) < 35.0  # the whole disc in the frame
        x = helpers.red_centroid_x(ex["video"])
        if inside.any():
            error = np.abs(x - (SIZE / 2 - focal * np.tan(np.radians(rel))))[inside]
            assert np.max(error) < 2.0, (clip_id, error)
        in_view = np.abs(rel) < 45.0
        if in_view.sum() >= 5:
            audio = ex["audio"].astype(np.float32) / 32767.0
            lateral = direction.itd_lateral_deg(audio[None], len(t), FPS, FS)[0]
            r = np.corrcoef(lateral[in_view], direction.lateral_angle_deg(rel[in_view]))[0, 1]
            assert r >= 0.9, (clip_id, r)
        assert ex["phi_max_deg"].shape == (2,) and ex["camera_pitch_deg"].max() == 0.0


def test_omnidirectional_windows_and_non_foa_files_are_in_the_manifest(built):
    folder, out = built
    builder, _ = out[1]
    records = {r["file"]: r["reason"] for r in beam_lib.read_manifest(builder.manifest_path())}
    assert set(records) == {
        os.path.join(folder, "omni.mp4@0"),
        os.path.join(folder, "omni.mp4@2000"),
        os.path.join(folder, "stereo.mp4"),
    }
    assert "min_lr_difference=0.01" in records[os.path.join(folder, "omni.mp4@0")]
    assert "expected 4 channels" in records[os.path.join(folder, "stereo.mp4")]
    meta = builder.info.metadata
    assert meta["field_of_view_deg"] == 90.0 and meta["ground_truth"] is False
    assert meta["clip"]["height"] == SIZE and meta["builder"]["foa_format"] == "ambix"


def test_two_workers_write_what_one_does(built):
    _, out = built
    build_helpers.assert_same_examples(out[1][1], out[2][1])

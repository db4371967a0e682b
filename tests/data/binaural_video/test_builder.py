import dataclasses
import math

import av
import grain
import numpy as np
import pytest
import soundfile

from data.binaural_video import binaural_video_dataset_builder as bv
from data.video_folder import beam as beam_lib
from data.video_folder import media
from data.video_folder.builder import unique_keys
from tests.data import build_helpers
from tests.data import media_fixtures as mf
from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig

# 1 s windows every 0.4 s (10 frames, 6400 samples), 4:3 and 16:9 sources letterboxed into 36 x 64.
FIELDS = dict(clip_s=1.0, hop_s=0.4, min_clip_s=1.0, height=36, width=64, resize_mode="letterbox")
FOLDER = dataclasses.replace(bv.BUILDER_CONFIGS[0], name="test_folder", split_fractions=(1.0, 0.0, 0.0), **FIELDS)


@pytest.fixture(scope="module")
def builds(recorded_folder, tmp_path_factory):
    """The recorded folder built with 2 worker processes and with 1."""
    folder = recorded_folder[0]
    return {
        n: build_helpers.build(bv.BinauralVideo, FOLDER, folder, tmp_path_factory.mktemp(f"workers{n}"), n)
        for n in (2, 1)
    }


def test_two_workers_build_every_window_of_every_good_file(builds, recorded_folder):
    _, good, _ = recorded_folder
    expected = {
        f"{key}@{round(k * 400)}"
        for key, g in good.items()
        for k in range(math.floor((g.duration_s - 1.0) / 0.4 + 1e-6) + 1)
    }
    assert set(build_helpers.examples(builds[2])) == expected
    assert builds[2].info.splits["train"].num_examples == len(expected)


def test_manifest_names_every_bad_file_with_its_reason(builds, recorded_folder):
    _, _, bad = recorded_folder
    records = beam_lib.read_manifest(builds[2].manifest_path())
    assert {r["file"] for r in records} == set(bad.values())
    for kind, path in bad.items():
        reason = next(r["reason"] for r in records if r["file"] == path)
        assert mf.BAD_KINDS[kind] in reason, (kind, reason)


def test_one_worker_builds_identical_examples(builds):
    two, one = build_helpers.examples(builds[2]), build_helpers.examples(builds[1])
    assert sorted(two) == sorted(one)
    for key in two:
        for feature in ("video", "audio", "start_s", "gain_db", "valid_s", "caption"):
            np.testing.assert_array_equal(two[key][feature], one[key][feature], err_msg=f"{key} {feature}")
    # Same order on disk too: TFDS orders examples by a hash of the clip id, not by worker.
    source_two, source_one = builds[2].as_data_source(split="train"), builds[1].as_data_source(split="train")
    assert [source_two[i]["clip_id"] for i in range(len(source_two))] == [
        source_one[i]["clip_id"] for i in range(len(source_one))
    ]


def test_stored_audio_is_the_side_car_resampled_with_left_on_the_left(builds, recorded_folder):
    _, good, _ = recorded_folder
    examples = build_helpers.examples(builds[2])
    for key in ("mjpeg_25_43", "mjpeg_10_43", "sub/h264_sidecar"):
        g = good[key]
        source, rate = soundfile.read(g.audio_path, dtype="float32", always_2d=True)
        # Independent reference: the exact tones the file was written from, at the stored rate (16 kHz).
        reference = mf.tones(g.duration_s, 16000)
        for start_ms in (0, 400, 800):
            ex = examples.get(f"{key}@{start_ms}")
            if ex is None:
                continue
            stored = ex["audio"].astype(np.float32) / 32767.0
            s0 = start_ms * 16
            ref = reference[:, s0 : s0 + 16000]
            # Interior only: a resampler's output near the file's ends depends on its padding.
            inner = slice(160 if start_ms == 0 else 0, 16000 - 160)
            np.testing.assert_allclose(stored[:, inner], ref[:, inner], atol=2e-3, err_msg=f"{key}@{start_ms}")
            assert rate == g.audio_rate and float(ex["gain_db"]) == 0.0


def _dominant_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


def test_lossy_container_audio_keeps_left_and_right(builds, recorded_folder):
    _, good, _ = recorded_folder
    examples = build_helpers.examples(builds[2])
    for key in ("h264_25_wide", "h264_2997_wide", "vp9_10_43", "sub/h264_44k"):
        stored = examples[f"{key}@0"]["audio"].astype(np.float32) / 32767.0
        assert _dominant_hz(stored[0], 16000) == pytest.approx(mf.FREQS[0], abs=2)
        assert _dominant_hz(stored[1], 16000) == pytest.approx(mf.FREQS[1], abs=2)
        rms = np.sqrt(np.mean(stored**2, axis=1))
        np.testing.assert_allclose(rms, np.asarray(mf.AMPS) / np.sqrt(2), rtol=0.05)


def test_frames_follow_the_source_and_are_letterboxed(builds, recorded_folder):
    _, good, _ = recorded_folder
    examples = build_helpers.examples(builds[2])
    for key in ("h264_10_43", "vp9_2997_wide", "mjpeg_25_43"):
        g = good[key]
        video = examples[f"{key}@0"]["video"]  # [25, 36, 64, 3]
        assert video.shape == (25, 36, 64, 3)
        grey = video[:, :, 40:56, 1].mean(axis=(1, 2))
        # Frame j shows the source frame on screen at j / 25 s, by the file's own (rounded) timestamps.
        with av.open(g.path) as container:
            times = np.array([f.time for f in container.decode(video=0)])
        shown = np.searchsorted(times - times[0], np.arange(25) / 25 + 1e-9, side="right") - 1
        expected = [mf.level(int(i)) for i in shown]
        np.testing.assert_allclose(grey, expected, atol=6, err_msg=key)
        red = (video[:, 18, :, 0] > 150) & (video[:, 18, :, 1] < 80)
        if key.endswith("43"):  # 48 x 36 into 64 x 36: 8 black columns each side, the red band just inside
            assert video[:, :, :8].max() <= 16 and red[:, 8:18].all()
        else:
            assert red[:, :14].all() and not red[:, 20:].any()


def test_metadata_follows_the_contract(builds):
    meta = dict(builds[2].info.metadata)
    assert meta["clip"] == {
        "duration_s": 1.0,
        "sample_rate": 16000,
        "fps": 25.0,
        "height": 36,
        "width": 64,
        "resize_mode": "letterbox",
    }
    assert meta["audio_scale"] == pytest.approx(1 / 32767)
    assert meta["ground_truth"] is False and meta["field_of_view_deg"] == 90.0
    assert meta["builder"]["hop_s"] == 0.4 and meta["builder"]["split_set"] == "fraction"
    features = builds[2].info.features
    assert features["video"].shape == (25, 36, 64, 3) and features["audio"].shape == (2, 16000)


FAIRPLAY_FIELDS = dict(clip_s=1.0, hop_s=1.0, min_clip_s=1.0, height=36, width=64)


@pytest.mark.parametrize("protocol,expected", [("fairplay", mf.FAIRPLAY_SPLIT1), ("pseudobinaural", mf.PSEUDO_SPLIT1)])
def test_published_split1_builds_with_the_right_counts(fairplay_folder, tmp_path, protocol, expected):
    named = next(c for c in bv.BUILDER_CONFIGS if c.name == f"{protocol}_split1")
    config = dataclasses.replace(named, name=f"test_{protocol}", **FAIRPLAY_FIELDS)
    builder = build_helpers.build(bv.BinauralVideo, config, fairplay_folder, tmp_path, 1)
    present = {f"{i:06d}" for i in range(1, 7)}
    for file_split, split in (("train", "train"), ("val", "validation"), ("test", "test")):
        stems = sorted(s for s in expected[file_split] if s in present)
        assert sorted(k.split("/")[-1].split("@")[0] for k in build_helpers.examples(builder, split)) == stems
    missing = {s for stems in expected.values() for s in stems} - present
    records = beam_lib.read_manifest(builder.manifest_path())
    assert len(records) == len(missing)
    for stem in missing:
        assert any(stem in r["file"] and "no video" in r["reason"] for r in records)


def test_fairplay_h5_paths_match_by_stem(fairplay_folder):
    stems = bv.read_split_file(f"{fairplay_folder}/splits/split1/train.h5")
    assert stems == mf.FAIRPLAY_SPLIT1["train"]
    assert bv.read_split_file(f"{fairplay_folder}/new_splits/split1/val.txt") == mf.PSEUDO_SPLIT1["val"]


def test_captions_from_the_folder_name_or_a_csv_file(recorded_folder, tmp_path):
    folder, good, _ = recorded_folder
    config = dataclasses.replace(FOLDER, name="test_captions", captions="folder", video_dir="sub")
    sources, _ = bv.BinauralVideo(config=config, data_dir=str(tmp_path)).list_sources(folder)
    assert {s.caption for s in sources["train"]} == {"sub"} and len(sources["train"]) == 3
    (tmp_path / "in").mkdir()
    mf.write_video(str(tmp_path / "in" / "a.mp4"), audio=mf.tones(1.2, 48000))
    mf.write_video(str(tmp_path / "in" / "b.mp4"), audio=mf.tones(1.2, 48000))
    (tmp_path / "in" / "captions.csv").write_text('file,caption\na.mp4,"a cello, then a piano"\n')
    config = dataclasses.replace(FOLDER, name="test_csv", captions="file")
    sources, _ = bv.BinauralVideo(config=config, data_dir=str(tmp_path)).list_sources(str(tmp_path / "in"))
    assert {s.key: s.caption for s in sources["train"]} == {"a": "a cello, then a piano", "b": ""}


def test_probe_reads_the_declared_streams(recorded_folder):
    _, good, _ = recorded_folder
    info = media.probe(good["h264_2997_wide"].path)
    assert info.audio_channels == 2 and info.audio_rate == 44100 and info.video_fps == pytest.approx(29.97)


def test_sidecar_layout_and_colliding_keys_are_listed_as_skips(tmp_path):
    mf.write_video(str(tmp_path / "a.mp4"), audio=mf.tones(1.2, 48000))
    mf.write_video(str(tmp_path / "a.webm"), codec="libvpx-vp9", audio=mf.tones(1.2, 48000), audio_codec="libopus")
    mf.write_video(str(tmp_path / "b.mp4"))
    mf.write_sidecar(str(tmp_path / "b.flac"), mf.tones(1.2, 44100), 44100)
    config = dataclasses.replace(FOLDER, name="test_sidecar", audio="sidecar")
    sources, listed = bv.BinauralVideo(config=config, data_dir=str(tmp_path / "d")).list_sources(str(tmp_path))
    assert [s.key for s in sources["train"]] == ["b"] and sources["train"][0].audio.endswith("b.flac")
    assert sorted(r["file"] for r in listed) == [str(tmp_path / "a.mp4"), str(tmp_path / "a.webm")]
    assert all("no side-car audio a.wav/.flac" in r["reason"] for r in listed)
    own = dataclasses.replace(FOLDER, name="test_own", audio="own")
    sources, listed = bv.BinauralVideo(config=own, data_dir=str(tmp_path / "d")).list_sources(str(tmp_path))
    kept, listed = unique_keys(sources, listed)
    assert sorted(s.video for s in kept["train"]) == [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")]
    assert [r["file"] for r in listed] == [str(tmp_path / "a.webm")] and "collide" in listed[0]["reason"]


def test_the_training_pipeline_reads_the_built_dataset(builds):
    """The project's Grain pipeline crops, mirrors and batches the stored non-square clips as they are."""
    builder = builds[2]
    clip = dict(builder.info.metadata)["clip"]
    fmt = loader.ClipFormat(
        duration_s=clip["duration_s"],
        sample_rate=clip["sample_rate"],
        fps=clip["fps"],
        audio_scale=dict(builder.info.metadata)["audio_scale"],
    )
    seq = SequenceConfig(duration_s=0.64, semantic_fps=6.25)
    ds = loader.make_dataset(
        builder.as_data_source(split="train"),
        fmt,
        seq,
        train=True,
        batch_size=4,
        seed=0,
        shard_options=grain.sharding.NoSharding(),
        keys=("video", "audio", "caption"),
        mirror_prob=0.5,
    )
    batch = next(iter(ds))
    assert batch["video"].shape == (4, 16, 36, 64, 3) and batch["audio"].shape == (4, 2, 10240)
    assert batch["video"].dtype == np.float32 and np.abs(batch["audio"]).max() <= 1.0

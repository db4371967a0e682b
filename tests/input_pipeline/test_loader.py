from fractions import Fraction

import grain
import numpy as np
import pytest

from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig

# 0.96 s crops of 1.28 s clips: aligned starts every 0.16 s -> 3 possible starts.
SEQ = SequenceConfig(duration_s=0.96, semantic_fps=6.25)


@pytest.fixture(scope="module")
def split(tiny_synth):
    return loader.open_split(tiny_synth[2], "binaural_synth/test_tiny", "train")


def _first(ds):
    return next(iter(ds))


def test_open_split_reads_format(split, tiny_synth):
    source, clip = split
    assert len(source) == tiny_synth[1].num_train
    assert (clip.duration_s, clip.sample_rate, clip.fps, clip.audio_scale) == (1.28, 16000, 25.0, 1 / 32767)
    assert clip.field_of_view_deg == 90.0 and set(clip.features) == set(source[0])
    assert clip.truth == loader.TRUTH_KEYS and clip.has_truth(("screen_x", "onset_s"))
    assert clip.hrtf == ("spherical", 0.0875)  # the head binaural_synth rendered with, from its metadata


def test_recorded_dataset_has_no_truth_and_non_square_batches(tiny_recorded):
    source, clip = loader.open_split(tiny_recorded, "recorded_tiny", "train")
    assert clip.truth == () and not clip.has_truth(("relative_azimuth_deg",)) and clip.hrtf is None
    assert (clip.duration_s, clip.sample_rate, clip.fps) == (1.28, 16000, 25.0)
    batch = _first(loader.make_dataset(source, clip, SEQ, train=True, batch_size=4, seed=0, mirror_prob=0.5))
    assert set(batch) == {"video", "audio", "caption", "clip_id", "start_s", "gain_db"}
    assert batch["video"].shape == (4, 24, 24, 32, 3) and batch["audio"].shape == (4, 2, 15360)
    assert list(batch["caption"]) == [b""] * 4


def test_metadata_fallback_and_the_ground_truth_flag():
    scene = {"duration_s": 2.0, "sample_rate": 16000, "fps": 25.0, "horizontal_fov_deg": 70.0}
    stored = ("video", "audio", "caption", "screen_x", "sounding")
    # A binaural_synth dataset built before `clip`: rates, field of view and truth from `scene` and the features.
    old = loader.ClipFormat.from_info({"scene": scene, "audio_scale": 1 / 32767}, stored, "d")
    assert (old.duration_s, old.field_of_view_deg, old.truth) == (2.0, 70.0, ("screen_x", "sounding"))
    clip = {k: scene[k] for k in ("duration_s", "sample_rate", "fps")}
    flagged = loader.ClipFormat.from_info({"clip": clip, "audio_scale": 1.0, "ground_truth": False}, stored, "d")
    assert flagged.truth == () and flagged.field_of_view_deg == loader.DEFAULT_FOV_DEG
    # The builders over recordings record the head their decoder used under `builder`.
    decoded = {
        "clip": clip,
        "audio_scale": 1.0,
        "builder": {"hrtf": "sofa", "sofa_path": "/h.sofa", "head_radius_m": 0.1},
    }
    assert loader.ClipFormat.from_info(decoded, stored, "d").hrtf == ("sofa", "/h.sofa")
    with pytest.raises(ValueError, match="^DIR: the dataset metadata has no 'clip'"):
        loader.ClipFormat.from_info({"audio_scale": 1.0}, stored, "DIR")


def test_missing_dataset_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        loader.open_split(str(tmp_path), "binaural_synth/test_tiny", "train")


def test_train_batch_shapes_and_ranges(split):
    source, clip = split
    batch = _first(loader.make_dataset(source, clip, SEQ, train=True, batch_size=4, seed=0))
    assert batch["video"].shape == (4, 24, 32, 32, 3) and batch["video"].dtype == np.float32
    assert batch["audio"].shape == (4, 2, 15360) and batch["audio"].dtype == np.float32
    assert batch["relative_azimuth_deg"].shape[:2] == (4, 24)
    assert batch["camera_yaw_deg"].shape == (4, 24)
    assert -1.0 <= batch["video"].min() and batch["video"].max() <= 1.0
    assert 0.0 < np.abs(batch["audio"]).max() <= 1.0


def test_crop_keeps_video_audio_and_onsets_aligned(split):
    """Locate each crop in its full clip by its camera yaw, then check audio and onsets moved by the same time."""
    source, clip = split
    by_seed = {int(source[i]["seed"]): source[i] for i in range(len(source))}
    batch = _first(loader.make_dataset(source, clip, SEQ, train=True, batch_size=6, seed=3))
    starts = set()
    for b in range(6):
        full = by_seed[int(batch["seed"][b])]
        yaw = full["camera_yaw_deg"]
        f0 = [f for f in range(len(yaw) - 23) if np.array_equal(yaw[f : f + 24], batch["camera_yaw_deg"][b])]
        assert len(f0) >= 1
        f0 = f0[0]
        starts.add(f0)
        s0 = f0 * 640
        np.testing.assert_array_equal(batch["audio"][b], full["audio"][:, s0 : s0 + 15360] * np.float32(1 / 32767))
        expect_video = full["video"][f0 : f0 + 24].astype(np.float32) * np.float32(2 / 255) - 1
        np.testing.assert_array_equal(batch["video"][b], expect_video)
        onsets, full_onsets = batch["onset_s"][b], full["onset_s"]
        t0 = f0 / 25.0
        inside = (full_onsets >= t0) & (full_onsets < t0 + 0.96)
        np.testing.assert_allclose(onsets[inside], full_onsets[inside] - t0, atol=1e-6)
        assert np.all(onsets[~inside] == -1)
    assert starts <= {0, 4, 8}  # only aligned starts (multiples of 0.16 s = 4 frames)


def test_same_seed_same_batches_other_seed_differs(split):
    source, clip = split
    make = lambda seed: loader.make_dataset(source, clip, SEQ, train=True, batch_size=2, seed=seed)  # noqa: E731
    a, b, c = _first(make(1)), _first(make(1)), _first(make(2))
    np.testing.assert_array_equal(a["audio"], b["audio"])
    assert not np.array_equal(a["audio"], c["audio"])


def test_iterator_state_restores_next_batch(split):
    source, clip = split
    ds = loader.make_dataset(source, clip, SEQ, train=True, batch_size=2, seed=5, keys=["audio", "seed"])
    it = iter(ds)
    for _ in range(4):  # past one epoch of 6 clips, so the repeat/reshuffle state is exercised too
        next(it)
    state = it.get_state()
    expected = [next(it) for _ in range(2)]
    resumed = iter(ds)
    resumed.set_state(state)
    for want in expected:
        got = next(resumed)
        np.testing.assert_array_equal(got["audio"], want["audio"])
        np.testing.assert_array_equal(got["seed"], want["seed"])


def test_eval_is_one_ordered_pass_from_clip_start(split):
    source, clip = split
    batches = list(loader.make_dataset(source, clip, SEQ, train=False, batch_size=4, seed=0, keys=["audio", "seed"]))
    seeds = np.concatenate([b["seed"] for b in batches])
    np.testing.assert_array_equal(seeds, [source[i]["seed"] for i in range(len(source))])
    np.testing.assert_array_equal(batches[0]["audio"][0], source[0]["audio"][:, :15360] * np.float32(1 / 32767))
    assert sorted(batches[0]) == ["audio", "seed"]


def test_process_shards_are_disjoint_and_complete(split):
    source, clip = split
    seen = []
    for index in range(2):
        shard = grain.sharding.ShardOptions(shard_index=index, shard_count=2, drop_remainder=True)
        ds = loader.make_dataset(
            source, clip, SEQ, train=False, batch_size=1, seed=0, keys=["seed"], shard_options=shard
        )
        seen.append({int(b["seed"][0]) for b in ds})
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == len(source)


def test_rate_mismatch_is_refused(split):
    source, clip = split
    with pytest.raises(ValueError, match="does not match"):
        loader.make_dataset(
            source,
            clip,
            SequenceConfig(duration_s=0.96, video_fps=12.5, semantic_fps=6.25),
            train=True,
            batch_size=2,
            seed=0,
        )
    with pytest.raises(ValueError, match="shorter"):
        loader.make_dataset(
            source, clip, SequenceConfig(duration_s=1.6, semantic_fps=6.25), train=True, batch_size=2, seed=0
        )


def test_crop_helper_shifts_everything_by_the_same_time():
    ex = {
        "video": np.arange(10)[:, None, None, None] * np.ones((10, 1, 1, 3), np.uint8),
        "audio": np.tile(np.arange(6400, dtype=np.int16), (2, 1)),
        "camera_yaw_deg": np.arange(10, dtype=np.float32),
        "onset_s": np.array([[0.05, 0.2, -1.0]], np.float32),
    }
    seq = SequenceConfig(duration_s=0.16, latent_fps=25.0, semantic_fps=6.25)
    out = loader.crop(ex, seq, Fraction(4, 25))
    assert out["camera_yaw_deg"].tolist() == [4, 5, 6, 7]
    assert out["audio"][0, 0] == 4 * 640
    np.testing.assert_allclose(out["onset_s"], [[-1.0, 0.04, -1.0]], atol=1e-6)


def test_worker_processes_give_the_same_batches(split):
    source, clip = split
    make = lambda workers: loader.make_dataset(  # noqa: E731
        source, clip, SEQ, train=True, batch_size=2, seed=4, keys=["audio", "seed"], num_workers=workers
    )
    serial, parallel = iter(make(0)), iter(make(2))
    try:
        for _ in range(3):
            a, b = next(serial), next(parallel)
            np.testing.assert_array_equal(a["seed"], b["seed"])
            np.testing.assert_array_equal(a["audio"], b["audio"])
    finally:
        parallel.close()


def test_mirror_reflects_picture_ears_and_angles(split):
    """The reflected scene is consistent with itself: screen_x points at the same pixels of the flipped video, and
    the ITD measured from the swapped ears (frame_itd, not the renderer) changes sign with the negated azimuth."""
    from v2a_jax.spatial.itd import frame_itd

    source, _ = split
    for i in range(len(source)):
        ex = source[i]
        m = loader.mirror(ex)
        np.testing.assert_array_equal(loader.mirror(m)["video"], ex["video"])
        np.testing.assert_array_equal(m["audio"][0], ex["audio"][1])
        np.testing.assert_array_equal(m["relative_azimuth_deg"], -ex["relative_azimuth_deg"])
        np.testing.assert_array_equal(m["elevation_deg"], ex["elevation_deg"])
        t, s = np.nonzero(np.isfinite(ex["screen_x"]) & (ex["screen_x"] > 0.5) & (ex["screen_x"] < 31.5))
        for ti, si in zip(t, s):
            x, y = ex["screen_x"][ti, si], int(ex["screen_y"][ti, si].clip(0, 31))
            np.testing.assert_array_equal(m["video"][ti, y, int(m["screen_x"][ti, si])], ex["video"][ti, y, int(x)])
    # ITD sign over one whole clip whose loudest source is well off the median plane.
    audio = np.stack([source[i]["audio"] for i in range(len(source))]).astype(np.float32) / 32767
    itd = np.asarray(frame_itd(audio, 640, 11.0, 16000))  # [B, T] samples; > 0: left ear leads
    itd_m = np.asarray(frame_itd(audio[:, ::-1], 640, 11.0, 16000))
    loud = np.abs(itd) > 2.0
    assert loud.sum() > 10
    np.testing.assert_allclose(itd_m[loud], -itd[loud], atol=0.5)


def test_random_mirror_changes_nothing_but_the_side(split):
    source, clip = split
    keys = ["audio", "video", "seed", "relative_azimuth_deg"]
    make = lambda p: iter(
        loader.make_dataset(
            source,
            clip,
            SEQ,
            train=True,
            batch_size=6,
            seed=2,
            keys=keys,  # noqa: E731
            mirror_prob=p,
        )
    )
    plain, always, half = make(0.0), make(1.0), make(0.5)
    mirrored_share = []
    for _ in range(4):
        a, b, c = next(plain), next(always), next(half)
        np.testing.assert_array_equal(b["seed"], a["seed"])  # same clips and crops: mirroring has its own stream
        np.testing.assert_array_equal(b["audio"], a["audio"][:, ::-1])
        np.testing.assert_array_equal(b["video"], a["video"][:, :, :, ::-1])
        flipped = [
            np.array_equal(c["audio"][k], b["audio"][k]) and not np.array_equal(c["audio"][k], a["audio"][k])
            for k in range(6)
        ]
        kept = [np.array_equal(c["audio"][k], a["audio"][k]) for k in range(6)]
        assert all(f or k for f, k in zip(flipped, kept))
        mirrored_share += flipped
    assert 0.2 < np.mean(mirrored_share) < 0.8
    with pytest.raises(ValueError, match="mirror probability"):
        loader.RandomMirror(1.5)

"""Tests for data/binaural_synth/scenes.py: config checks, shapes, determinism, and that the video, the audio and
the ground truth agree (geometry, left/right, sync, camera yaw, off-screen sources), measured from the outputs."""

import dataclasses

import numpy as np
import pytest

from data.binaural_synth import classes, raster, scenes
from v2a_jax.spatial import hrtf as hrtf_lib

SR = 16000
KEYS_T_S = ("relative_azimuth_deg", "elevation_deg", "distance_m", "screen_x", "screen_y", "visible", "sounding")


@pytest.fixture(scope="module")
def hrtf():
    return hrtf_lib.SphericalHeadHRTF(sample_rate=SR)


def _config(**kw):
    base = dict(
        duration_s=1.0, offscreen_prob=0.0, rt60_range_s=(0.0, 0.0), min_sources=1, max_sources=1, difficulty="easy"
    )
    base.update(kw)
    return scenes.SceneConfig(**base)


def _hand_scene(config, sources, yaw_deg=0.0, seed=0):
    """A Scene built by hand. sources: list of dicts with class_id, az (world, scalar or [N]), el, dist and
    events [(onset_s, offset_s), ...]; slot i gets sources[i] (put an off-screen one in the last slot)."""
    n, s_len, e_len = config.num_samples, config.num_slots, config.max_events_per_source
    class_id = np.full(s_len, -1, np.int32)
    az, el, dist = (np.zeros((s_len, n), np.float32) for _ in range(3))
    onset, offset = -np.ones((s_len, e_len), np.float32), -np.ones((s_len, e_len), np.float32)
    for i, src in enumerate(sources):
        i = src.get("slot", i)
        class_id[i] = src["class_id"]
        az[i], el[i], dist[i] = src["az"], src.get("el", 0.0), src.get("dist", 2.0)
        for e, (on, off) in enumerate(src["events"]):
            onset[i, e], offset[i, e] = on, off
    empty = np.zeros((0, n), np.float32)
    return scenes.Scene(
        class_id=class_id,
        azimuth_deg=az,
        elevation_deg=el,
        distance_m=dist,
        onset_s=onset,
        offset_s=offset,
        camera_yaw_deg=np.broadcast_to(np.float32(yaw_deg), (n,)).copy(),
        distractor_class_id=np.zeros(0, np.int32),
        distractor_azimuth_deg=empty,
        distractor_elevation_deg=empty,
        distractor_distance_m=empty,
        rt60_s=0.0,
        panorama=raster.make_panorama(np.random.default_rng(seed)),
    )


def _render(scene, config, hrtf, seed=0):
    return scenes.render_scene(scene, config, hrtf, np.random.default_rng(seed))


def _itd_samples(audio, max_lag=20):
    """Lag (samples) maximising sum_n left[n] right[n + lag]; > 0 when the left ear leads."""
    left, right = audio.astype(np.float64)
    lags = np.arange(-max_lag, max_lag + 1)
    xc = [np.dot(left[max_lag:-max_lag], right[max_lag + k : right.size - max_lag + k]) for k in lags]
    return lags[int(np.argmax(xc))]


def _ild_db(audio):
    left, right = audio.astype(np.float64)
    return 10 * np.log10(np.sum(left**2) / np.sum(right**2))


# ---------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(fps=25.0, duration_s=1.01), "duration_s"),  # 25.25 frames
        (dict(fps=24.0), "sample_rate"),  # 16000 / 24 samples per frame
        (dict(sample_rate=4000, fps=25.0), "sample_rate"),
        (dict(min_sources=3, max_sources=2), "min_sources"),
        (dict(min_sources=0), "min_sources"),
        (dict(num_classes=11), "num_classes"),
        (dict(num_classes=2, max_sources=2, offscreen_prob=0.5), "num_classes"),
        (dict(offscreen_prob=1.5), "offscreen_prob"),
        (dict(difficulty="insane"), "difficulty"),
        (dict(horizontal_fov_deg=170.0), "horizontal_fov_deg"),
        (dict(horizontal_fov_deg=5.0), "horizontal_fov_deg"),
        (dict(rt60_range_s=(0.5, 0.2)), "rt60_range_s"),
        (dict(distance_range_m=(0.0, 2.0)), "distance_range_m"),
        (dict(max_events_per_source=0), "max_events_per_source"),
        (dict(image_size=4), "image_size"),
    ],
)
def test_config_rejects_nonsense(kw, field):
    with pytest.raises(ValueError, match=f"SceneConfig.{field}"):
        scenes.SceneConfig(**kw)


def test_config_defaults_and_sizes():
    config = scenes.SceneConfig()
    assert (config.num_frames, config.samples_per_frame, config.num_samples) == (200, 640, 128000)
    assert config.num_slots == 3 and config.max_sources == 2
    assert scenes.clip_shapes(config) == {"num_frames": 200, "num_samples": 128000, "num_sources": 3, "max_events": 8}
    np.testing.assert_allclose(config.focal_px, 32.0)
    assert _config().num_slots == 1  # no off-screen slot when offscreen_prob == 0


# ---------------------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "duration, fps, size, sr, difficulty",
    [
        (1.0, 25.0, 64, 16000, "medium"),
        (0.4, 10.0, 224, 16000, "hard"),
        (1.5, 20.0, 32, 8000, "easy"),
    ],
)
def test_shapes_and_dtypes(duration, fps, size, sr, difficulty, hrtf):
    config = scenes.SceneConfig(
        duration_s=duration, fps=fps, image_size=size, sample_rate=sr, difficulty=difficulty, offscreen_prob=0.5
    )
    h = hrtf if sr == SR else hrtf_lib.SphericalHeadHRTF(sample_rate=sr)
    clip = scenes.render_clip(3, config, h)
    t, n, s, e = int(round(duration * fps)), int(round(duration * sr)), 3, 8
    assert scenes.clip_shapes(config) == {"num_frames": t, "num_samples": n, "num_sources": s, "max_events": e}
    expected = {
        "video": ((t, size, size, 3), np.uint8),
        "audio": ((2, n), np.float32),
        "class_id": ((s,), np.int32),
        "source_present": ((s,), np.bool_),
        "onscreen_source": ((s,), np.bool_),
        "camera_yaw_deg": ((t,), np.float32),
        "onset_s": ((s, e), np.float32),
        **{k: ((t, s), np.bool_ if k in ("visible", "sounding") else np.float32) for k in KEYS_T_S},
    }
    assert set(clip) == set(expected) | {"caption"}
    for key, (shape, dtype) in expected.items():
        assert clip[key].shape == shape and clip[key].dtype == dtype, key
    assert isinstance(clip["caption"], str)
    assert np.all(np.isfinite(clip["audio"])) and np.abs(clip["audio"]).max() <= scenes.PEAK_LIMIT + 1e-6
    assert np.array_equal(clip["source_present"], clip["class_id"] >= 0)
    assert np.all(np.isnan(clip["screen_x"]) == ~clip["visible"])
    assert np.all(np.abs(clip["relative_azimuth_deg"]) <= 180)
    assert np.all(clip["camera_yaw_deg"] >= -180) and np.all(clip["camera_yaw_deg"] < 180)


def test_same_seed_same_clip_other_seed_other_clip(hrtf):
    config = scenes.SceneConfig(duration_s=1.0, offscreen_prob=0.5)
    a, b, c = (scenes.render_clip(seed, config, hrtf) for seed in (7, 7, 8))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["video"], c["video"])
    assert not np.array_equal(a["audio"], c["audio"])
    assert not np.array_equal(a["camera_yaw_deg"], c["camera_yaw_deg"])


def test_redraw_keeps_the_picture_and_truth_and_draws_new_sounds(hrtf):
    """A redraw is clip `seed` with new sound variation and reverb: same video and truth, other audio."""
    config = scenes.SceneConfig(duration_s=1.0, offscreen_prob=0.5)
    for seed in (3, 4):
        clip, redraw = scenes.render_clip(seed, config, hrtf), scenes.redraw_clip(seed, config, hrtf, draw=1)
        for key in clip:
            if key != "audio":
                np.testing.assert_array_equal(redraw[key], clip[key], err_msg=key)
        np.testing.assert_array_equal(scenes.redraw_clip(seed, config, hrtf, draw=1)["audio"], redraw["audio"])
        other = scenes.redraw_clip(seed, config, hrtf, draw=2)["audio"]
        assert not np.allclose(redraw["audio"], clip["audio"], atol=1e-3)
        assert not np.allclose(other, redraw["audio"], atol=1e-3)


def test_redrawn_sounds_come_from_the_true_side(hrtf):
    """The ITD measured from the redrawn audio names the side of the true source (dry one-source scenes; the
    broadband cross-correlation is fooled by some harmonic sources, so most, not all, clips must agree)."""
    config = _config(duration_s=1.0, horizontal_fov_deg=120.0)
    agree = []
    for seed in range(16):
        redraw = scenes.redraw_clip(seed, config, hrtf, draw=1)
        azimuth = redraw["relative_azimuth_deg"][0, 0]
        if abs(azimuth) >= 15.0:  # Woodworth: >= 2.2 samples at 16 kHz
            agree.append(np.sign(azimuth) * _itd_samples(redraw["audio"], max_lag=11) > 0)
    assert len(agree) >= 6 and np.mean(agree) >= 0.8, agree


def test_sources_have_distinct_classes_and_sorted_padded_onsets(hrtf):
    config = scenes.SceneConfig(duration_s=2.0, offscreen_prob=0.5, difficulty="hard")
    for seed in range(6):
        scene = scenes.sample_scene(np.random.default_rng(seed), config)
        used = np.concatenate([scene.class_id[scene.class_id >= 0], scene.distractor_class_id])
        assert len(set(used.tolist())) == used.size and used.max() < config.num_classes
        assert scene.distractor_class_id.size == scenes.DIFFICULTIES["hard"].num_distractors
        for s in np.flatnonzero(scene.class_id >= 0):
            on, off = scene.onset_s[s], scene.offset_s[s]
            valid = on >= 0
            assert valid[0] and np.all(valid[: valid.sum()])  # at least one event, padding at the end only
            assert np.all(off[valid] - on[valid] >= scenes.MIN_EVENT_S - 1e-3)
            assert np.all(on[valid][1:] >= off[valid][:-1] + scenes.MIN_GAP_S - 1e-4)
            assert np.all(off[valid] <= 2.0 + 1e-6)


# ---------------------------------------------------------------------------------------------- geometry


def _class_pixels(frame, colour, tol=70.0):
    """Boolean mask of pixels within `tol` (RGB distance) of `colour`."""
    return np.linalg.norm(frame.astype(np.float64) - np.asarray(colour, np.float64), axis=-1) < tol


def test_drawn_source_is_centred_on_screen_xy(hrtf):
    config = _config(duration_s=2.0, difficulty="medium")
    size, f = config.image_size, config.focal_px
    checked = 0
    for seed in range(12):
        clip = scenes.render_clip(seed, config, hrtf)
        colour = classes.CLASSES[clip["class_id"][0]].colour
        az, el = np.radians(clip["relative_azimuth_deg"][:, 0]), np.radians(clip["elevation_deg"][:, 0])
        # The pinhole, written out independently: x = W/2 - f tan(az), y = H/2 - f tan(el) / cos(az).
        x_exp, y_exp = size / 2 - f * np.tan(az), size / 2 - f * np.tan(el) / np.cos(az)
        inside = (np.cos(az) > 0) & (x_exp >= 0) & (x_exp < size) & (y_exp >= 0) & (y_exp < size)
        np.testing.assert_array_equal(clip["visible"][:, 0], inside)
        np.testing.assert_allclose(clip["screen_x"][inside, 0], x_exp[inside], atol=1e-3)
        np.testing.assert_allclose(clip["screen_y"][inside, 0], y_exp[inside], atol=1e-3)
        snd = clip["sounding"][:, 0]
        for t in np.flatnonzero(inside):
            # Full-brightness frames whose whole shape is in view (radius from the 1/distance law).
            r = f * scenes.OBJECT_RADIUS_M / clip["distance_m"][t, 0] * 1.3
            x, y = clip["screen_x"][t, 0], clip["screen_y"][t, 0]
            if not (snd[max(t - 2, 0) : t + 3].all() and r < x < size - r and r < y < size - r and r > 3):
                continue
            mask = _class_pixels(clip["video"][t], colour)
            rows, cols = np.nonzero(mask)
            assert abs(cols.mean() + 0.5 - x) < 1.5 and abs(rows.mean() + 0.5 - y) < 1.5, (seed, t)
            checked += 1
    assert checked >= 20


def test_left_source_is_on_the_left_and_left_ear_leads(hrtf):
    """ILD measured on the hiss class (head shadow acts above ~1 kHz), ITD on the broadband buzzer."""
    config = _config()
    for az in (40.0, -40.0):
        side = np.sign(az)  # +1: left
        clips = {}
        for class_id in (classes.CLASS_NAMES.index("steam"), classes.CLASS_NAMES.index("buzzer")):
            scene = _hand_scene(config, [dict(class_id=class_id, az=az, el=0.0, dist=2.0, events=[(0.0, 1.0)])])
            clips[class_id] = clip = _render(scene, config, hrtf)
            np.testing.assert_allclose(clip["relative_azimuth_deg"][:, 0], az, atol=1e-4)
            cols = np.nonzero(_class_pixels(clip["video"][10], classes.CLASSES[class_id].colour))[1] + 0.5
            assert cols.size > 10 and np.all(side * (config.image_size / 2 - cols) > 0)
        ild = _ild_db(clips[classes.CLASS_NAMES.index("steam")]["audio"])
        itd = _itd_samples(clips[classes.CLASS_NAMES.index("buzzer")]["audio"])
        assert side * ild > 3.0, ild
        # Woodworth at 40 degrees: (a/c)(theta + sin theta) = 342 us = 5.5 samples at 16 kHz.
        assert 4 <= side * itd <= 7, itd


def test_frontal_source_is_centred_and_balanced(hrtf):
    config = _config()
    scene = _hand_scene(config, [dict(class_id=0, az=0.0, el=0.0, dist=1.5, events=[(0.0, 1.0)])])
    clip = _render(scene, config, hrtf)
    np.testing.assert_allclose(clip["screen_x"][:, 0], config.image_size / 2, atol=1e-4)
    assert abs(_ild_db(clip["audio"])) < 0.5 and _itd_samples(clip["audio"]) == 0


def test_size_shrinks_and_audio_quietens_with_distance(hrtf):
    config = _config()
    areas, energies = [], []
    for dist in (1.5, 3.0):
        scene = _hand_scene(config, [dict(class_id=0, az=0.0, dist=dist, events=[(0.0, 1.0)])])
        clip = _render(scene, config, hrtf)
        areas.append(_class_pixels(clip["video"][12], classes.CLASSES[0].colour).sum())
        energies.append(np.sum(clip["audio"].astype(np.float64) ** 2))
    np.testing.assert_allclose(areas[0] / areas[1], 4.0, rtol=0.2)  # radius ~ 1 / distance
    np.testing.assert_allclose(energies[0] / energies[1], 4.0, rtol=0.2)  # amplitude ~ 1 / distance


# ---------------------------------------------------------------------------------------------- sync


def test_source_brightens_and_audio_is_louder_while_sounding(hrtf):
    config = _config(duration_s=4.0, distance_range_m=(1.0, 2.5))
    spf = config.samples_per_frame
    bright_on, bright_off, energy_on, energy_off = [], [], [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        scene = scenes.sample_scene(rng, config)
        clip = scenes.render_scene(scene, config, hrtf, rng)
        np.testing.assert_array_equal(clip["video"], scenes.render_clip(seed, config, hrtf)["video"])
        background = raster.render_background(
            scene.panorama, clip["camera_yaw_deg"], config.focal_px, config.image_size, config.image_size
        )
        energy = np.sum(clip["audio"].astype(np.float64).reshape(2, -1, spf) ** 2, axis=(0, 2))  # [T]
        snd = clip["sounding"][:, 0]
        for t in range(config.num_frames):
            drawn = np.any(clip["video"][t] != background[t], axis=-1)
            if clip["visible"][t, 0] and drawn.sum() >= 4:
                (bright_on if snd[t] else bright_off).append(np.median(clip["video"][t][drawn].max(-1)))
            (energy_on if snd[t] else energy_off).append(energy[t])
    assert len(bright_on) > 20 and len(bright_off) > 20
    assert np.mean(bright_on) > np.mean(bright_off) + 60, (np.mean(bright_on), np.mean(bright_off))
    assert np.median(energy_on) > 100 * np.median(energy_off) + 1e-12


def test_sounding_matches_onsets_and_the_caption(hrtf):
    config = _config(duration_s=2.0, max_sources=2, offscreen_prob=0.5)
    frame_n = np.arange(config.num_frames) * config.samples_per_frame  # first audio sample of each frame
    for seed in range(4):
        scene = scenes.sample_scene(np.random.default_rng(seed), config)
        clip = scenes.render_clip(seed, config, hrtf)
        np.testing.assert_array_equal(clip["onset_s"], scene.onset_s)
        for s in range(config.num_slots):
            expected = np.zeros(config.num_frames, bool)
            for on, off in zip(scene.onset_s[s], scene.offset_s[s]):
                if on >= 0:
                    expected |= (frame_n >= round(on * SR)) & (frame_n < round(off * SR))
            np.testing.assert_array_equal(clip["sounding"][:, s], expected)
        names = lambda m: ", ".join(classes.CLASS_NAMES[c] for c in clip["class_id"][m]) or "none"  # noqa: E731
        seen, heard = clip["onscreen_source"], clip["source_present"]
        np.testing.assert_array_equal(seen, clip["visible"].any(0))
        assert clip["caption"] == f"Visible sound: {names(heard & seen)}. Invisible sound: {names(heard & ~seen)}."


# ---------------------------------------------------------------------------------------------- camera


def test_camera_yaw_moves_a_static_source_the_other_way(hrtf):
    config = _config(duration_s=2.0)
    yaw = np.linspace(-10.0, 30.0, config.num_samples)  # camera turns left at 20 deg/s
    scene = _hand_scene(config, [dict(class_id=2, az=15.0, dist=1.5, events=[(0.0, 2.0)])], yaw_deg=yaw)
    clip = _render(scene, config, hrtf)
    frame_yaw = yaw[np.arange(config.num_frames) * config.samples_per_frame]
    np.testing.assert_allclose(clip["camera_yaw_deg"], frame_yaw, atol=1e-4)
    np.testing.assert_allclose(clip["relative_azimuth_deg"][:, 0], 15.0 - frame_yaw, atol=1e-4)
    # On screen it drifts monotonically to the right; the audio swings from left to right too.
    x = clip["screen_x"][:, 0]
    assert np.all(np.diff(x[np.isfinite(x)]) > 0) and np.isfinite(x).sum() > 30
    half = config.num_samples // 2
    assert _ild_db(clip["audio"][:, : half // 2]) > 1.0 and _ild_db(clip["audio"][:, -half // 2 :]) < -0.5


def test_relative_azimuth_is_world_minus_camera_yaw(hrtf):
    config = scenes.SceneConfig(duration_s=2.0, difficulty="hard", offscreen_prob=0.5)
    frames = np.arange(config.num_frames) * config.samples_per_frame
    for seed in range(4):
        scene = scenes.sample_scene(np.random.default_rng(seed), config)
        clip = scenes.render_clip(seed, config, hrtf)
        assert np.ptp(np.unwrap(np.radians(clip["camera_yaw_deg"]))) > 0  # the camera does drift
        present = clip["source_present"]
        rel = scene.azimuth_deg[:, frames].T - scene.camera_yaw_deg[frames][:, None]
        diff = np.mod(clip["relative_azimuth_deg"] - rel + 180, 360) - 180
        np.testing.assert_allclose(diff[:, present], 0.0, atol=1e-3)
        assert np.all(clip["relative_azimuth_deg"][:, ~present] == 0)


def test_easy_camera_is_static_and_backdrop_slides_when_the_camera_turns(hrtf):
    clip = scenes.render_clip(0, _config(), hrtf)
    assert np.ptp(clip["camera_yaw_deg"]) == 0
    config = _config(duration_s=2.0)
    yaw = np.linspace(0.0, 40.0, config.num_samples)
    scene = _hand_scene(config, [dict(class_id=0, az=180.0, events=[(0.0, 0.5)])], yaw_deg=yaw)
    video = _render(scene, config, hrtf)["video"]
    assert not np.array_equal(video[0], video[-1])


# ---------------------------------------------------------------------------------------------- off-screen


def test_offscreen_source_is_heard_not_seen(hrtf):
    config = _config(duration_s=3.0, offscreen_prob=1.0, difficulty="hard")
    spf = config.samples_per_frame
    off_only_energy, silent_energy = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        scene = scenes.sample_scene(rng, config)
        clip = scenes.render_scene(scene, config, hrtf, rng)
        s = config.num_slots - 1
        assert clip["source_present"][s] and not clip["onscreen_source"][s]
        assert not clip["visible"][:, s].any() and np.all(np.isnan(clip["screen_x"][:, s]))
        # Never drawn: dropping it from the scene leaves the video unchanged.
        hidden = dataclasses.replace(scene, class_id=np.where(np.arange(config.num_slots) == s, -1, scene.class_id))
        np.testing.assert_array_equal(clip["video"], _render(hidden, config, hrtf)["video"])
        # Out of the field of view (with margin) the whole clip.
        assert np.all(np.abs(clip["relative_azimuth_deg"][:, s]) > config.horizontal_fov_deg / 2 + 10)
        name = classes.CLASS_NAMES[clip["class_id"][s]]
        assert clip["caption"].endswith(f"Invisible sound: {name}.")
        assert name not in clip["caption"].split(". Invisible")[0]
        energy = np.sum(clip["audio"].astype(np.float64).reshape(2, -1, spf) ** 2, axis=(0, 2))
        on_screen_sounding = clip["sounding"][:, :s].any(1)
        # Frames whose neighbours are silent on screen: only the off-screen source can be heard there.
        quiet = ~on_screen_sounding & ~np.roll(on_screen_sounding, 1) & ~np.roll(on_screen_sounding, -1)
        quiet[[0, -1]] = False
        off_only_energy += energy[quiet & clip["sounding"][:, s]].tolist()
        silent_energy += energy[quiet & ~clip["sounding"][:, s] & ~np.roll(clip["sounding"][:, s], 1)].tolist()
    assert len(off_only_energy) > 5 and len(silent_energy) > 5
    assert np.median(off_only_energy) > 100 * np.median(silent_energy) + 1e-12

"""Pseudo-binaural placement and localisers: the sound goes where the object is in the picture."""

import numpy as np
import pytest

from data.pseudo_binaural import localise, placement
from tests.video import helpers as video_helpers
from v2a_jax.metrics import direction
from v2a_jax.spatial import ambisonics, hrtf

FS, FPS, SIZE, T = 16000, 10.0, 64, 30
N = int(T / FPS * FS)


@pytest.fixture(scope="module")
def decoder():
    return ambisonics.BinauralDecoder(hrtf.SphericalHeadHRTF(sample_rate=FS))


def square_truth_azimuth():
    """The test video's square centre x (frame i at i (size - SQUARE) / (T - 1) + SQUARE / 2) as an azimuth."""
    x = np.floor(np.arange(T) * (SIZE - video_helpers.SQUARE) / (T - 1)) + video_helpers.SQUARE / 2
    return x, np.degrees(np.arctan((SIZE / 2 - x) / (SIZE / 2)))  # 90-degree field of view: f = W / 2


def gated_noise():
    rng = np.random.default_rng(1)
    mono = rng.standard_normal(N) * 0.1
    mono[int(0.3 * N) : int(0.4 * N)] = 0.0  # a silent stretch: not sounding there
    return mono


@pytest.mark.parametrize("ambience", [0.0, 0.3])
def test_sound_follows_the_saliency_position_to_the_objects_side(decoder, ambience):
    frames = video_helpers.moving_square_frames(T, SIZE)
    x, y = localise.saliency_positions(frames)
    _, true_az = square_truth_azimuth()
    out = placement.place_source(
        gated_noise(),
        x,
        y,
        SIZE,
        SIZE,
        FPS,
        FS,
        decoder,
        placement.PlacementConfig(ambience_gain=ambience),
        np.random.default_rng(0),
    )
    assert out["audio"].shape == (2, N)
    sounding = out["sounding"][None]
    agreement = direction.left_right_agreement(
        out["audio"][None], true_az[None, :, None], sounding, FPS, FS, min_lateral_deg=10.0
    )
    assert agreement.count >= 15 and agreement.fraction >= 0.95, agreement
    # The stored truth is the direction used, within a pixel's worth of the square's true one.
    np.testing.assert_allclose(out["relative_azimuth_deg"][:, 0], true_az, atol=2.0)


def test_truth_features_match_binaural_synth(decoder):
    from data.binaural_synth import binaural_synth_dataset_builder as synth
    from data.binaural_synth import scenes

    frames = video_helpers.moving_square_frames(T, SIZE)
    out = placement.place_source(
        gated_noise(),
        *localise.saliency_positions(frames),
        SIZE,
        SIZE,
        FPS,
        FS,
        decoder,
        placement.PlacementConfig(),
        np.random.default_rng(0),
    )
    spec = synth.features(
        scenes.SceneConfig(duration_s=T / FPS, fps=FPS, image_size=SIZE, max_sources=1, offscreen_prob=0.0)
    )
    for key, value in out.items():
        if key == "audio":
            continue
        assert key in spec, key
        assert value.dtype == spec[key].np_dtype, key
        # onset_s is [S, E] with E onset slots per dataset: one (unknown onsets) here.
        assert value.shape == (spec[key].shape if key != "onset_s" else (1, 1)), key
    # Silence is not sounding; elsewhere the gated noise is.
    silent = (np.arange(T) >= 9) & (np.arange(T) < 12)
    assert not out["sounding"][silent, 0].any() and out["sounding"][~silent & (np.arange(T) != 8), 0].all()


def test_position_file_interpolates_and_marks_gaps(tmp_path):
    path = tmp_path / "clip.positions.csv"
    path.write_text("time_s,x,y\n0.0,0.25,0.5\n1.0,0.75,0.5\n1.5,,\n2.0,0.5,0.25\n")
    rows = localise.read_positions(str(path))
    x, y = localise.positions_at_frames(rows, 0.0, 25, FPS)
    np.testing.assert_allclose(x[:11], np.linspace(0.25, 0.75, 11))
    assert np.all(np.isnan(x[11:20]))  # between a known row and an empty one, and the empty row itself
    assert x[20] == 0.5 and y[20] == 0.25 and np.all(np.isnan(x[21:]))  # after the last row: none
    # From 1.0 s on, frames are offset by the window start.
    np.testing.assert_allclose(localise.positions_at_frames(rows, 1.0, 1, FPS)[0], [0.75])
    assert localise.positions_path("/a/b/clip.mp4") == "/a/b/clip.positions.csv"


@pytest.mark.parametrize("mode", ["crop", "letterbox"])
def test_stored_pixels_follow_the_frame_fit(mode):
    import av

    from data.video_folder import media

    # A white dot at a known fraction of a 16:9 source; fit it as the builder does and find it again.
    source = np.zeros((90, 160, 3), np.uint8)
    source[60:66, 120:126] = 255  # centre (123, 63) of 160 x 90: fractions (0.76875, 0.7)
    stored = media.fit_frame(av.VideoFrame.from_ndarray(source, format="rgb24"), 48, 64, mode)
    w = stored[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:48, :64] + 0.5
    x, y = localise.to_stored_pixels(123 / 160, 63 / 90, 90, 160, 48, 64, mode)
    assert x == pytest.approx((w * xs).sum() / w.sum(), abs=0.5)
    assert y == pytest.approx((w * ys).sum() / w.sum(), abs=0.5)


@pytest.mark.parametrize(
    "text, match",
    [
        ("t,x,y\n0,0.5,0.5\n", "header"),
        ("time_s,x,y\n0,0.5,abc\n", ":2:"),
        ("time_s,x,y\n0,1.5,0.5\n", r"\[0, 1\]"),
        ("time_s,x,y\n", "no positions"),
    ],
)
def test_bad_position_files_name_the_file_and_line(tmp_path, text, match):
    path = tmp_path / "bad.positions.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        localise.read_positions(str(path))
    with pytest.raises(ValueError, match="no such position file"):
        localise.read_positions(str(tmp_path / "missing.positions.csv"))

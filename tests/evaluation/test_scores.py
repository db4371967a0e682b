"""Row scoring: the truth against itself, and mirrored audio against the mirrored truth."""

import numpy as np
import pytest

from v2a_jax.evaluation import baselines, scores

RATE, FPS = 16000, 25.0


@pytest.fixture(scope="module")
def truth():
    rng = np.random.default_rng(0)
    n = RATE
    mono = rng.normal(0.0, 0.1, size=(2, n)) * (np.arange(n) % 4000 < 2000)  # bursts at 0, 0.25, 0.5, 0.75 s
    azimuth = np.array([40.0, -70.0])
    audio = baselines.render(mono, azimuth, RATE)
    frames = 25
    onsets = np.full((2, 1, 4), -1.0, np.float32)
    onsets[:, 0] = [0.0, 0.25, 0.5, 0.75]
    return scores.Truth(
        audio,
        np.broadcast_to(azimuth[:, None, None], (2, frames, 1)).copy(),
        np.zeros((2, frames, 1)),
        np.ones((2, frames, 1), bool),
        onsets,
    )


def test_truth_scores_zero_distance_and_its_own_direction(truth):
    s = scores.score(truth.audio, truth, fps=FPS, sample_rate=RATE)
    assert s["stft"] == 0 and s["delta_itd_us"] == 0 and s["delta_ild_db"] == 0
    assert s["direction_error_deg"] < 3 and s["left_right_agreement"] == 1.0
    assert abs(s["lateral_overshoot_deg"]) < 3
    assert s["av_sync_offset_s"] < 0.02 and s["onsets_matched"] >= 6
    # The spherical head's rendering gives the time and the level cue one side.
    assert s["cue_agreement_frames"] > 0 and s["cue_agreement"] == 1.0


def test_mirrored_audio_against_mirrored_truth_scores_as_the_original(truth):
    original = scores.score(truth.audio, truth, fps=FPS, sample_rate=RATE)
    mirrored_truth = truth.mirrored()
    np.testing.assert_array_equal(mirrored_truth.azimuth_deg, -truth.azimuth_deg)
    mirrored = scores.score(truth.audio[:, ::-1], mirrored_truth, fps=FPS, sample_rate=RATE)
    assert mirrored == pytest.approx(original, nan_ok=True)
    wrong = scores.score(truth.audio[:, ::-1], truth, fps=FPS, sample_rate=RATE)
    assert wrong["left_right_agreement"] == 0.0 and wrong["direction_error_deg"] > 70


class _LevelEmbedding:
    """A stand-in AudioEmbedding: the clip's RMS and peak as its embedding, two made-up class probabilities."""

    sample_rate = RATE
    multi_label = True

    def embed(self, audio):
        rms, peak = np.sqrt(np.mean(audio**2, axis=1)), np.abs(audio).max(axis=1)
        return np.stack([rms, peak], axis=1), np.stack([np.clip(10 * rms, 0, 1), np.clip(peak, 0, 1)], axis=1)


def test_distribution_metrics_per_ear_and_mid_with_an_embedding(truth):
    s = scores.score(truth.audio, truth, fps=FPS, sample_rate=RATE, embedding=_LevelEmbedding())
    for channel in ("left", "right", "mid"):
        assert s[f"fd_{channel}"] == pytest.approx(0.0, abs=1e-12) and s[f"kl_{channel}"] == pytest.approx(0.0)
        assert 1.0 <= s[f"is_{channel}"] <= 2.0
    louder = scores.score(2 * truth.audio, truth, fps=FPS, sample_rate=RATE, embedding=_LevelEmbedding())
    assert louder["fd_mid"] > 0 and louder["kl_mid"] > 0

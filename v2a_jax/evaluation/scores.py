"""Every metric of one row of the evaluation table: a set of binaural clips against the clips' reference audio
and, where the dataset has it, their ground truth (numpy).

  binaural      v2a_jax.metrics.binaural.binaural_metrics against the reference audio (stft, env, mag, phs,
                snr_db, lsd_db, delta_ild_db, delta_band_ild_db, delta_iacc, delta_itd_us, itd_valid_frames), and
                the same STFT / ENV / Mag / PHS / SNR as the FAIR-Play papers report them (peak-normalised clips,
                suffix _peak_norm: binaural.peak_normalised_metrics);
  reference     the lateral angle of the row against that of the reference, by one estimator on both
                (metrics.direction.reference_direction): mean difference and left/right agreement, from the ITD
                and (suffix _ild) from the ILD (ref_direction_diff_deg, ref_left_right_agreement, with frame counts);
  cues          whether the row's ITD and ILD name the same side (metrics.direction.cue_agreement: cue_agreement,
                cue_agreement_frames), needing neither reference nor truth;
  direction     (ground truth) lateral-angle error, left/right agreement and the angle's overshoot where the
                side is right, per video frame with one sounding source, and the per-clip correlation of
                estimated and true lateral angle (metrics.direction), with their frame / clip counts, from the
                ITD and (suffix _ild) from the ILD;
  sync          (ground truth) av_sync_offset_s of detected onsets against the true onsets, with match /
                detection counts;
  distribution  FD / KL / IS per ear and on the mid channel (metrics.distribution), only with an embedding.
A dataset without the ground truth (recordings) gets every reference-based metric and no direction / sync keys
(`omitted_without_truth` says why, for the report).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from v2a_jax.classifier.embedding import AudioEmbedding
from v2a_jax.metrics import binaural, direction, distribution
from v2a_jax.spatial.itd_map import ItdMap

# The ground-truth features each truth-based metric group reads (names as the loader yields them).
DIRECTION_TRUTH = ("relative_azimuth_deg", "elevation_deg", "sounding")
SYNC_TRUTH = ("onset_s",)
OMITTED = {
    "direction": "the dataset stores no ground-truth source directions: the direction error, left/right agreement "
    "and lateral r against the truth are omitted (the 'vs rec' columns compare each row's direction "
    "with the recording's, by the same estimator)",
    "sync": "the dataset stores no ground-truth onsets: the audio-visual sync offset is omitted",
}


@dataclasses.dataclass(frozen=True)
class Truth:
    """What a row is scored against: reference audio [B, 2, N]; where the dataset has them, azimuth / elevation
    (SOFA degrees) and sounding [B, T, S] (all three or none) and onsets [B, S, E] (seconds, -1 = none)."""

    audio: np.ndarray
    azimuth_deg: np.ndarray | None = None
    elevation_deg: np.ndarray | None = None
    sounding: np.ndarray | None = None
    onsets_s: np.ndarray | None = None

    @classmethod
    def from_features(cls, features: dict[str, np.ndarray]) -> Truth:
        """From the loader's batch keys: 'audio' and whatever of DIRECTION_TRUTH / SYNC_TRUTH is there."""
        has_direction = all(k in features for k in DIRECTION_TRUTH)
        direction_truth = [features[k] if has_direction else None for k in DIRECTION_TRUTH]
        return cls(features["audio"], *direction_truth, features.get("onset_s"))

    @property
    def has_direction(self) -> bool:
        return self.azimuth_deg is not None

    def mirrored(self) -> Truth:
        """The truth of the horizontally mirrored scene: the ears swapped and azimuths negated."""
        azimuth = None if self.azimuth_deg is None else -self.azimuth_deg
        return dataclasses.replace(self, audio=self.audio[:, ::-1], azimuth_deg=azimuth)


def omitted_without_truth(truth: Truth) -> dict[str, str]:
    """{metric group: why it is left out} for the truth-based groups `truth` cannot score."""
    missing = {"direction": not truth.has_direction, "sync": truth.onsets_s is None}
    return {k: OMITTED[k] for k, absent in missing.items() if absent}


def score(
    audio: np.ndarray,
    truth: Truth,
    *,
    fps: float,
    sample_rate: int,
    itd_map: ItdMap = direction.DEFAULT_MAP,
    embedding: AudioEmbedding | None = None,
) -> dict[str, float]:
    """All metrics (module docstring) of audio [B, 2, N] against `truth`, as one flat dict of floats; ITDs become
    angles through `itd_map` (the dataset's head: spatial/itd_map.dataset_map; the evaluator passes it)."""
    out = binaural.binaural_metrics(audio, truth.audio, sample_rate)
    out.update(binaural.peak_normalised_metrics(audio, truth.audio))
    for cue, suffix in (("itd", ""), ("ild", "_ild")):
        ref = direction.reference_direction(audio, truth.audio, fps, sample_rate, itd_map=itd_map, cue=cue)
        out.update(
            {
                f"ref_direction_diff{suffix}_deg": ref.difference_deg,
                f"ref_frames{suffix}": float(ref.frames),
                f"ref_left_right_agreement{suffix}": ref.agreement,
                f"ref_agreement_frames{suffix}": float(ref.sided_frames),
            }
        )
    sides = direction.cue_agreement(audio, fps, sample_rate, itd_map=itd_map)
    out.update({"cue_agreement": sides.fraction, "cue_agreement_frames": float(sides.count)})
    if truth.has_direction:
        cues = (truth.azimuth_deg, truth.sounding, fps, sample_rate)
        for cue, suffix in (("itd", ""), ("ild", "_ild")):
            kwargs = dict(true_elevation_deg=truth.elevation_deg, itd_map=itd_map, cue=cue)
            error = direction.direction_error(audio, *cues, **kwargs)
            agree = direction.left_right_agreement(audio, *cues, **kwargs)
            corr = direction.lateral_correlation(audio, *cues, **kwargs)
            out.update(
                {
                    f"direction_error{suffix}_deg": error.mean_deg,
                    f"direction_frames{suffix}": float(error.count),
                    f"left_right_agreement{suffix}": agree.fraction,
                    f"agreement_frames{suffix}": float(agree.count),
                    f"lateral_overshoot{suffix}_deg": agree.overshoot_deg,
                    f"lateral_r{suffix}": corr.r,
                    f"lateral_r_clips{suffix}": float(corr.num_clips),
                }
            )
    if truth.onsets_s is not None:
        sync = direction.av_sync_offset(audio, truth.onsets_s, sample_rate)
        out.update(
            {
                "av_sync_offset_s": sync.mean_offset_s,
                "onsets_matched": float(sync.n_matched),
                "onsets_detected": float(sync.n_detected),
            }
        )
    if embedding is not None:
        out.update(distribution.distribution_metrics(embedding, audio, truth.audio, sample_rate))
    return out

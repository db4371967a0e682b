"""Every metric of one row of the evaluation table: a set of binaural clips against the clips' truth (numpy).

  binaural      v2a_jax.metrics.binaural.binaural_metrics against the reference audio (stft, env, mag, phs,
                snr_db, lsd_db, delta_ild_db, delta_band_ild_db, delta_iacc, delta_itd_us, itd_valid_frames);
  direction     lateral-angle error and left/right agreement per video frame with one sounding source, and
                the per-clip correlation of estimated and true lateral angle (metrics.direction), with their
                frame / clip counts, from the ITD and (suffix _ild) from the ILD;
  sync          av_sync_offset_s of detected onsets against the true onsets, with match / detection counts;
  distribution  FD / KL / IS per ear and on the mid channel (metrics.distribution), only with an embedding.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from v2a_jax.classifier.embedding import AudioEmbedding
from v2a_jax.metrics import binaural, direction, distribution


@dataclasses.dataclass(frozen=True)
class Truth:
    """What a row is scored against: reference audio [B, 2, N]; azimuth / elevation (SOFA degrees) and sounding
    [B, T, S]; onsets [B, S, E] (seconds, -1 = none)."""

    audio: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    sounding: np.ndarray
    onsets_s: np.ndarray

    def mirrored(self) -> "Truth":
        """The truth of the horizontally mirrored scene: azimuths negated and the ears swapped."""
        return dataclasses.replace(self, audio=self.audio[:, ::-1], azimuth_deg=-self.azimuth_deg)


def score(audio: np.ndarray, truth: Truth, *, fps: float, sample_rate: int,
          embedding: AudioEmbedding | None = None) -> dict[str, float]:
    """All metrics (module docstring) of audio [B, 2, N] against `truth`, as one flat dict of floats."""
    out = binaural.binaural_metrics(audio, truth.audio, sample_rate)
    cues = (truth.azimuth_deg, truth.sounding, fps, sample_rate)
    for cue, suffix in (("itd", ""), ("ild", "_ild")):
        error = direction.direction_error(audio, *cues, true_elevation_deg=truth.elevation_deg, cue=cue)
        agree = direction.left_right_agreement(audio, *cues, true_elevation_deg=truth.elevation_deg, cue=cue)
        corr = direction.lateral_correlation(audio, *cues, true_elevation_deg=truth.elevation_deg, cue=cue)
        out.update({f"direction_error{suffix}_deg": error.mean_deg, f"direction_frames{suffix}": float(error.count),
                    f"left_right_agreement{suffix}": agree.fraction, f"agreement_frames{suffix}": float(agree.count),
                    f"lateral_r{suffix}": corr.r, f"lateral_r_clips{suffix}": float(corr.num_clips)})
    sync = direction.av_sync_offset(audio, truth.onsets_s, sample_rate)
    out.update({
        "av_sync_offset_s": sync.mean_offset_s, "onsets_matched": float(sync.n_matched),
        "onsets_detected": float(sync.n_detected),
    })
    if embedding is not None:
        out.update(distribution.distribution_metrics(embedding, audio, truth.audio, sample_rate))
    return out

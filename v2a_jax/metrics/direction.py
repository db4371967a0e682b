"""Direction and timing metrics of generated binaural audio (numpy, CPU): against the synthetic benchmark's ground
truth, or, where a dataset has none, against the reference recording.

- Direction: the lateral angle of the sound, estimated per video frame from its ITD (v2a_jax.spatial.itd.frame_itd:
  the cross-spectrum summed over +-2 video frames, PHAT-beta weighted) through an ITD-to-angle map of the
  dataset's head (`itd_map`: v2a_jax.spatial.itd_map; Woodworth's sphere by default) (or from its ILD:
  `lateral_estimate`), compared with the true source azimuth (`direction_error`,
  `left_right_agreement`, `lateral_correlation`) or with the same estimate of the recording
  (`reference_direction`: no ground truth needed); whether a clip's ITD and ILD name the same side
  (`cue_agreement`: needs neither).
- Timing: onsets detected in the audio by spectral flux, compared with the true event onsets
  (`av_sync_offset`, an analogue of the DeSync metric that needs no Synchformer).

Angles follow SOFA/AES69: azimuth in degrees counter-clockwise from straight ahead, +90 = listener's left.
Interaural cues only determine the LATERAL angle (angle from the median plane, in [-90, 90]): a source at
azimuth az and one at 180 - az (front/back mirror images) give the same ITD, so every comparison here folds
the true direction to its lateral angle asin(sin(az) cos(el)).

Waveforms are `[B, 2, N]` (0 = left, 1 = right), 16 kHz by default.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft
import scipy.signal

from v2a_jax.metrics import binaural
from v2a_jax.spatial import itd
from v2a_jax.spatial.itd_map import ItdMap

# The map of a head nobody recorded (itd_map.dataset_map's fallback): Woodworth's 8.75 cm sphere.
DEFAULT_MAP = ItdMap.woodworth()
# Broadband ILD at 90 degrees for the ILD-only fallback of `azimuth_from_cues`: the Brown-Duda spherical-head
# model gives at most about 11 dB for white noise at 16 kHz (peaking near 75 degrees).
ILD_90_DB = 11.0
MIN_LATERAL_DEG = 5.0  # left_right_agreement ignores frames whose true source is this close to the median plane
# left_right_agreement: an estimate this close to the median plane names no side (identical ears measure an
# ITD a rounding error off 0, which must not count as a side; 2 degrees ~ 18 us ~ 0.3 samples).
CENTRE_DEAD_ZONE_DEG = 2.0
# cue_agreement: a frame's ILD names a side from this level difference on (the coarse law ILD = ILD_90_DB
# sin(lateral) gives 1 dB at about MIN_LATERAL_DEG, where the ITD's side starts to count).
MIN_CUE_ILD_DB = 1.0
# cue_agreement reads the ILD above this frequency (duplex theory: the head shadows only wavelengths shorter than
# itself, so below it a room's independent per-ear tails, not the head, set the level difference).
CUE_ILD_LOW_HZ = 1500.0
# high_band_ild_db's zero padding: longer than the two-pass high-pass's response (a few ms), so the FFT's circular
# filtering does not wrap one end of the clip onto the other.
ZERO_PHASE_PAD = 1024

# Onset detection: log-compressed spectral flux on the 2.5D-Visual-Sound STFT grid (10 ms hop at 16 kHz).
ONSET_N_FFT = 512
ONSET_HOP = 160
ONSET_WIN_LENGTH = 400
ONSET_COMPRESSION = 1000.0  # log1p(gamma * |S|) with |S| = 1 for a full-scale sine: knee at -60 dBFS
ONSET_THRESHOLD = 0.3  # peaks below this fraction of the clip's strongest flux peak are ignored
ONSET_PEAK_WINDOW_S = 0.03  # a peak must be the maximum within +-30 ms
ONSET_MIN_INTERVAL_S = 0.05  # onsets closer than 50 ms are merged (the stronger one is kept)
MIN_CLIP_FRAMES = 5  # lateral_correlation: a clip needs this many evaluated frames
SYNC_MAX_OFFSET_S = 0.5  # detected onsets farther than this from every true onset are spurious, not late


class DirectionResult(NamedTuple):
    """per_frame_deg: [B, T] absolute lateral error (NaN where not evaluated); mean_deg: mean over the
    evaluated frames (NaN if none); count: number of evaluated frames."""

    per_frame_deg: np.ndarray
    mean_deg: float
    count: int


class AgreementResult(NamedTuple):
    """fraction: share of evaluated frames with the correct side (NaN if none); count: evaluated frames."""

    fraction: float
    count: int


class SideResult(NamedTuple):
    """fraction: share of evaluated frames with the correct side (NaN if none); count: evaluated frames;
    overshoot_deg: mean |estimated| - |true| lateral angle over those of them with the correct side (> 0: too
    wide; NaN if none)."""

    fraction: float
    count: int
    overshoot_deg: float


class CorrelationResult(NamedTuple):
    """r: Pearson correlation over clips (NaN with < 3 clips or a constant estimate); num_clips: clips used."""

    r: float
    num_clips: int


class ReferenceDirectionResult(NamedTuple):
    """Generated against recorded direction, both by the same estimator. difference_deg: mean |lateral_pred -
    lateral_ref| over `frames` (valid in both; NaN if none); agreement: share of the `sided_frames` (those of
    `frames` whose recorded lateral angle is at least MIN_LATERAL_DEG off the median plane) where the generated
    side is the recorded one (NaN if none)."""

    difference_deg: float
    frames: int
    agreement: float
    sided_frames: int


class SyncResult(NamedTuple):
    """mean_offset_s: mean |detected - nearest true| onset over matched detections (NaN if none);
    n_matched: detections within the matching window; n_detected: all detections."""

    mean_offset_s: float
    n_matched: int
    n_detected: int


def azimuth_from_cues(itd_s, ild_db=None, itd_map: ItdMap = DEFAULT_MAP, ild_90_db: float = ILD_90_DB) -> np.ndarray:
    """Lateral angle (degrees, [-90, 90], + = left) from interaural cues.

    ITD: through `itd_map` (ItdMap.lateral_deg: the head's table inverted; ITDs beyond it map to +-90).
    ILD (optional): used only where itd_s is NaN, through the coarse law ILD = ild_90_db sin theta, clipped.
    Front/back: a lateral angle theta is consistent with azimuths theta and 180 - theta; this returns theta.

    Args:
      itd_s: `[...]` ITD in seconds (> 0: left ear leads); NaN = unavailable.
      ild_db: optional `[...]` broadcastable broadband ILD in dB (> 0: left louder).
    Returns:
      `[...]` degrees; NaN where no cue is available.
    """
    itd_s = np.asarray(itd_s, dtype=np.float64)
    lateral = itd_map.lateral_deg(itd_s)
    if ild_db is not None:
        from_ild = np.degrees(np.arcsin(np.clip(np.asarray(ild_db, dtype=np.float64) / ild_90_db, -1.0, 1.0)))
        lateral = np.where(np.isnan(itd_s), from_ild, lateral)
    return lateral


def lateral_angle_deg(azimuth_deg, elevation_deg=0.0) -> np.ndarray:
    """Lateral angle asin(sin(az) cos(el)) in degrees, [-90, 90]: the direction component binaural cues see."""
    az, el = np.radians(np.asarray(azimuth_deg, np.float64)), np.radians(np.asarray(elevation_deg, np.float64))
    return np.degrees(np.arcsin(np.clip(np.sin(az) * np.cos(el), -1.0, 1.0)))


def single_source_lateral_deg(azimuth_deg, sounding, elevation_deg=0.0) -> tuple[np.ndarray, np.ndarray]:
    """The truth the direction metrics compare with: (lateral angle of the sounding source `[B, T]`, meaningful where
    the mask is set; mask `[B, T]` of the frames with exactly one sounding source), from `[B, T, S]` azimuths,
    sounding flags and elevations (degrees; elevation broadcast, 0 by default)."""
    lateral = np.sum(np.where(sounding, lateral_angle_deg(azimuth_deg, elevation_deg), 0.0), axis=-1)
    return lateral, np.sum(sounding, axis=-1) == 1


def _video_frames(audio, num_frames: int, fps: float, sample_rate: int):
    """[B, 2, N] -> [B, 2, T, L]: the audio under each video frame [t / fps, (t + 1) / fps), zero-padded (a jax
    array in, a jax array out; numpy otherwise)."""
    xp = jnp if isinstance(audio, jax.Array) else np
    frame_len = int(round(sample_rate / fps))
    starts = np.round(np.arange(num_frames) * sample_rate / fps).astype(np.int64)
    needed = int(starts[-1]) + frame_len if num_frames else 0
    padded = xp.pad(audio, [(0, 0), (0, 0), (0, max(0, needed - audio.shape[-1]))])
    return padded[..., starts[:, None] + np.arange(frame_len)]


def itd_lateral_deg(
    audio,
    num_frames: int,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    itd_map: ItdMap = DEFAULT_MAP,
) -> np.ndarray:
    """Lateral angle (degrees, + = left) per video frame from the ITD of the audio under it and its two
    neighbours on each side (`itd.frame_itd`, lags within the head's +-0.69 ms) through `itd_map`.
    `[B, 2, N]` -> `[B, num_frames]`; silent frames give 0."""
    lag = itd.frame_itd(
        jnp.asarray(audio, jnp.float32),
        int(round(sample_rate / fps)),
        itd.HEAD_MAX_LAG_S * sample_rate,
        sample_rate,
        num_frames=num_frames,
    )
    return azimuth_from_cues(np.asarray(lag) / sample_rate, itd_map=itd_map)


CUES = ("itd", "ild")


def lateral_estimate(
    audio,
    num_frames: int,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    itd_map: ItdMap = DEFAULT_MAP,
    cue: str = "itd",
) -> tuple[np.ndarray, np.ndarray]:
    """The direction estimator every metric here uses: lateral angle (degrees, + = left) per video frame and
    whether the frame is measurable (both ears above `energy_threshold_db`). cue 'itd': `itd_lateral_deg`;
    'ild': the frame's broadband ILD through the coarse law ILD = ILD_90_DB sin(lateral) (`azimuth_from_cues`),
    for audio whose fine structure cannot be trusted. `[B, 2, N]` -> ([B, num_frames], [B, num_frames] bool)."""
    if cue not in CUES:
        raise ValueError(f"direction: cue={cue!r}, expected one of {CUES}")
    audio = binaural.as_binaural(audio, "audio")
    frames = _video_frames(audio, num_frames, fps, sample_rate)
    valid = binaural.frame_validity(frames, energy_threshold_db)
    if cue == "itd":
        estimate = itd_lateral_deg(audio, num_frames, fps, sample_rate, itd_map)
    else:
        ild = binaural.ild_db(np.moveaxis(frames, -3, -2))  # [B, T]
        estimate = azimuth_from_cues(np.full(ild.shape, np.nan), ild)
    return estimate, valid


def _side(lateral_deg: np.ndarray) -> np.ndarray:
    """-1 / 0 / +1: right, no side (within CENTRE_DEAD_ZONE_DEG of the median plane), left."""
    return np.where(np.abs(lateral_deg) < CENTRE_DEAD_ZONE_DEG, 0.0, np.sign(lateral_deg))


def _lateral_per_frame(
    pred_audio,
    true_azimuth_deg,
    sounding,
    fps,
    sample_rate,
    true_elevation_deg,
    energy_threshold_db,
    itd_map: ItdMap,
    cue: str = "itd",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimated (`lateral_estimate`) and true lateral angle [B, T] and the mask of frames with exactly one
    sounding source and a measurable cue."""
    audio = binaural.as_binaural(pred_audio, "pred_audio")
    azimuth = np.asarray(true_azimuth_deg, dtype=np.float64)
    sounding = np.asarray(sounding, dtype=bool)
    if audio.ndim != 3 or azimuth.ndim != 3:
        raise ValueError(
            f"direction: expected pred_audio [B, 2, N] and true_azimuth_deg [B, T, S], got "
            f"{audio.shape} and {azimuth.shape}"
        )
    if sounding.shape != azimuth.shape or audio.shape[0] != azimuth.shape[0]:
        raise ValueError(
            f"direction: shapes disagree: pred_audio {audio.shape}, true_azimuth_deg {azimuth.shape}, "
            f"sounding {sounding.shape}"
        )
    elevation = 0.0 if true_elevation_deg is None else np.broadcast_to(true_elevation_deg, azimuth.shape)
    estimate, valid = lateral_estimate(audio, azimuth.shape[1], fps, sample_rate, energy_threshold_db, itd_map, cue)
    true_lateral, one_source = single_source_lateral_deg(azimuth, sounding, elevation)
    return estimate, true_lateral, valid & one_source


def direction_error(
    pred_audio,
    true_azimuth_deg,
    sounding,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    true_elevation_deg=None,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    itd_map: ItdMap = DEFAULT_MAP,
    cue: str = "itd",
) -> DirectionResult:
    """Absolute lateral-angle error of generated audio per video frame with exactly one sounding source.

    For video frame t the audio in [t / fps, (t + 1) / fps) and its two neighbours on each side give one ITD
    (`itd.frame_itd`, lags within the head's +-0.69 ms), mapped to a lateral angle through `itd_map` (ITD
    only; cue='ild' uses the frame's broadband ILD instead, see `_lateral_per_frame`). The truth is the sounding
    source's azimuth folded to the lateral angle asin(sin(az) cos(el)) (elevation 0 unless given). Frames with
    0 or >= 2 sounding sources, or whose audio is below `energy_threshold_db` in either ear, are skipped.

    Args:
      pred_audio: `[B, 2, N]`.
      true_azimuth_deg, sounding: `[B, T, S]` (SOFA azimuth in degrees; bool); true_elevation_deg likewise.
      fps: video frame rate.
    Returns:
      DirectionResult(per_frame_deg [B, T], mean_deg, count).
    """
    estimate, truth, mask = _lateral_per_frame(
        pred_audio,
        true_azimuth_deg,
        sounding,
        fps,
        sample_rate,
        true_elevation_deg,
        energy_threshold_db,
        itd_map,
        cue,
    )
    err = np.where(mask, np.abs(estimate - truth), np.nan)
    count = int(mask.sum())
    return DirectionResult(err, float(np.nanmean(err)) if count else float("nan"), count)


def left_right_agreement(
    pred_audio,
    true_azimuth_deg,
    sounding,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    true_elevation_deg=None,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    min_lateral_deg: float = MIN_LATERAL_DEG,
    itd_map: ItdMap = DEFAULT_MAP,
    cue: str = "itd",
) -> SideResult:
    """Fraction of evaluated frames where the estimated side (sign of the lateral angle) matches the truth, and
    how much wider than the truth the angle is on those frames.

    Frames as in `direction_error`, further restricted to |true lateral angle| >= min_lateral_deg (default
    5 degrees): near the median plane the side is not meaningful. An estimate within CENTRE_DEAD_ZONE_DEG of the
    median plane names no side and counts as wrong (so identical ears score 0). The overshoot separates what
    `direction_error` mixes: side errors (the fraction), a bias of the angle towards the side (guidance, for one,
    widens it) and scatter.

    Returns:
      SideResult(fraction, count, overshoot_deg).
    """
    estimate, truth, mask = _lateral_per_frame(
        pred_audio,
        true_azimuth_deg,
        sounding,
        fps,
        sample_rate,
        true_elevation_deg,
        energy_threshold_db,
        itd_map,
        cue,
    )
    mask = mask & (np.abs(truth) >= min_lateral_deg)
    count = int(mask.sum())
    agree = _side(estimate)[mask] == np.sign(truth[mask])
    overshoot = (np.abs(estimate[mask]) - np.abs(truth[mask]))[agree]
    return SideResult(
        float(agree.mean()) if count else float("nan"),
        count,
        float(overshoot.mean()) if overshoot.size else float("nan"),
    )


def reference_direction(
    pred_audio,
    ref_audio,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    min_lateral_deg: float = MIN_LATERAL_DEG,
    itd_map: ItdMap = DEFAULT_MAP,
    cue: str = "itd",
) -> ReferenceDirectionResult:
    """Does the generated sound come from where the recorded one does? Both are measured by `lateral_estimate`
    (the same estimator, same cue) per video frame of the clips (T = N * fps / sample_rate, rounded down); no
    ground truth needed. Frames where either is below `energy_threshold_db` are skipped; the side agreement
    further skips frames whose recorded lateral angle is within `min_lateral_deg` of the median plane (no side
    to agree with), and a generated estimate within CENTRE_DEAD_ZONE_DEG of it names no side (counts as wrong),
    as in `left_right_agreement`. The recording itself scores difference 0 and agreement 1.

    Args:
      pred_audio, ref_audio: `[B, 2, N]`.
    Returns:
      ReferenceDirectionResult(difference_deg, frames, agreement, sided_frames), pooled over the batch.
    """
    pred = binaural.as_binaural(pred_audio, "pred_audio")
    ref = binaural.as_binaural(ref_audio, "ref_audio")
    if pred.ndim != 3 or pred.shape != ref.shape:
        raise ValueError(
            f"reference_direction: expected pred_audio and ref_audio [B, 2, N] of one shape, got "
            f"{pred.shape} and {ref.shape}"
        )
    num_frames = int(pred.shape[-1] * fps // sample_rate)
    est_pred, valid_pred = lateral_estimate(pred, num_frames, fps, sample_rate, energy_threshold_db, itd_map, cue)
    est_ref, valid_ref = lateral_estimate(ref, num_frames, fps, sample_rate, energy_threshold_db, itd_map, cue)
    both = valid_pred & valid_ref
    sided = both & (np.abs(est_ref) >= min_lateral_deg)
    frames, sided_frames = int(both.sum()), int(sided.sum())
    difference = float(np.abs(est_pred - est_ref)[both].mean()) if frames else float("nan")
    agreement = float((_side(est_pred)[sided] == np.sign(est_ref[sided])).mean()) if sided_frames else float("nan")
    return ReferenceDirectionResult(difference, frames, agreement, sided_frames)


def high_band_ild_db(audio, num_frames: int, fps: float, sample_rate: int = binaural.DEFAULT_SAMPLE_RATE) -> jax.Array:
    """ILD (dB, > 0: left louder) per video frame of the audio above CUE_ILD_LOW_HZ, its power summed over the
    frames the ITD reads (the frame and `itd.CONTEXT_FRAMES` on each side): the level cue that the head, not the
    room, sets (`cue_agreement` says why). The high-pass is a 4th-order Butterworth run forwards and backwards
    (zero phase, power response |H|^2), applied in the frequency domain of the clip zero-padded by
    ZERO_PHASE_PAD samples, so that it traces under jit (the localisation targets compute it inside the train
    step). `[B, 2, N]` -> `[B, num_frames]` float32 jax array."""
    audio = jnp.asarray(audio, jnp.float32)
    n = audio.shape[-1]
    size = scipy.fft.next_fast_len(n + ZERO_PHASE_PAD, real=True)
    sos = scipy.signal.butter(4, CUE_ILD_LOW_HZ, "highpass", fs=sample_rate, output="sos")
    _, response = scipy.signal.freqz_sos(sos, worN=np.fft.rfftfreq(size, 1.0 / sample_rate), fs=sample_rate)
    gain = jnp.asarray(np.abs(response) ** 2, jnp.float32)
    high = jnp.fft.irfft(jnp.fft.rfft(audio, n=size) * gain, n=size)[..., :n]
    power = jnp.mean(_video_frames(high, num_frames, fps, sample_rate) ** 2, axis=-1)  # [B, 2, T]
    c = itd.CONTEXT_FRAMES
    padded = jnp.pad(power, [(0, 0), (0, 0), (c, c)])
    context = sum(padded[..., i : i + num_frames] for i in range(2 * c + 1))
    return binaural.power_ild_db(context[:, 0], context[:, 1])


def cue_agreement(
    audio,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    min_lateral_deg: float = MIN_LATERAL_DEG,
    min_ild_db: float = MIN_CUE_ILD_DB,
    itd_map: ItdMap = DEFAULT_MAP,
) -> AgreementResult:
    """Do a clip's two interaural cues name the same side? Per video frame (T = N * fps / sample_rate, rounded
    down) the ITD-implied lateral angle (`lateral_estimate`, cue 'itd') and the high-band ILD over the frames
    the ITD reads (`high_band_ild_db`); a frame counts where both are confident: measurable in both ears, the angle
    at least `min_lateral_deg` off the median plane and |ILD| at least `min_ild_db`. A real source to one side gives
    both cues that side; audio whose time cue says left while its level says right is not a sound from anywhere.
    The broadband ILD would not do: on reverberant clips it is set by the ears' independent low-frequency tails
    (binaural_synth's ground truth: its side disagrees with the ITD's in about 40 % of frames, the high band's in
    about 20 %; experiments/RESULTS.md). Needs no reference or ground truth.

    Args:
      audio: `[B, 2, N]`.
    Returns:
      AgreementResult(fraction of counted frames whose two sides agree (NaN if none), count), pooled over the batch.
    """
    audio = binaural.as_binaural(audio, "audio")
    if audio.ndim != 3:
        raise ValueError(f"cue_agreement: expected audio [B, 2, N], got {audio.shape}")
    num_frames = int(audio.shape[-1] * fps // sample_rate)
    lateral, valid = lateral_estimate(audio, num_frames, fps, sample_rate, energy_threshold_db, itd_map, "itd")
    ild = np.asarray(high_band_ild_db(audio, num_frames, fps, sample_rate), np.float64)
    confident = valid & (np.abs(lateral) >= min_lateral_deg) & (np.abs(ild) >= min_ild_db)
    count = int(confident.sum())
    agree = np.sign(lateral[confident]) == np.sign(ild[confident])
    return AgreementResult(float(agree.mean()) if count else float("nan"), count)


def lateral_correlation(
    pred_audio,
    true_azimuth_deg,
    sounding,
    fps: float,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    true_elevation_deg=None,
    energy_threshold_db: float = binaural.ENERGY_THRESHOLD_DB,
    min_frames: int = MIN_CLIP_FRAMES,
    itd_map: ItdMap = DEFAULT_MAP,
    cue: str = "itd",
) -> CorrelationResult:
    """Does the generated direction move with the source from clip to clip? Pearson r over clips between the
    estimated and the true lateral angle, each averaged over the clip's evaluated frames (frames as in
    `direction_error`; clips with fewer than `min_frames` of them are skipped).

    Complements `left_right_agreement`: a model that puts every sound on one side scores the share of clips
    whose source is on that side there, but r ~ 0 here; a right trend with a constant offset scores high here.
    """
    estimate, truth, mask = _lateral_per_frame(
        pred_audio,
        true_azimuth_deg,
        sounding,
        fps,
        sample_rate,
        true_elevation_deg,
        energy_threshold_db,
        itd_map,
        cue,
    )
    count = mask.sum(axis=-1)
    used = count >= min_frames
    if used.sum() < 3:
        return CorrelationResult(float("nan"), int(used.sum()))
    mean_estimate = np.sum(np.where(mask, estimate, 0.0), axis=-1)[used] / count[used]
    mean_truth = np.sum(np.where(mask, truth, 0.0), axis=-1)[used] / count[used]
    if np.std(mean_estimate) < 1e-9 or np.std(mean_truth) < 1e-9:
        return CorrelationResult(float("nan"), int(used.sum()))
    return CorrelationResult(float(np.corrcoef(mean_estimate, mean_truth)[0, 1]), int(used.sum()))


def onset_strength(audio, sample_rate: int = binaural.DEFAULT_SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Spectral-flux onset strength, averaged over the two ears (robust to anti-phase ears, unlike L + R).

    Per ear: |S| of a zero-padded centred STFT (n_fft 512, hop 160, win 400 Hann) scaled by 2 / sum(window)
    (a full-scale sine peaks at 1), Y = log1p(1000 |S|); flux[k] = sum_f max(Y[f, k] - Y[f, k - 1], 0) with
    Y[:, -1] = 0 (the clip is preceded by silence, so a sound at t = 0 is an onset). The flux of a frame is
    zeroed unless that ear's total STFT energy rises from the previous frame: the abrupt end of a tone spreads
    leakage over many bins, which the log compression would otherwise report as an onset. Frame k is at
    k * hop / sample_rate seconds.

    Args:
      audio: `[..., 2, N]`.
    Returns:
      flux: `[..., K]`, K = 1 + N // hop; times_s: `[K]`.
    """
    audio = binaural.as_binaural(audio, "audio")
    window_sum = np.sum(scipy.signal.get_window("hann", ONSET_WIN_LENGTH, fftbins=True))
    mag = np.abs(binaural.stft(audio, ONSET_N_FFT, ONSET_HOP, ONSET_WIN_LENGTH, pad_mode="constant"))
    log_mag = np.log1p(ONSET_COMPRESSION * 2.0 * mag / window_sum)
    flux = np.sum(np.maximum(np.diff(log_mag, axis=-1, prepend=0.0), 0.0), axis=-2)
    rising = np.diff(np.sum(mag**2, axis=-2), axis=-1, prepend=0.0) > 0.0
    flux = np.mean(np.where(rising, flux, 0.0), axis=-2)
    return flux, np.arange(flux.shape[-1]) * ONSET_HOP / sample_rate


def detect_onsets(
    audio,
    sample_rate: int = binaural.DEFAULT_SAMPLE_RATE,
    threshold: float = ONSET_THRESHOLD,
    peak_window_s: float = ONSET_PEAK_WINDOW_S,
    min_interval_s: float = ONSET_MIN_INTERVAL_S,
) -> np.ndarray:
    """Onset times by peak picking the spectral flux (`onset_strength`).

    A frame is an onset when its flux is positive, the maximum within +-peak_window_s, and at least
    `threshold` x the clip's largest flux; candidates closer than min_interval_s to a stronger accepted onset
    are dropped. Silence gives no onsets. The clip-relative threshold favours precision over recall: an onset
    far weaker than the clip's strongest one (e.g. a tone entering over a sustained broadband bed) is missed.

    Args:
      audio: `[..., 2, N]`.
    Returns:
      `[..., E]` onset times in seconds, ascending, padded with -1 (E = most onsets found in any clip).
    """
    flux, times = onset_strength(audio, sample_rate)
    half = max(1, int(round(peak_window_s * sample_rate / ONSET_HOP)))
    padded = np.pad(flux, [(0, 0)] * (flux.ndim - 1) + [(half, half)])
    local_max = np.max(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=-1), axis=-1)
    strongest = np.max(flux, axis=-1, keepdims=True)
    candidate = (flux > 0.0) & (flux >= local_max) & (flux >= threshold * strongest)
    flat_flux, flat_cand = flux.reshape(-1, flux.shape[-1]), candidate.reshape(-1, flux.shape[-1])
    found = []
    for f, c in zip(flat_flux, flat_cand):
        accepted = []
        for k in np.flatnonzero(c)[np.argsort(-f[c], kind="stable")]:
            if all(abs(times[k] - t) >= min_interval_s for t in accepted):
                accepted.append(times[k])
        found.append(sorted(accepted))
    out = np.full((len(found), max([len(a) for a in found], default=0)), -1.0)
    for i, a in enumerate(found):
        out[i, : len(a)] = a
    return out.reshape(flux.shape[:-1] + out.shape[-1:])


def av_sync_offset(
    pred_audio, true_onsets_s, sample_rate: int = binaural.DEFAULT_SAMPLE_RATE, max_offset_s: float = SYNC_MAX_OFFSET_S
) -> SyncResult:
    """Audio-visual synchrony: mean |t_detected - nearest true onset| over detected onsets (DeSync analogue).

    Onsets are detected with `detect_onsets` (default parameters). Each detected onset is matched to the
    nearest true onset of the same clip (any source); matches farther than max_offset_s (default 0.5 s) are
    counted as spurious detections, not as offsets. Pooled over the batch.

    Args:
      pred_audio: `[B, 2, N]`.
      true_onsets_s: `[B, S, E]` true onset times in seconds, padded with -1 (any negative value = padding).
    Returns:
      SyncResult(mean_offset_s, n_matched, n_detected).
    """
    audio = binaural.as_binaural(pred_audio, "pred_audio")
    true_onsets = np.asarray(true_onsets_s, dtype=np.float64)
    if audio.ndim != 3 or true_onsets.ndim != 3 or audio.shape[0] != true_onsets.shape[0]:
        raise ValueError(
            f"av_sync_offset: expected pred_audio [B, 2, N] and true_onsets_s [B, S, E], got "
            f"{audio.shape} and {true_onsets.shape}"
        )
    detected = detect_onsets(audio, sample_rate)
    offsets, n_detected = [], 0
    for det, truth in zip(detected, true_onsets.reshape(true_onsets.shape[0], -1)):
        det, truth = det[det >= 0.0], truth[truth >= 0.0]
        n_detected += det.size
        if det.size and truth.size:
            nearest = np.min(np.abs(det[:, None] - truth[None, :]), axis=-1)
            offsets.append(nearest[nearest <= max_offset_s])
    offsets = np.concatenate(offsets) if offsets else np.zeros(0)
    return SyncResult(float(offsets.mean()) if offsets.size else float("nan"), int(offsets.size), n_detected)

"""Localisation targets taken from a clip's own binaural recording, for datasets without source positions.

Every binaural recording says where its dominant sound is: its interaural time difference gives the lateral
angle, and the camera's field of view maps that angle to a horizontal position in the picture. These targets
replace the benchmark's ground-truth positions wherever the spatial modules are supervised
(`config.data.localisation_targets = 'audio'`), so the papers' models learn space from FAIR-Play or any recording.

Per video frame t (the audio under [t / fps, (t + 1) / fps) and `itd.CONTEXT_FRAMES` neighbours on each side,
the same frames the direction metrics read):
  ITD      `itd.frame_itd` (PHAT-beta cross-spectrum summed over the neighbours: robust to reverberation)
  angle    lateral angle (+ = left) through an `ItdMap` (the dataset's head; Woodworth's sphere by default)
  confidence  0 unless both ears are above an energy gate and the level cue does not contradict the time cue
           (the high-band ILD, `metrics.direction.high_band_ild_db`, at least ILD_VETO_DB to the other side);
           else the interaural coherence at the measured ITD, max(0, normalised cross-correlation of left and
           right over the frame's window at that lag): near 1 for one direct source, low for diffuse or
           competing sound, so confident frames are the ones whose angle can be trusted. The coherence does
           not catch the ITD's gross errors (a harmonic source whose cross-correlation peaks repeat within the
           head's range): on binaural_synth their side is wrong about as often at coherence 0.9 as at 0.3,
           and the ILD veto is what removes them (experiments/RESULTS.md, "audio localisation targets")
  screen   pinhole projection of the angle as an azimuth in front of the camera (the benchmark's camera model,
           data/binaural_synth/scenes.py): x = W/2 - f tan(angle), f = (W/2) / tan(fov/2); angles outside the
           view give "off-screen left" (+1) or "off-screen right" (-1) instead. Binaural cues cannot tell front
           from back (a source behind maps to its front mirror image) nor give a height: the target is a
           column of the picture, not a point.

Shapes: audio `[B, 2, N]` (0 = left ear) -> per-frame `[B, T]`.

`LocalisationTargets` is the input-pipeline stage (after batching and the left/right mirror, so a mirrored clip
gets mirrored targets): it writes the targets under the benchmark's ground-truth names with one source slot
(`screen_x` / `screen_y` (NaN: unknown height) / `visible` / `sounding` `[B, T, 1]`), which every spatial
supervision reads, plus `target_confident` `[B, T]`, the frames a loss may use.
"""

from __future__ import annotations

import dataclasses

import grain
import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.metrics import direction
from v2a_jax.spatial import itd
from v2a_jax.spatial.itd_map import ItdMap

ENERGY_GATE_DB = -50.0  # mean-square level (dBFS) the quieter ear must exceed for a frame to count
MIN_CONFIDENCE = 0.5  # frames below this coherence are not used as targets
# A high-band ILD this far to the other side overrules the ITD: where the two disagree on binaural_synth the ILD
# is right in about 60 % of frames from 3 dB on (50 % below), so those frames are dropped, not flipped.
ILD_VETO_DB = 3.0


@dataclasses.dataclass(frozen=True)
class AudioTargets:
    """Per-frame targets `[B, T]`: lateral_deg (+ = left); confidence in [0, 1]; screen_x in pixels of a
    `width`-pixel frame (NaN where off-screen); offscreen (+1 left of the view, -1 right, 0 in view)."""

    lateral_deg: np.ndarray
    confidence: np.ndarray
    screen_x: np.ndarray
    offscreen: np.ndarray

    def confident(self, min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
        """`[B, T]` bool: frames whose target is trusted."""
        return self.confidence >= min_confidence


def _frame_windows(audio: np.ndarray, num_frames: int, frame_len: int, context: int) -> np.ndarray:
    """[B, 2, N] -> [B, 2, T, (2 context + 1) frame_len]: the audio of each frame and its neighbours (zero-padded)."""
    pad = context * frame_len
    need = num_frames * frame_len
    audio = np.pad(audio[..., :need], [(0, 0), (0, 0), (pad, pad + max(0, need - audio.shape[-1]))])
    width = (2 * context + 1) * frame_len
    idx = np.arange(num_frames)[:, None] * frame_len + np.arange(width)[None, :]
    return audio[..., idx]


def coherence_at_lag(windows: np.ndarray, lag_samples: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of left and right at each frame's ITD (> 0: left leads, so right[n + lag]
    matches left[n]), rounded to whole samples: windows [B, 2, T, W], lag [B, T] -> [B, T] in [-1, 1]."""
    left, right = windows[:, 0], windows[:, 1]
    w = left.shape[-1]
    k = np.rint(lag_samples).astype(np.int64)[..., None]
    n = np.arange(w)[None, None, :]
    shifted_idx = n + k
    valid = (shifted_idx >= 0) & (shifted_idx < w)
    shifted = np.take_along_axis(right, np.clip(shifted_idx, 0, w - 1), axis=-1) * valid
    num = np.sum(left * shifted, axis=-1)
    den = np.sqrt(np.sum(left**2, axis=-1) * np.sum(right**2, axis=-1)) + 1e-20
    return num / den


def audio_targets(
    audio,
    num_frames: int,
    fps: float,
    sample_rate: int,
    *,
    width: int,
    fov_deg: float,
    itd_map: ItdMap | None = None,
    energy_gate_db: float = ENERGY_GATE_DB,
    ild_veto_db: float = ILD_VETO_DB,
) -> AudioTargets:
    """Targets (module docstring) of binaural audio `[B, 2, N]` for `num_frames` video frames at `fps`."""
    if not 0.0 < fov_deg < 180.0:
        raise ValueError(f"field of view {fov_deg} deg: must be in (0, 180)")
    audio = np.asarray(audio, np.float32)
    itd_map = ItdMap.woodworth() if itd_map is None else itd_map
    frame_len = int(round(sample_rate / fps))
    lag = np.asarray(
        itd.frame_itd(
            jnp.asarray(audio), frame_len, itd.HEAD_MAX_LAG_S * sample_rate, sample_rate, num_frames=num_frames
        ),
        np.float64,
    )  # [B, T] samples
    lateral = itd_map.lateral_deg(lag / sample_rate)
    windows = _frame_windows(audio, num_frames, frame_len, itd.CONTEXT_FRAMES)
    # Gate on the frame itself (not its neighbours): a silent frame beside a loud one has no direction of its own.
    own = windows[..., itd.CONTEXT_FRAMES * frame_len : (itd.CONTEXT_FRAMES + 1) * frame_len]
    level_db = 10.0 * np.log10(np.mean(own.astype(np.float64) ** 2, axis=-1).min(axis=1) + 1e-20)
    ild_db = direction.high_band_ild_db(audio, num_frames, fps, sample_rate)
    contradicted = (np.abs(ild_db) >= ild_veto_db) & (np.sign(ild_db) * lateral < 0)
    usable = (level_db > energy_gate_db) & ~contradicted
    confidence = np.where(usable, np.clip(coherence_at_lag(windows, lag), 0.0, 1.0), 0.0)
    half = np.radians(fov_deg / 2)
    theta = np.radians(lateral)
    in_view = np.abs(theta) <= half
    focal = (width / 2) / np.tan(half)
    screen_x = np.where(in_view, width / 2 - focal * np.tan(np.where(in_view, theta, 0.0)), np.nan)
    offscreen = np.where(in_view, 0, np.sign(lateral)).astype(np.int8)
    return AudioTargets(
        lateral.astype(np.float32), confidence.astype(np.float32), screen_x.astype(np.float32), offscreen
    )


class LocalisationTargets(grain.transforms.Map):
    """Batch stage: targets from `audio` [B, 2, N] float for `num_frames` video frames (module docstring), in
    pixels of frames `width` wide (None: the width of the batch's `video` [B, T, H, W, 3]). The estimator runs on
    the host CPU, whatever the accelerator."""

    def __init__(
        self,
        num_frames: int,
        fps: float,
        sample_rate: int,
        fov_deg: float,
        width: int | None = None,
        itd_map: ItdMap | None = None,
    ):
        self._args = dict(num_frames=num_frames, fps=fps, sample_rate=sample_rate, fov_deg=fov_deg, itd_map=itd_map)
        self._width = width

    def map(self, batch: dict) -> dict:
        width = batch["video"].shape[3] if self._width is None else self._width
        with jax.default_device(jax.local_devices(backend="cpu")[0]):
            targets = audio_targets(batch["audio"], width=width, **self._args)
        confident = targets.confident()
        in_view = confident & (targets.offscreen == 0)
        out = dict(batch)
        out["screen_x"] = np.where(in_view, targets.screen_x, np.nan)[..., None].astype(np.float32)
        out["screen_y"] = np.full_like(out["screen_x"], np.nan)
        out["visible"] = in_view[..., None]
        out["sounding"] = confident[..., None]
        out["target_confident"] = confident
        return out

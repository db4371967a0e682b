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

Shapes: audio `[B, 2, N]` (0 = left ear) -> per-frame `[B, T]`. Everything here is jax (traceable): the targets
are computed inside the jitted train and eval steps from the batch's audio, on the accelerator where there is one,
so the host's input pipeline does no per-step work for them (as a numpy stage there it was the 2-core machine's
bottleneck: experiments/RESULTS.md, "Audio targets inside the train step"). The matmuls of the ITD estimator run at
full float32 precision (an accelerator's default may be TF32, which would move the cross-correlation's peak).
The left/right mirror happens in the input pipeline, before, so a mirrored clip gets mirrored targets.

`LocalisationTargets` is the step's stage: it writes the targets into the batch under the benchmark's ground-truth
names with one source slot (`screen_x` / `screen_y` (NaN: unknown height) / `visible` / `sounding` `[B, T, 1]`),
which every spatial supervision reads, plus `target_confident` `[B, T]`, the frames a loss may use.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from v2a_jax.metrics import direction
from v2a_jax.spatial import itd
from v2a_jax.spatial.itd_map import ItdMap

ENERGY_GATE_DB = -50.0  # mean-square level (dBFS) the quieter ear must exceed for a frame to count
MIN_CONFIDENCE = 0.5  # frames below this coherence are not used as targets
# A high-band ILD this far to the other side overrules the ITD: where the two disagree on binaural_synth the ILD
# is right in about 60 % of frames from 3 dB on (50 % below), so those frames are dropped, not flipped.
ILD_VETO_DB = 3.0


@struct.dataclass
class AudioTargets:
    """Per-frame targets `[B, T]` (jax arrays): lateral_deg (+ = left); confidence in [0, 1]; screen_x in pixels of
    a `width`-pixel frame (NaN where off-screen); offscreen (+1 left of the view, -1 right, 0 in view)."""

    lateral_deg: jax.Array
    confidence: jax.Array
    screen_x: jax.Array
    offscreen: jax.Array

    def confident(self, min_confidence: float = MIN_CONFIDENCE) -> jax.Array:
        """`[B, T]` bool: frames whose target is trusted."""
        return self.confidence >= min_confidence


def _frame_windows(audio: jax.Array, num_frames: int, frame_len: int, context: int) -> jax.Array:
    """[B, 2, N] -> [B, 2, T, (2 context + 1) frame_len]: the audio of each frame and its neighbours (zero-padded)."""
    pad = context * frame_len
    need = num_frames * frame_len
    audio = jnp.pad(audio[..., :need], [(0, 0), (0, 0), (pad, pad + max(0, need - audio.shape[-1]))])
    width = (2 * context + 1) * frame_len
    idx = np.arange(num_frames)[:, None] * frame_len + np.arange(width)[None, :]
    return audio[..., idx]


def coherence_at_lag(windows: jax.Array, lag_samples: jax.Array) -> jax.Array:
    """Normalised cross-correlation of left and right at each frame's ITD (> 0: left leads, so right[n + lag]
    matches left[n]), rounded to whole samples: windows [B, 2, T, W], lag [B, T] -> [B, T] in [-1, 1]."""
    left, right = windows[:, 0], windows[:, 1]
    w = left.shape[-1]
    shifted_idx = jnp.arange(w)[None, None, :] + jnp.rint(lag_samples).astype(jnp.int32)[..., None]
    valid = (shifted_idx >= 0) & (shifted_idx < w)
    shifted = jnp.take_along_axis(right, jnp.clip(shifted_idx, 0, w - 1), axis=-1) * valid
    num = jnp.sum(left * shifted, axis=-1)
    den = jnp.sqrt(jnp.sum(left**2, axis=-1) * jnp.sum(right**2, axis=-1)) + 1e-20
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
    audio = jnp.asarray(audio, jnp.float32)
    itd_map = ItdMap.woodworth() if itd_map is None else itd_map
    frame_len = int(round(sample_rate / fps))
    with jax.default_matmul_precision("highest"):
        lag = itd.frame_itd(audio, frame_len, itd.HEAD_MAX_LAG_S * sample_rate, sample_rate, num_frames=num_frames)
    lateral = itd_map.lateral_deg(lag / sample_rate)  # [B, T]
    windows = _frame_windows(audio, num_frames, frame_len, itd.CONTEXT_FRAMES)
    # Gate on the frame itself (not its neighbours): a silent frame beside a loud one has no direction of its own.
    own = windows[..., itd.CONTEXT_FRAMES * frame_len : (itd.CONTEXT_FRAMES + 1) * frame_len]
    level_db = 10.0 * jnp.log10(jnp.mean(own**2, axis=-1).min(axis=1) + 1e-20)
    ild_db = direction.high_band_ild_db(audio, num_frames, fps, sample_rate)
    contradicted = (jnp.abs(ild_db) >= ild_veto_db) & (jnp.sign(ild_db) * lateral < 0)
    usable = (level_db > energy_gate_db) & ~contradicted
    confidence = jnp.where(usable, jnp.clip(coherence_at_lag(windows, lag), 0.0, 1.0), 0.0)
    half = np.radians(fov_deg / 2)
    theta = jnp.radians(lateral)
    in_view = jnp.abs(theta) <= half
    focal = (width / 2) / np.tan(half)
    screen_x = jnp.where(in_view, width / 2 - focal * jnp.tan(jnp.where(in_view, theta, 0.0)), jnp.nan)
    offscreen = jnp.where(in_view, 0, jnp.sign(lateral)).astype(jnp.int8)
    return AudioTargets(lateral, confidence, screen_x, offscreen)


@dataclasses.dataclass(frozen=True)
class LocalisationTargets:
    """Step stage: `batch` -> the batch with targets (module docstring) from its `audio` [B, 2, N] float for
    `num_frames` video frames, in pixels of frames `width` wide (None: the width of the batch's `video`
    [B, T, H, W, 3]). Traced inside the jitted step; the audio is data, not a parameter, so no gradient flows."""

    num_frames: int
    fps: float
    sample_rate: int
    fov_deg: float
    width: int | None = None
    itd_map: ItdMap | None = None

    def __call__(self, batch: dict) -> dict:
        width = batch["video"].shape[3] if self.width is None else self.width
        targets = audio_targets(
            jax.lax.stop_gradient(batch["audio"]),
            self.num_frames,
            self.fps,
            self.sample_rate,
            width=width,
            fov_deg=self.fov_deg,
            itd_map=self.itd_map,
        )
        confident = targets.confident()
        in_view = confident & (targets.offscreen == 0)
        screen_x = jnp.where(in_view, targets.screen_x, jnp.nan)[..., None]
        return {
            **batch,
            "screen_x": screen_x,
            "screen_y": jnp.full_like(screen_x, jnp.nan),
            "visible": in_view[..., None],
            "sounding": confident[..., None],
            "target_confident": confident,
        }

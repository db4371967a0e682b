"""Procedural scenes of `binaural_synth`: a world of sound sources, a drifting camera, and its video + binaural audio.

Each clip holds S source slots (`SceneConfig.num_slots`): on-screen sources fill slots 0.. in order, unused slots
are padded (class_id -1), and when `offscreen_prob > 0` the LAST slot is reserved for a source that is heard but
never in view (it stays behind/beside the camera with an angular margin wider than its drawn size).
A class fixes both look and sound (classes.py), and every source visibly brightens and swells exactly while its
sound plays, so which sound is where, and when, can be recovered only by looking at the video.

World model (BiAudio-like): the camera/listener stands at the origin; its yaw starts near an on-screen source plus a
random offset and then drifts piecewise-linearly; the listener's head turns with the camera, so the audio is
rendered at the source's azimuth relative to the camera (SOFA convention, +90 = left). Sources move piecewise-
linearly in world azimuth and distance; elevation is constant per source. Trajectories are piecewise-linear in
time and evaluated at every audio sample, so the per-sample and per-frame ground truth agree exactly; frame t
shows the world at time t / fps (audio sample t * sample_rate / fps).

Audio level: every class sound is synthesised at RMS `classes.LEVEL_RMS` at the 1 m reference distance and
rendered with the renderer's distance gain, so loudness carries distance; the mix has a FIXED gain of 1, except
that a clip whose peak would exceed `PEAK_LIMIT` is scaled down to it (rare; keeps int16 storage unclipped).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.binaural_synth import classes as classes_lib
from data.binaural_synth import raster
from v2a_jax.spatial import renderer

# Physical radius of every object; its on-screen radius is focal_px * OBJECT_RADIUS_M / distance.
OBJECT_RADIUS_M = 0.5
# While sounding, an object is drawn at full brightness and radius * (1 + PULSE); silent at DIM brightness.
PULSE = 0.15
DIM = 0.45
# Event envelope ramps (raised cosine): no clicks at onsets/offsets.
ATTACK_S = 0.01
RELEASE_S = 0.05
# Alternating sounding/silent renewal process per source: durations are min + exponential(mean - min).
MIN_EVENT_S, MEAN_EVENT_S = 0.3, 1.2
MIN_GAP_S, MEAN_GAP_S = 0.2, 0.8
# Piecewise-linear trajectories: segment lengths drawn uniformly in this range (seconds).
SEGMENT_S = (1.0, 3.0)
PEAK_LIMIT = 0.95


@dataclasses.dataclass(frozen=True)
class Motion:
    """How much things move: camera yaw rate and source azimuth/distance rates are drawn per segment uniformly
    within +-these maxima; distractors are extra visible objects (class looks) that never make a sound."""

    camera_max_yaw_rate_deg_s: float
    source_max_az_rate_deg_s: float
    source_max_distance_rate_m_s: float
    num_distractors: int


DIFFICULTIES = {
    "easy": Motion(
        camera_max_yaw_rate_deg_s=0.0, source_max_az_rate_deg_s=5.0, source_max_distance_rate_m_s=0.1, num_distractors=0
    ),
    "medium": Motion(
        camera_max_yaw_rate_deg_s=10.0,
        source_max_az_rate_deg_s=15.0,
        source_max_distance_rate_m_s=0.3,
        num_distractors=0,
    ),
    "hard": Motion(
        camera_max_yaw_rate_deg_s=25.0,
        source_max_az_rate_deg_s=30.0,
        source_max_distance_rate_m_s=0.6,
        num_distractors=2,
    ),
}


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """What the clips of a benchmark variant look and sound like.

    Attributes:
      duration_s: clip length; fps * duration_s must be an integer.
      sample_rate: audio rate in Hz (>= 8000); must be divisible by fps.
      fps: video frame rate.
      image_size: square frame side in pixels.
      horizontal_fov_deg: pinhole field of view (also the vertical one: frames are square).
      min_sources, max_sources: number of on-screen (placed in view) sources per clip, uniform in this range.
      num_classes: classes drawn from are classes.CLASSES[:num_classes]; all sources and distractors of a clip
        have distinct classes.
      offscreen_prob: probability that a clip has one extra source that is heard but never seen.
      rt60_range_s: diffuse-reverb RT60 drawn uniformly per clip from (lo, hi); (0, 0) disables reverb.
      difficulty: key of DIFFICULTIES (camera drift, source motion, distractors).
      distance_range_m: source distances stay in (lo, hi) metres.
      max_elevation_deg: source elevations are constant per source within +-this (on-screen sources also
        within +-fov/4 so that they start in view).
      max_events_per_source: padding size E of `onset_s`; later events of a source are dropped.
    """

    duration_s: float = 8.0
    sample_rate: int = 16000
    fps: float = 25.0
    image_size: int = 64
    horizontal_fov_deg: float = 90.0
    min_sources: int = 1
    max_sources: int = 2
    num_classes: int = len(classes_lib.CLASSES)
    offscreen_prob: float = 0.3
    rt60_range_s: tuple[float, float] = (0.2, 0.6)
    difficulty: str = "medium"
    distance_range_m: tuple[float, float] = (1.0, 5.0)
    max_elevation_deg: float = 20.0
    max_events_per_source: int = 8

    def __post_init__(self):
        def bad(field, why):
            raise ValueError(f"scenes.SceneConfig.{field}={getattr(self, field)!r}: {why}")

        if not self.duration_s > 0:
            bad("duration_s", "must be > 0")
        if not self.fps > 0:
            bad("fps", "must be > 0")
        if self.sample_rate < 8000:
            bad("sample_rate", "must be >= 8000 Hz (the class sounds reach 6 kHz)")
        if not _is_int(self.sample_rate / self.fps):
            bad("sample_rate", f"must be divisible by fps={self.fps} (whole audio samples per frame)")
        if not _is_int(self.fps * self.duration_s):
            bad("duration_s", f"fps * duration_s must be a whole number of frames (fps={self.fps})")
        if self.image_size < 8:
            bad("image_size", "must be >= 8 pixels")
        if not 10.0 <= self.horizontal_fov_deg <= 150.0:
            bad("horizontal_fov_deg", "must be in [10, 150] degrees")
        if not 1 <= self.min_sources <= self.max_sources:
            bad("min_sources", f"need 1 <= min_sources <= max_sources (max_sources={self.max_sources})")
        if not 0.0 <= self.offscreen_prob <= 1.0:
            bad("offscreen_prob", "must be a probability in [0, 1]")
        if self.difficulty not in DIFFICULTIES:
            bad("difficulty", f"must be one of {sorted(DIFFICULTIES)}")
        needed = self.max_sources + (self.offscreen_prob > 0) + DIFFICULTIES[self.difficulty].num_distractors
        if not needed <= self.num_classes <= len(classes_lib.CLASSES):
            bad(
                "num_classes",
                f"must be in [{needed}, {len(classes_lib.CLASSES)}]: every source and distractor "
                "of a clip gets its own class",
            )
        lo, hi = self.rt60_range_s
        if not (0.0 <= lo <= hi):
            bad("rt60_range_s", "must be (lo, hi) with 0 <= lo <= hi")
        dlo, dhi = self.distance_range_m
        if not (0.0 < dlo <= dhi):
            bad("distance_range_m", "must be (lo, hi) with 0 < lo <= hi")
        if not 0.0 <= self.max_elevation_deg <= 60.0:
            bad("max_elevation_deg", "must be in [0, 60] degrees")
        if self.max_events_per_source < 1:
            bad("max_events_per_source", "must be >= 1")

    @property
    def num_frames(self) -> int:
        return int(round(self.fps * self.duration_s))

    @property
    def samples_per_frame(self) -> int:
        return int(round(self.sample_rate / self.fps))

    @property
    def num_samples(self) -> int:
        return self.num_frames * self.samples_per_frame

    @property
    def num_slots(self) -> int:
        """S: on-screen slots plus one for the off-screen source when that is enabled."""
        return self.max_sources + (1 if self.offscreen_prob > 0 else 0)

    @property
    def focal_px(self) -> float:
        return (self.image_size / 2) / np.tan(np.radians(self.horizontal_fov_deg / 2))

    @property
    def motion(self) -> Motion:
        return DIFFICULTIES[self.difficulty]


def _is_int(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 and round(x) > 0


def _offscreen_band(config: SceneConfig) -> tuple[float, float]:
    """Relative azimuths (degrees, in [0, 360)) where an object is never drawn: beyond the half-FOV by the
    angular radius of the largest (nearest, swollen) object plus 5 degrees. Never empty: the margin is below 95
    degrees and the half-FOV at most 75."""
    margin = np.degrees(np.arctan(OBJECT_RADIUS_M * (1 + PULSE) * 1.15 / config.distance_range_m[0])) + 5.0
    half = config.horizontal_fov_deg / 2
    return half + margin, 360.0 - half - margin


def clip_shapes(config: SceneConfig) -> dict[str, int]:
    """Sizes of `render_clip` outputs: num_frames T, num_samples N, num_sources S, max_events E."""
    return {
        "num_frames": config.num_frames,
        "num_samples": config.num_samples,
        "num_sources": config.num_slots,
        "max_events": config.max_events_per_source,
    }


def wrap_deg(x):
    """Wraps angles to [-180, 180) degrees."""
    return np.mod(np.asarray(x) + 180.0, 360.0) - 180.0


@dataclasses.dataclass(frozen=True)
class Scene:
    """Ground-truth world of one clip. Per-sample arrays have N = config.num_samples entries (sample n is at
    time n / sample_rate); S = config.num_slots source slots, D distractors, E = max_events_per_source.

    Attributes:
      class_id: [S] int32, -1 for an unused slot.
      azimuth_deg: [S, N] world azimuth (wrapped to [-180, 180)); 0 in unused slots.
      elevation_deg: [S, N]; 0 in unused slots.
      distance_m: [S, N]; 0 in unused slots.
      onset_s, offset_s: [S, E] event start/end times (seconds, sample-aligned, offset exclusive), -1 padded.
      camera_yaw_deg: [N] world azimuth the camera (and the listener's nose) points at, wrapped.
      distractor_class_id: [D] int32; distractor_azimuth_deg, distractor_elevation_deg, distractor_distance_m:
        [D, N] trajectories of silent visible objects.
      rt60_s: diffuse reverb time, 0 for none.
      panorama: [n_el, n_az, 3] uint8 backdrop (raster.make_panorama).
    """

    class_id: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    distance_m: np.ndarray
    onset_s: np.ndarray
    offset_s: np.ndarray
    camera_yaw_deg: np.ndarray
    distractor_class_id: np.ndarray
    distractor_azimuth_deg: np.ndarray
    distractor_elevation_deg: np.ndarray
    distractor_distance_m: np.ndarray
    rt60_s: float
    panorama: np.ndarray


def _walk(rng: np.random.Generator, n: int, sr: int, start: float, max_rate: float, lo: float, hi: float) -> np.ndarray:
    """Piecewise-linear random trajectory [n] starting at `start` (in [lo, hi]): knots every SEGMENT_S seconds,
    each new knot uniform among the values reachable at <= max_rate per second that stay inside [lo, hi]."""
    knot_t, knot_v = [0.0], [start]
    while knot_t[-1] < n / sr:
        length = rng.uniform(*SEGMENT_S)
        v = knot_v[-1]
        knot_v.append(rng.uniform(max(lo, v - max_rate * length), min(hi, v + max_rate * length)))
        knot_t.append(knot_t[-1] + length)
    return np.interp(np.arange(n) / sr, knot_t, knot_v)


def _events(rng: np.random.Generator, config: SceneConfig) -> tuple[np.ndarray, np.ndarray]:
    """Sounding intervals of one source: Poisson-like alternation of events and gaps, at least one event.
    Returns onset, offset [E] seconds (sample-aligned), -1 padded."""
    dur, sr, e_max = config.num_samples / config.sample_rate, config.sample_rate, config.max_events_per_source
    onsets, offsets = [], []
    t = rng.uniform(0.0, MEAN_GAP_S)
    while t <= dur - MIN_EVENT_S and len(onsets) < e_max:
        end = min(t + MIN_EVENT_S + rng.exponential(MEAN_EVENT_S - MIN_EVENT_S), dur)
        onsets.append(t)
        offsets.append(end)
        t = end + MIN_GAP_S + rng.exponential(MEAN_GAP_S - MIN_GAP_S)
    if not onsets:  # clips shorter than the first gap still get a sound
        length = min(dur, MIN_EVENT_S + rng.exponential(MEAN_EVENT_S - MIN_EVENT_S))
        onsets.append(rng.uniform(0.0, dur - length))
        offsets.append(onsets[0] + length)
    pad = lambda x: np.concatenate([np.round(np.asarray(x) * sr) / sr, -np.ones(e_max - len(x))])  # noqa: E731
    return pad(onsets).astype(np.float32), pad(offsets).astype(np.float32)


def sample_scene(rng: np.random.Generator, config: SceneConfig) -> Scene:
    """Draws the ground-truth world of one clip (see the module docstring)."""
    n, sr, s_len, e_len = config.num_samples, config.sample_rate, config.num_slots, config.max_events_per_source
    motion = config.motion
    half = config.horizontal_fov_deg / 2
    dlo, dhi = config.distance_range_m
    n_on = int(rng.integers(config.min_sources, config.max_sources + 1))
    has_off = config.offscreen_prob > 0 and rng.random() < config.offscreen_prob
    n_dis = motion.num_distractors
    picked = rng.choice(config.num_classes, size=n_on + int(has_off) + n_dis, replace=False)

    # Camera starts near source 0 (like BiAudio's start at the FOA energy peak plus an offset).
    anchor = rng.uniform(-180.0, 180.0)
    yaw0 = anchor + rng.uniform(-half / 2, half / 2)
    yaw = _walk(rng, n, sr, yaw0, motion.camera_max_yaw_rate_deg_s, -np.inf, np.inf)
    el_on = min(config.max_elevation_deg, half / 2)

    def in_view_object(start_az):
        # On-screen objects roam around the initial view (+-1.2 half-FOVs): the camera drift, and their own
        # motion, can still take them out of frame for a while.
        az = _walk(rng, n, sr, start_az, motion.source_max_az_rate_deg_s, yaw0 - 1.2 * half, yaw0 + 1.2 * half)
        dist = _walk(rng, n, sr, rng.uniform(dlo, dhi), motion.source_max_distance_rate_m_s, dlo, dhi)
        return az, np.full(n, rng.uniform(-el_on, el_on)), dist

    class_id = np.full(s_len, -1, np.int32)
    az, el, dist = (np.zeros((s_len, n)) for _ in range(3))
    onset, offset = -np.ones((s_len, e_len), np.float32), -np.ones((s_len, e_len), np.float32)
    for i in range(n_on):
        start = anchor if i == 0 else yaw0 + rng.uniform(-0.9 * half, 0.9 * half)
        class_id[i] = picked[i]
        az[i], el[i], dist[i] = in_view_object(start)
        onset[i], offset[i] = _events(rng, config)
    if has_off:
        # Walk in camera-relative azimuth inside the never-drawn band, then express it in the world.
        lo_b, hi_b = _offscreen_band(config)
        rel = _walk(rng, n, sr, rng.uniform(lo_b, hi_b), motion.source_max_az_rate_deg_s, lo_b, hi_b)
        s = s_len - 1
        class_id[s] = picked[n_on]
        az[s] = rel + yaw
        el[s] = rng.uniform(-config.max_elevation_deg, config.max_elevation_deg)
        dist[s] = _walk(rng, n, sr, rng.uniform(dlo, dhi), motion.source_max_distance_rate_m_s, dlo, dhi)
        onset[s], offset[s] = _events(rng, config)
    dis = [in_view_object(yaw0 + rng.uniform(-0.9 * half, 0.9 * half)) for _ in range(n_dis)]
    dis_az, dis_el, dis_dist = (np.array([d[j] for d in dis]).reshape(n_dis, n) for j in range(3))

    lo, hi = config.rt60_range_s
    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return Scene(
        class_id=class_id,
        azimuth_deg=f32(np.where(class_id[:, None] >= 0, wrap_deg(az), 0.0)),
        elevation_deg=f32(el),
        distance_m=f32(dist),
        onset_s=onset,
        offset_s=offset,
        camera_yaw_deg=f32(wrap_deg(yaw)),
        distractor_class_id=picked[n_on + int(has_off) :].astype(np.int32),
        distractor_azimuth_deg=f32(wrap_deg(dis_az)),
        distractor_elevation_deg=f32(dis_el),
        distractor_distance_m=f32(dis_dist),
        rt60_s=float(rng.uniform(lo, hi)) if hi > 0 else 0.0,
        panorama=raster.make_panorama(rng),
    )


def _envelope(length: int, sr: int) -> np.ndarray:
    """[length] raised-cosine attack/release gate, strictly positive inside the event."""
    env = np.ones(length)
    for n_ramp, sl in (
        (min(int(ATTACK_S * sr), length // 2), slice(None)),
        (min(int(RELEASE_S * sr), length // 2), slice(None, None, -1)),
    ):
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_ramp) + 0.5) / n_ramp)
        env[sl][:n_ramp] *= ramp
    return env


def _project(rel_az_deg, el_deg, config: SceneConfig):
    """Pinhole projection -> (screen_x, screen_y, in_front); x = W/2 - f tan(az), y = H/2 - f tan(el)/cos(az)."""
    a, e = np.radians(rel_az_deg), np.radians(el_deg)
    cos_a = np.cos(a)
    # Directions within ~84 degrees of the optical axis: farther out the projection leaves any frame anyway.
    in_front = cos_a > 0.1
    safe = np.where(in_front, cos_a, 1.0)
    size, f = config.image_size, config.focal_px
    x = size / 2 - f * np.sin(a) / safe
    y = size / 2 - f * np.tan(e) / safe
    return x, y, in_front


def render_scene(scene: Scene, config: SceneConfig, hrtf, rng: np.random.Generator) -> dict[str, np.ndarray | str]:
    """Renders `scene` to video, binaural audio and per-frame ground truth (see render_clip for the keys).

    `hrtf` is a v2a_jax.spatial.hrtf HRTF for config.sample_rate; `rng` draws the per-event sound variation and
    the reverb tail.
    """
    n, sr, t_len = config.num_samples, config.sample_rate, config.num_frames
    present = scene.class_id >= 0
    frame_n = np.arange(t_len) * config.samples_per_frame
    rel_az = wrap_deg(scene.azimuth_deg - scene.camera_yaw_deg[None]).astype(np.float32)  # [S, N]

    # Audio: each present source's event sounds, spatialised along its per-sample relative trajectory.
    gate = np.zeros(scene.class_id.shape + (n,))  # [S, N] envelope, 0 when silent
    mix = np.zeros((2, n))
    for s in np.flatnonzero(present):
        synth = classes_lib.CLASSES[scene.class_id[s]].synth
        mono = np.zeros(n)
        for on, off in zip(scene.onset_s[s], scene.offset_s[s]):
            if on < 0:
                break
            n0, n1 = int(round(on * sr)), min(int(round(off * sr)), n)
            gate[s, n0:n1] = _envelope(n1 - n0, sr)
            mono[n0:n1] = synth(rng, n1 - n0, sr) * gate[s, n0:n1]
        mix += renderer.render_moving_source(mono, rel_az[s], scene.elevation_deg[s], scene.distance_m[s], hrtf)
        if scene.rt60_s > 0:
            # The reverb tail does not fall with distance while the direct sound does: a distance cue.
            mix += renderer.diffuse_reverb(mono, sr, scene.rt60_s, rng)
    peak = np.max(np.abs(mix))
    audio = (mix * min(1.0, PEAK_LIMIT / peak) if peak > 0 else mix).astype(np.float32)

    # Per-frame ground truth.
    rel_f, el_f, dist_f = (x[:, frame_n].T for x in (rel_az, scene.elevation_deg, scene.distance_m))  # [T, S]
    sx, sy, in_front = _project(rel_f, el_f, config)
    size = config.image_size
    visible = present[None] & in_front & (sx >= 0) & (sx < size) & (sy >= 0) & (sy < size)
    env_f = gate[:, frame_n].T  # [T, S]
    # From the gate (positive exactly on event samples), so video, audio and labels share one time base.
    sounding = env_f > 0
    onscreen = visible.any(axis=0)

    # Video: backdrop at the camera yaw, then sources (pulsing with their gate) and silent distractors.
    frames = raster.render_background(scene.panorama, scene.camera_yaw_deg[frame_n], config.focal_px, size, size)
    d_rel = wrap_deg(scene.distractor_azimuth_deg - scene.camera_yaw_deg[None])[:, frame_n].T  # [T, D]
    d_el, d_dist = scene.distractor_elevation_deg[:, frame_n].T, scene.distractor_distance_m[:, frame_n].T
    d_x, d_y, d_front = _project(d_rel, d_el, config)
    obj_class = np.concatenate([scene.class_id[present], scene.distractor_class_id])
    draw_x = np.concatenate([np.where(in_front, sx, np.nan)[:, present], np.where(d_front, d_x, np.nan)], axis=1)
    draw_y = np.concatenate([sy[:, present], d_y], axis=1)
    depth = np.concatenate([dist_f[:, present], d_dist], axis=1)
    swell = np.concatenate([1 + PULSE * env_f[:, present], np.ones_like(d_dist)], axis=1)
    bright = np.concatenate([DIM + (1 - DIM) * env_f[:, present], np.full_like(d_dist, DIM)], axis=1)
    video = raster.draw_shapes(
        frames,
        [classes_lib.CLASSES[c].shape for c in obj_class],
        draw_x,
        draw_y,
        config.focal_px * OBJECT_RADIUS_M / depth * swell,
        np.array([classes_lib.CLASSES[c].colour for c in obj_class], np.float32).reshape(-1, 3),
        bright,
        depth,
    )

    names = lambda mask: ", ".join(classes_lib.CLASS_NAMES[c] for c in scene.class_id[mask]) or "none"  # noqa: E731
    zero_absent = lambda x: np.where(present[None], x, 0.0).astype(np.float32)  # noqa: E731
    return {
        "video": video,
        "audio": audio,
        "class_id": scene.class_id.astype(np.int32),
        "source_present": present,
        "onscreen_source": onscreen,
        "relative_azimuth_deg": zero_absent(rel_f),
        "elevation_deg": zero_absent(el_f),
        "distance_m": zero_absent(dist_f),
        "screen_x": np.where(visible, sx, np.nan).astype(np.float32),
        "screen_y": np.where(visible, sy, np.nan).astype(np.float32),
        "visible": visible,
        "sounding": sounding,
        "camera_yaw_deg": scene.camera_yaw_deg[frame_n].astype(np.float32),
        "onset_s": scene.onset_s.astype(np.float32),
        "caption": f"Visible sound: {names(present & onscreen)}. Invisible sound: {names(present & ~onscreen)}.",
    }


def render_clip(seed: int, config: SceneConfig, hrtf) -> dict[str, np.ndarray | str]:
    """Renders clip `seed` of `config`; deterministic in (seed, config, hrtf).

    Returns (T = config.num_frames, N = config.num_samples, S = config.num_slots, E = max_events_per_source):
      video [T, H, W, 3] uint8; audio [2, N] float32 binaural (0 = left), fixed gain (see module docstring);
      class_id [S] int32 (-1 = unused slot); source_present [S] bool; onscreen_source [S] bool (visible in at
      least one frame); relative_azimuth_deg, elevation_deg, distance_m [T, S] float32 (camera/listener
      relative, SOFA; 0 in unused slots); screen_x, screen_y [T, S] float32 pixel coordinates (raster.py) of the
      source centre (NaN when not visible); visible [T, S] bool (centre in front of the camera and inside the frame;
      occlusion by nearer objects is not considered); sounding [T, S] bool (at time t / fps); camera_yaw_deg [T]
      float32; onset_s [S, E] float32 (-1 padded); caption str.
    """
    rng = np.random.default_rng(seed)
    return render_scene(sample_scene(rng, config), config, hrtf, rng)


def redraw_clip(seed: int, config: SceneConfig, hrtf, draw: int) -> dict[str, np.ndarray | str]:
    """Clip `seed`'s scene (sources, positions, events, camera, RT60: the same picture and ground truth) with
    its sounds' random variation and reverb tail drawn again from `draw`: another recording of the same scene.
    Scored against the stored clip, a redraw is what a generator that samples the benchmark's audio given the
    scene exactly would score (experiments/tools/exact_sampler.py). Same keys as render_clip."""
    scene = sample_scene(np.random.default_rng(seed), config)
    return render_scene(scene, config, hrtf, np.random.default_rng([seed, draw]))

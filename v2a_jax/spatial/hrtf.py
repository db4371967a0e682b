"""Head-related impulse responses: an analytic spherical head and measured SOFA sets (numpy/scipy).

Both classes expose the same interface, which `renderer.render_moving_source` relies on:
  sample_rate: int       Hz of the returned HRIRs.
  n_taps: int            HRIR length in samples.
  latency_samples: int   bulk delay of the HRIR pair for a source straight ahead (0, 0); the renderer removes
                         it so a frontal source is not delayed overall.
  hrir(azimuth_deg, elevation_deg) -> [K, 2, n_taps] float32, channel 0 = left ear, 1 = right ear.

Angles are SOFA/AES69 degrees (azimuth counter-clockwise from ahead, +90 = left; elevation up).

Spherical head: how the model carries the ITD (decided by measurement)
----------------------------------------------------------------------
Each ear gets the Woodworth per-ear delay of reference.md sec. 4, -(a/c) cos(theta) for theta < pi/2 and
(a/c)(theta - pi/2) beyond, and the *magnitude* of the Brown-Duda (1998) head-shadow shelf
|1 + j alpha w / (2 w0)| / |1 + j w / (2 w0)| as a zero-phase filter. The minimum-phase shelf was rejected:
its phase gives the boosted (near) ear a low-frequency advance and the shadowed ear a lag, which moves the
broadband ITD away from Woodworth's, beyond the 5 % tolerance at the project's 16 kHz (and further for low-pass
sources); with the zero-phase magnitude the ITD is Woodworth's at every frequency. (A real sphere's
low-frequency ITD approaches 3 (a/c) sin(theta), ~1.5x Woodworth; this model deliberately does not carry that.)
The ITD measured from noise rendered with the shipped 64-tap filters stays within the tolerance
(tests/spatial/test_rendering.py, experiments/tools/plot_itd_vs_azimuth.py); both measurements are in
experiments/RESULTS.md ("Spatial rendering and cue estimation").

Each ear's filter is the zero-phase shelf delayed by latency_samples + its per-ear delay in a band-limited
(frequency-domain) way, windowed by a Hann window centred on that delay so it fits n_taps, and scaled to unit
DC gain (a sphere does not shadow DC; the window would otherwise leave a gain error that depends on the
fractional delay). The model depends only on the lateral angle, so a frontal source gives identical ears.

SOFA: interpolation between measured directions
-----------------------------------------------
`SofaHRTF` splits every measured HRIR into an onset delay (first crossing of -10 dB below its peak on an
8x band-limited upsampling, plus the file's Data_Delay) and the onset-aligned response. A query direction is
interpolated barycentrically in the spherical triangle of measured directions that contains it (the faces of
the convex hull of the measured unit vectors, i.e. a spherical Delaunay triangulation): weights are the
direction's coordinates in the basis of the triangle's three vertices, normalised to sum to 1. Directions no
triangle contains (sets that are all on one circle, or do not enclose the head) fall back to
inverse-squared-angle weights on the 3 nearest measured directions. A measured direction is returned exactly.
The aligned responses and the onset delays are averaged separately with those weights and the averaged delay is
re-applied, which avoids the comb filtering of averaging time-shifted responses.

Barycentric rather than inverse-distance weights because inverse-distance weights stick to the nearest
measurement (the ITD between grid directions comes out far from the head's; experiments/RESULTS.md), whereas
barycentric weights interpolate linearly along the grid.
"""

from __future__ import annotations

import fractions
import os

import numpy as np
from scipy import signal as sps
from scipy import spatial

from v2a_jax.spatial import geometry

# Directions per block in the (rare) search of every triangle, bounding a [block, T, 3, 3] gather.
_QUERY_CHUNK = 32
# Brown & Duda (1998) head-shadow constants.
_ALPHA_MIN = 0.1
_THETA_MIN_RAD = np.deg2rad(150.0)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(np.ceil(np.log2(n))))


def _as_directions(azimuth_deg, elevation_deg) -> tuple[np.ndarray, np.ndarray]:
    """Broadcasts angles to two float64 [K] vectors (a scalar pair gives K = 1)."""
    az, el = np.broadcast_arrays(np.asarray(azimuth_deg, np.float64), np.asarray(elevation_deg, np.float64))
    return az.reshape(-1), el.reshape(-1)


class SphericalHeadHRTF:
    """Brown-Duda head shadow (zero-phase magnitude) + Woodworth per-ear delays; see the module docstring.

    Ears on the interaural axis (+-90 degrees); everything depends on the lateral angle only, so there are no
    front/back or elevation spectral cues (no pinnae, no torso).

    Attributes:
      sample_rate: Hz. n_taps: HRIR length in samples. head_radius_m, speed_of_sound: sphere radius (m) and c
      (m/s). latency_samples: position of a frontal source's impulse in the HRIR (samples).
    """

    def __init__(
        self,
        sample_rate=16000,
        head_radius_m=geometry.HEAD_RADIUS_M,
        speed_of_sound=geometry.SPEED_OF_SOUND_M_S,
        n_taps=64,
    ):
        for name, value in (
            ("sample_rate", sample_rate),
            ("head_radius_m", head_radius_m),
            ("speed_of_sound", speed_of_sound),
            ("n_taps", n_taps),
        ):
            if not value > 0:
                raise ValueError(f"SphericalHeadHRTF: {name} must be positive, got {value!r}")
        self.sample_rate = int(sample_rate)
        self.n_taps = int(n_taps)
        self.head_radius_m = float(head_radius_m)
        self.speed_of_sound = float(speed_of_sound)
        # Per-ear delays span [-(a/c), (a/c) pi/2]; centre that span in the filter so both ends keep room.
        a_c = self.head_radius_m / self.speed_of_sound * self.sample_rate
        lo, hi = -a_c, a_c * np.pi / 2
        self.latency_samples = int(round((self.n_taps - 1 - (lo + hi)) / 2))
        self._half_width = min(self.latency_samples + lo, self.n_taps - 1 - (self.latency_samples + hi))
        if self._half_width < 8:
            raise ValueError(
                f"SphericalHeadHRTF: n_taps={n_taps} is too short for head_radius_m={head_radius_m} at "
                f"{sample_rate} Hz; use at least {int(np.ceil(hi - lo + 17))} taps"
            )
        # Design grid: long enough that the periodic kernel's aliases are negligible inside the window.
        self._n_fft = max(512, _next_pow2(4 * self.n_taps))
        self._omega = 2 * np.pi * np.fft.rfftfreq(self._n_fft, d=1.0 / self.sample_rate)  # rad/s, [F]

    def ear_angles(self, azimuth_deg, elevation_deg) -> np.ndarray:
        """Angle between each source direction and each ear's axis (+y left, -y right): [K, 2] radians."""
        az, el = _as_directions(azimuth_deg, elevation_deg)
        y = geometry.direction_vector(az, el)[:, 1]
        return np.arccos(np.clip(np.stack([y, -y], axis=-1), -1.0, 1.0))

    def hrir(self, azimuth_deg, elevation_deg) -> np.ndarray:
        """HRIRs of K directions (degrees, broadcastable) -> [K, 2, n_taps] float32 (0 = left, 1 = right)."""
        theta = self.ear_angles(azimuth_deg, elevation_deg)  # [K, 2]
        a_c = self.head_radius_m / self.speed_of_sound
        ear_delay_s = np.where(theta < np.pi / 2, -a_c * np.cos(theta), a_c * (theta - np.pi / 2))
        centre = self.latency_samples + ear_delay_s * self.sample_rate  # [K, 2] samples
        alpha = (1 + _ALPHA_MIN / 2) + (1 - _ALPHA_MIN / 2) * np.cos(np.pi * theta / _THETA_MIN_RAD)
        u2 = (self._omega / (2 * self.speed_of_sound / self.head_radius_m)) ** 2  # (w / 2 w0)^2, [F]
        magnitude = np.sqrt((1 + alpha[..., None] ** 2 * u2) / (1 + u2))  # [K, 2, F]
        spectrum = magnitude * np.exp(-1j * self._omega * centre[..., None] / self.sample_rate)
        kernel = np.fft.irfft(spectrum, n=self._n_fft, axis=-1)[..., : self.n_taps]
        offset = np.arange(self.n_taps) - centre[..., None]  # [K, 2, n_taps]
        window = np.where(np.abs(offset) < self._half_width, np.cos(np.pi * offset / (2 * self._half_width)) ** 2, 0.0)
        h = kernel * window
        h /= h.sum(axis=-1, keepdims=True)
        return h.astype(np.float32)


def _upsampled_magnitude(ir: np.ndarray, upsample: int) -> np.ndarray:
    """|ir| after band-limited (FFT) upsampling: [..., N] -> [..., N * upsample], same amplitude scale."""
    n = ir.shape[-1]
    n_fft = _next_pow2(2 * n)  # zero padding keeps the late tail from wrapping onto the start
    fine = np.fft.irfft(np.fft.rfft(ir, n_fft, axis=-1), n_fft * upsample, axis=-1) * upsample
    return np.abs(fine[..., : n * upsample])


def _onset_samples(ir: np.ndarray, threshold_db: float = -10.0, upsample: int = 8) -> np.ndarray:
    """Fractional onset of each IR in samples: first crossing of |ir| `threshold_db` below its peak.

    -10 dB sits above the -13 dB first sidelobe of a band-limited impulse, so pre-ringing is not taken for
    the onset. Args: ir [..., N]. Returns: [...] float64 onsets (0 for an all-zero IR).
    """
    fine = _upsampled_magnitude(ir, upsample)
    thr = fine.max(axis=-1, keepdims=True) * 10 ** (threshold_db / 20)
    k = np.argmax(fine >= thr, axis=-1)[..., None]
    # Linear interpolation between the last sample below and the first at/above the threshold.
    below = np.take_along_axis(fine, np.maximum(k - 1, 0), -1)
    above = np.take_along_axis(fine, k, -1)
    frac = np.where(k > 0, (thr - below) / np.where(k > 0, above - below, 1.0), 0.0)
    return ((np.maximum(k - 1, 0) + frac) / upsample)[..., 0]


def _peak_samples(ir: np.ndarray, upsample: int = 8) -> np.ndarray:
    """Position of max |ir| after band-limited upsampling, in samples: [..., N] -> [...]."""
    return np.argmax(_upsampled_magnitude(ir, upsample), axis=-1) / upsample


def _spherical_triangles(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulates unit vectors [M, 3] on the sphere (faces of their convex hull).

    Returns:
      faces: [T, 3] vertex indices; T = 0 when the directions span no volume (fewer than 4, or all on one
        great circle, e.g. a horizontal-plane-only set).
      inverse: [T + 1, 3, 3] inverses of the vertex matrices (vertices as columns), so that inverse @ u are the
        barycentric coordinates of direction u; entry T is all-NaN, a face that contains nothing.
      vertex_faces: [M, D] the faces at each vertex, padded with T.
    """
    m = directions.shape[0]
    try:
        faces = spatial.ConvexHull(directions).simplices
    except (spatial.QhullError, ValueError):
        faces = np.zeros((0, 3), np.int64)
    vertices = directions[faces].transpose(0, 2, 1)  # [T, 3, 3], vertices as columns
    # A face whose plane passes through the origin (the rim of a hemisphere-only set) contains no direction.
    usable = np.abs(np.linalg.det(vertices)) > 1e-9
    faces, vertices = faces[usable], vertices[usable]
    t = len(faces)
    inverse = np.concatenate([np.linalg.inv(vertices), np.full((1, 3, 3), np.nan)])
    vertex = faces.reshape(-1)
    order = np.argsort(vertex, kind="stable")
    counts = np.bincount(vertex, minlength=m)
    slot = np.arange(vertex.size) - np.repeat(np.cumsum(counts) - counts, counts)
    vertex_faces = np.full((m, max(1, counts.max(initial=0))), t)
    vertex_faces[vertex[order], slot] = np.repeat(np.arange(t), 3)[order]
    return faces, inverse, vertex_faces


def _sofa_unit_vectors(positions: np.ndarray, kind: str, units: str, what: str) -> np.ndarray:
    """SOFA positions [M, 3] (spherical az/el/r or cartesian x/y/z) -> unit direction vectors [M, 3]."""
    kind = str(kind).lower()
    if kind == "spherical":
        scale = 1.0 if "radian" in str(units).lower() else np.pi / 180
        az, el = positions[:, 0] * scale, positions[:, 1] * scale
        return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)
    if kind == "cartesian":
        norm = np.linalg.norm(positions, axis=-1, keepdims=True)
        if np.any(norm == 0):
            raise ValueError(f"{what}: a cartesian position is at the origin, so it has no direction")
        return positions / norm
    raise ValueError(f"{what}: unsupported position type {kind!r} (expected 'spherical' or 'cartesian')")


class SofaHRTF:
    """Measured HRIRs from a SOFA SimpleFreeFieldHRIR file, resampled and interpolated (module docstring).

    Build with `SofaHRTF.from_file`. The listener is assumed to look along +x (the convention's default
    ListenerView); directions are read from SourcePosition relative to the listener and its distance is ignored
    (a set measured at several distances is treated as one set of directions).

    Attributes:
      sample_rate: Hz. n_taps: HRIR length in samples at sample_rate. latency_samples: peak position of the
      interpolated frontal (0, 0) HRIR pair (samples). path: the file read. directions: [M, 3] unit vectors of
      the measured directions.
    """

    def __init__(self, ir: np.ndarray, directions: np.ndarray, delays: np.ndarray, sample_rate: int, path: str = ""):
        """Args: ir [M, 2, N] HRIRs at sample_rate (0 = left); directions [M, 3] unit vectors; delays [M, 2]
        extra per-IR delays in samples (SOFA Data_Delay, already at sample_rate)."""
        self.path = path
        self.sample_rate = int(sample_rate)
        self.directions = np.asarray(directions, np.float64)
        delays = np.asarray(delays, np.float64)
        self.n_taps = int(ir.shape[-1] + np.ceil(max(delays.max(), 0.0)))
        self._n_fft = _next_pow2(2 * self.n_taps)  # room for re-applied delays without wrap-around
        self._omega = 2 * np.pi * np.fft.rfftfreq(self._n_fft)  # rad/sample, [F]
        onset = _onset_samples(ir)
        self._delay = onset + delays  # [M, 2]
        spectrum = np.fft.rfft(ir, self._n_fft, axis=-1)
        self._aligned = spectrum * np.exp(1j * self._omega * onset[..., None])  # [M, 2, F], onset moved to 0
        self._faces, self._face_inverse, self._vertex_faces = _spherical_triangles(self.directions)
        front = self.hrir(0.0, 0.0)[0].astype(np.float64)
        self.latency_samples = int(round(float(np.mean(_peak_samples(front)))))

    @classmethod
    def from_file(cls, path, sample_rate=16000) -> SofaHRTF:
        """Reads a SimpleFreeFieldHRIR SOFA file with `sofar`, resampling to sample_rate Hz if needed.

        Raises:
          ValueError naming the file if it is missing, unreadable, of another convention or malformed.
        """
        import sofar  # Deferred: only SOFA users pay for the netCDF stack.

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(f"SofaHRTF: {path}: no such file")
        try:
            sofa = sofar.read_sofa(path, verbose=False)
        except Exception as e:  # sofar/netCDF raise OSError, ValueError, KeyError... for non-SOFA input.
            raise ValueError(f"SofaHRTF: {path}: not a readable SOFA file ({type(e).__name__}: {e})") from e
        convention = getattr(sofa, "GLOBAL_SOFAConventions", None)
        if convention != "SimpleFreeFieldHRIR":
            raise ValueError(f"SofaHRTF: {path}: convention is {convention!r}, expected 'SimpleFreeFieldHRIR'")
        ir = np.asarray(sofa.Data_IR, np.float64)
        if ir.ndim != 3 or ir.shape[1] != 2:
            raise ValueError(f"SofaHRTF: {path}: Data_IR has shape {ir.shape}, expected [M, 2, N]")
        m = ir.shape[0]
        where = f"SofaHRTF: {path}: SourcePosition"
        source = np.asarray(sofa.SourcePosition, np.float64).reshape(-1, 3)
        if source.shape[0] != m:
            raise ValueError(f"{where} has {source.shape[0]} rows for {m} measurements")
        directions = _sofa_unit_vectors(source, sofa.SourcePosition_Type, sofa.SourcePosition_Units, where)
        receivers = np.asarray(sofa.ReceiverPosition, np.float64).reshape(2, 3, -1)[:, :, 0]
        receivers = _sofa_unit_vectors(
            receivers, sofa.ReceiverPosition_Type, sofa.ReceiverPosition_Units, f"SofaHRTF: {path}: ReceiverPosition"
        )
        delays = np.broadcast_to(np.asarray(sofa.Data_Delay, np.float64).reshape(-1, 2), (m, 2))
        if receivers[0, 1] < receivers[1, 1]:  # receiver 0 is the right ear (-y): reorder to left, right
            ir, delays = ir[:, ::-1], delays[:, ::-1]
        file_rate = float(np.ravel(sofa.Data_SamplingRate)[0])
        ratio = fractions.Fraction(int(sample_rate), 1) / fractions.Fraction(file_rate).limit_denominator(1000)
        if ratio != 1:
            # resample_poly keeps waveform amplitudes, but an IR's frequency response is a sum over its samples,
            # so the gain scales by file_rate / sample_rate; its FIR is zero-phase, so delays scale by the ratio.
            ir = sps.resample_poly(ir, ratio.numerator, ratio.denominator, axis=-1) / float(ratio)
        return cls(ir, directions, delays * float(ratio), sample_rate, path=path)

    def _containing_faces(self, query: np.ndarray, candidates: np.ndarray):
        """For directions [K, 3] and candidate faces [K, C]: a face containing each direction [K], whether one
        was found [K], and the direction's barycentric coordinates in it [K, 3]."""
        g = np.einsum("kcij,kj->kci", self._face_inverse[candidates], query)
        # Inside: all three coordinates >= 0 (the NaN sentinel face never is); unrolled, min over a length-3
        # axis is slow in numpy.
        inside = (g[..., 0] >= -1e-9) & (g[..., 1] >= -1e-9) & (g[..., 2] >= -1e-9)
        pick = np.argmax(inside, axis=1)
        rows = np.arange(query.shape[0])
        return candidates[rows, pick], inside[rows, pick], g[rows, pick]

    def _weights(self, azimuth_deg, elevation_deg) -> tuple[np.ndarray, np.ndarray]:
        """Measured-direction indices [K, k] and interpolation weights [K, k] (rows sum to 1), k <= 3."""
        az, el = _as_directions(azimuth_deg, elevation_deg)
        query = geometry.direction_vector(az, el)  # [K, 3]
        cos = query @ self.directions.T  # [K, M]
        k = min(3, cos.shape[1])
        # Inverse-squared-angle weights on the 3 nearest directions: the fallback outside the triangulation.
        idx = np.argpartition(-cos, k - 1, axis=1)[:, :k]
        angle = np.arccos(np.clip(np.take_along_axis(cos, idx, axis=1), -1.0, 1.0))
        w = 1.0 / np.maximum(angle, 1e-6) ** 2
        exact = angle.min(axis=1) < 1e-6  # a measured direction: return its HRIR exactly
        nearest = np.take_along_axis(idx, np.argmin(angle, axis=1)[:, None], axis=1)
        if len(self._faces):
            # The containing triangle almost always touches one of the 3 nearest directions; search all
            # triangles only for the rest.
            face, found, g = self._containing_faces(query, self._vertex_faces[idx].reshape(len(query), -1))
            everywhere = np.arange(len(self._faces))
            for start in range(0, int(np.sum(~found)), _QUERY_CHUNK):
                rows = np.flatnonzero(~found)[start : start + _QUERY_CHUNK]
                candidates = np.broadcast_to(everywhere, (rows.size, everywhere.size))
                face[rows], found[rows], g[rows] = self._containing_faces(query[rows], candidates)
            idx[found] = self._faces[face[found]]
            w[found] = np.maximum(g[found], 0.0)
        idx[exact] = nearest[exact]
        w[exact] = np.eye(1, k)
        return idx, w / w.sum(axis=1, keepdims=True)

    def hrir(self, azimuth_deg, elevation_deg) -> np.ndarray:
        """HRIRs of K directions (degrees, broadcastable) -> [K, 2, n_taps] float32 (0 = left, 1 = right)."""
        idx, w = self._weights(azimuth_deg, elevation_deg)
        aligned = np.zeros((idx.shape[0], 2, self._omega.size), np.complex128)
        delay = np.zeros((idx.shape[0], 2))
        for j in range(idx.shape[1]):  # k <= 3 neighbours: a loop keeps memory at one [K, 2, F] block
            aligned += w[:, j, None, None] * self._aligned[idx[:, j]]
            delay += w[:, j, None] * self._delay[idx[:, j]]
        spectrum = aligned * np.exp(-1j * self._omega * delay[..., None])
        return np.fft.irfft(spectrum, self._n_fft, axis=-1)[..., : self.n_taps].astype(np.float32)


def make_hrtf(kind: str, sample_rate: int = 16000, **kwargs):
    """HRTF factory: 'spherical' -> SphericalHeadHRTF(sample_rate, **kwargs); 'sofa' -> SofaHRTF.from_file(path).

    Args:
      kind: 'spherical' or 'sofa'.
      sample_rate: Hz of the returned HRIRs.
      **kwargs: SphericalHeadHRTF keyword arguments (head_radius_m, speed_of_sound, n_taps), or path= for 'sofa'.
    """
    if kind == "spherical":
        return SphericalHeadHRTF(sample_rate=sample_rate, **kwargs)
    if kind == "sofa":
        if set(kwargs) != {"path"}:
            raise ValueError(f"make_hrtf('sofa') takes exactly one keyword, path=; got {sorted(kwargs)}")
        return SofaHRTF.from_file(kwargs["path"], sample_rate=sample_rate)
    raise ValueError(f"make_hrtf: kind must be 'spherical' or 'sofa', got {kind!r}")

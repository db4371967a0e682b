"""First-order ambisonics (FOA): encoding, rotation, energy direction and binaural decoding (pure numpy).

Convention: ACN channel order (W, Y, Z, X) with SN3D normalisation (the AmbiX convention): a plane wave s(t)
from unit direction u = (x ahead, y left, z up) is b = s(t) * [1, u_y, u_z, u_x], so W carries the pressure
and each first-order channel the pressure times a direction cosine. Angles are SOFA/AES69 degrees (azimuth
counter-clockwise from ahead, +90 = left; elevation up), as everywhere in v2a_jax.spatial.

Input in other conventions is converted once, on read (`to_acn_sn3d`):
  'ambix'  ACN/SN3D, unchanged.
  'fuma'   Furse-Malham, channels W, X, Y, Z with W recorded 3 dB down (W_fuma = W / sqrt(2)): W is scaled by
           sqrt(2) and the channels reordered to W, Y, Z, X. (At first order FuMa's X, Y, Z equal SN3D's.)
  'n3d'    ACN/N3D: the first-order channels are sqrt(3) times SN3D's and are divided by sqrt(3).

Rotation (`rotate`): a head/camera orientation R (camera axes -> world axes, `rotation_matrix`) turns the
field's first-order part like a vector, b_xyz' = R^T b_xyz, and leaves W alone, so the rotated field is what a
listener facing along the camera hears. Angles may change every sample; each sample gets the exact rotation
of its own angles, so a smoothly moving camera gives a smoothly varying field (no frame steps, no clicks).
Per-frame trajectories are brought to the sample rate by `per_sample` (linear interpolation of the angles).

Energy direction (`energy_direction`, `phi_max`): the time-averaged active intensity I = <W [X, Y, Z]>, which
points towards the source of a plane wave (W X = s^2 u_x, ...); for a mixture it is the energy-weighted
resultant of the sources' directions (opposite sources of equal power cancel, a diffuse field gives ~0).

Binaural decoding (`BinauralDecoder`), two methods:
  'linear'      virtual loudspeakers. The field is decoded to L = 32 virtual loudspeakers at the vertices of an
                icosahedron and a dodecahedron (each a spherical 5-design, so their union with equal weights is
                one: quadrature of every product of first-order harmonics is exact, and the decoder's gain is the
                same for every source direction), each loudspeaker is filtered with the HRTF's HRIR pair of its
                direction and the ears sum them. Decoding and filtering are linear and time-invariant, so they
                are folded into one [4, 2, taps] filter bank (one FIR per ambisonic channel and ear). Gains:
                g_i = (1 / L) (W + 3 a1 d_i . [X, Y, Z]) with the max-rE weight a1 = cos(137.9 deg / 2.4062)
                ~ 0.577 (Zotter & Frank 2012): the narrowest energy spread a first-order field allows, with a
                small rear lobe. Virtual loudspeakers rather than an SH-domain decoder because they work
                unchanged with every HRTF of the project (the analytic spherical head, and sparse or irregular
                SOFA sets, which `SofaHRTF` interpolates to the loudspeaker directions), whereas an SH-domain
                decoder needs the HRTF's own spherical-harmonic transform, i.e. a dense regular grid.
                First-order linear decoding is blurry: a plane wave reaches each ear through many loudspeakers
                whose HRIRs have different delays, so above ~1 kHz the interaural phase is a mixture and the
                broadband ITD (GCC-PHAT) of a lateral source falls far short of the direct rendering's, or
                jumps between the delays of single loudspeakers (tests and the project's report measure it).
  'parametric'  (default) a DirAC-style decoder (Pulkki 2007; binaural: Laitinen & Pulkki 2009) that gives
                a plane wave the HRTF of its own direction, so the ITD a video-to-binaural model should learn
                survives the first-order bottleneck. On an STFT (periodic Hann, frame_len samples, hop
                frame_len / 2), every time-frequency tile gets the direction of its active intensity
                Re(W* [X, Y, Z]) and the diffuseness psi = 1 - |I| / E, E = (|W|^2 + |X|^2 + |Y|^2 + |Z|^2) / 2,
                both from intensity and energy averaged over +-context frames and bins (psi = 0 for one plane
                wave, 1 for a diffuse field). The ear spectra are sqrt(1 - psi) W H(direction), with H the
                HRTF on a 2 x 5 degree (azimuth x elevation) grid, nearest grid point, plus sqrt(psi) times the
                linear decoder's output (the diffuse part keeps the first-order field's spread). Tiles are
                filtered linearly (FFT long enough for frame + HRIR) and overlap-added, so direction changes
                are crossfaded over one window and do not click. Its cost: mixtures of simultaneous sources
                in one tile are rendered from their resultant direction.
Both are left-right symmetric (the layout is symmetric under y -> -y, the grid contains every mirror
direction), so a left-right symmetric field (e.g. a plane wave from straight ahead) gives identical ears with a
left-right symmetric HRTF.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from v2a_jax.spatial import geometry

FORMATS = ("ambix", "fuma", "n3d")
METHODS = ("parametric", "linear")
# Max-rE first-order weight for 3-D layouts (Zotter & Frank 2012): cos(137.9 deg / 2.4062).
MAX_RE_WEIGHT = float(np.cos(np.radians(137.9 / 2.4062)))
# Direction grid of the parametric decoder's HRTFs (degrees): nearest-neighbour lookup per STFT tile.
GRID_AZ_DEG = 2.0
GRID_EL_DEG = 5.0


def _check_foa(foa, what: str) -> np.ndarray:
    b = np.asarray(foa, np.float64)
    if b.ndim != 2 or b.shape[0] != 4:
        raise ValueError(f"{what}: expected first-order ambisonics [4, N], got shape {b.shape}")
    return b


def to_acn_sn3d(foa, fmt: str) -> np.ndarray:
    """Converts FOA [4, N] in `fmt` ('ambix', 'fuma' or 'n3d'; module docstring) to ACN/SN3D float64 [4, N]."""
    b = _check_foa(foa, "to_acn_sn3d")
    if fmt == "ambix":
        return b.copy()
    if fmt == "fuma":
        w, x, y, z = b
        return np.stack([w * np.sqrt(2.0), y, z, x])
    if fmt == "n3d":
        return np.concatenate([b[:1], b[1:] / np.sqrt(3.0)])
    raise ValueError(f"to_acn_sn3d: format must be one of {FORMATS}, got {fmt!r}")


def encode(signal, azimuth_deg, elevation_deg=0.0) -> np.ndarray:
    """A mono signal [N] as a plane wave from (azimuth, elevation) (SOFA degrees, scalars or per-sample [N])
    -> ACN/SN3D FOA float64 [4, N]."""
    s = np.asarray(signal, np.float64)
    if s.ndim != 1:
        raise ValueError(f"encode: signal must be 1-D [N], got shape {s.shape}")
    az, el = np.broadcast_arrays(np.asarray(azimuth_deg, np.float64), np.asarray(elevation_deg, np.float64))
    if az.ndim != 0 and az.shape != (s.size,):
        raise ValueError(f"encode: angles must be scalars or have shape ({s.size},), got {az.shape}")
    u = geometry.direction_vector(az, el).reshape(-1, 3)  # [1 or N, 3]
    return s[None] * np.stack([np.ones(u.shape[0]), u[:, 1], u[:, 2], u[:, 0]])


def rotation_matrix(yaw_deg, pitch_deg=0.0, roll_deg=0.0) -> np.ndarray:
    """Orientation of a camera/head: matrices [..., 3, 3] whose columns are its forward, left and up axes in world
    coordinates (x ahead, y left, z up), R = Rz(yaw) Ry(-pitch) Rx(roll).

    yaw: world azimuth the camera looks along (SOFA, counter-clockwise); pitch: elevation of the viewing axis
    (up > 0); roll: rotation about the viewing axis by the right-hand rule about forward, so roll > 0 raises the
    camera's left side (the head tilts towards the right shoulder). Angles in degrees, broadcastable.
    """
    y, p, r = (np.radians(np.asarray(a, np.float64)) for a in np.broadcast_arrays(yaw_deg, pitch_deg, roll_deg))
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    forward = np.stack([cp * cy, cp * sy, sp], axis=-1)
    # Left and up before roll (yaw-pitch frame), then rolled about forward.
    left0 = np.stack([-sy, cy, np.zeros_like(y)], axis=-1)
    up0 = np.stack([-sp * cy, -sp * sy, cp], axis=-1)
    left = cr[..., None] * left0 + sr[..., None] * up0
    up = -sr[..., None] * left0 + cr[..., None] * up0
    return np.stack([forward, left, up], axis=-1)


def world_to_camera(directions, yaw_deg, pitch_deg=0.0, roll_deg=0.0) -> np.ndarray:
    """World unit vectors [..., 3] expressed in the camera's axes (forward, left, up): R^T d, broadcast over
    the angles' shape."""
    return np.einsum("...ji,...j->...i", rotation_matrix(yaw_deg, pitch_deg, roll_deg), np.asarray(directions))


def per_sample(frame_angles_deg, num_samples: int, fps: float, sample_rate: int) -> np.ndarray:
    """Per-video-frame angles [T] (frame t at time t / fps) -> per-sample [num_samples] by linear interpolation
    of the unwrapped angle (so 179 -> -179 turns 2 degrees, not 358); held constant beyond the last frame."""
    a = np.degrees(np.unwrap(np.radians(np.asarray(frame_angles_deg, np.float64))))
    return np.interp(np.arange(num_samples) / sample_rate, np.arange(a.size) / fps, a)


def rotate(foa, yaw_deg, pitch_deg=0.0, roll_deg=0.0) -> np.ndarray:
    """The field [4, N] (ACN/SN3D) as heard by a listener oriented (yaw, pitch, roll) (`rotation_matrix`);
    angles are scalars or per-sample [N] (degrees). A source at world azimuth az is heard at az - yaw when only
    the yaw is non-zero. Returns float64 [4, N]; W is unchanged and |[X, Y, Z]| is kept sample by sample."""
    b = _check_foa(foa, "rotate")
    n = b.shape[1]
    angles = [np.asarray(a, np.float64) for a in (yaw_deg, pitch_deg, roll_deg)]
    for name, a in zip(("yaw_deg", "pitch_deg", "roll_deg"), angles):
        if a.ndim != 0 and a.shape != (n,):
            raise ValueError(f"rotate: {name} must be a scalar or have shape ({n},), got {a.shape}")
    r = rotation_matrix(*angles)
    xyz = np.stack([b[3], b[1], b[2]])  # [3, N] in x, y, z order
    if r.ndim == 2:
        out = r.T @ xyz
    else:
        r = np.broadcast_to(r, (n, 3, 3))
        out = np.einsum("nji,jn->in", r, xyz)
    return np.stack([b[0], out[1], out[2], out[0]])


def _angles_deg(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors [..., 3] (x, y, z, any length) -> their (azimuth, elevation) in SOFA degrees, each [...];
    (0, 0) for a zero vector."""
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


def _direction_deg(intensity: np.ndarray) -> np.ndarray:
    """Intensity vectors [..., 3] -> [..., 2] (azimuth, elevation) degrees."""
    return np.stack(_angles_deg(intensity), axis=-1)


def intensity(foa, frame_len: int | None = None) -> np.ndarray:
    """Mean active intensity <W [X, Y, Z]> (x, y, z order) of the whole field [4, N] -> [3], or per frame of
    frame_len samples -> [N // frame_len, 3] (a trailing partial frame is dropped)."""
    b = _check_foa(foa, "intensity")
    prod = b[0][None] * np.stack([b[3], b[1], b[2]])  # [3, N]
    if frame_len is None:
        return prod.mean(axis=1)
    t = b.shape[1] // frame_len
    return prod[:, : t * frame_len].reshape(3, t, frame_len).mean(axis=-1).T


def energy_direction(foa, frame_len: int) -> np.ndarray:
    """Direction of the field's energy (active intensity) per frame of frame_len samples: [4, N] ->
    [N // frame_len, 2] (azimuth, elevation) SOFA degrees."""
    return _direction_deg(intensity(foa, frame_len))


def phi_max(foa) -> np.ndarray:
    """Direction of the whole clip's energy, the intensity averaged over all samples: [4, N] -> [2]
    (azimuth, elevation) SOFA degrees."""
    return _direction_deg(intensity(foa))


def _polyhedra_layout() -> np.ndarray:
    """Unit vectors [32, 3]: icosahedron (12) and dodecahedron (20) vertices, symmetric under every axis flip."""
    g = (1 + np.sqrt(5.0)) / 2
    pts = []
    for a in (-1.0, 1.0):
        for b in (-g, g):
            pts += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]  # icosahedron: cyclic permutations of (0, +-1, +-g)
            pts += [(0.0, a / g, b), (a / g, b, 0.0), (b, 0.0, a / g)]  # dodecahedron: (0, +-1/g, +-g) cyclic
    pts += [(x, y, z) for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)]  # dodecahedron: cube
    p = np.asarray(pts)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


LAYOUT = _polyhedra_layout()


class BinauralDecoder:
    """Decodes ACN/SN3D FOA to binaural audio with an HRTF (module docstring: 'parametric' or 'linear').

    Args:
      hrtf: a v2a_jax.spatial.hrtf HRTF (`hrir(az, el) -> [K, 2, taps]`, `latency_samples`, `sample_rate`).
      method: 'parametric' (default) or 'linear'.
      frame_len: STFT window of the parametric decoder in samples (periodic Hann, hop frame_len / 2).
      context: the parametric decoder's intensity and energy are averaged over +-context STFT frames and
        +-context frequency bins before the direction and diffuseness are read from them.
    Attributes:
      filters: [4, 2, taps] float64 FIR of the linear virtual-loudspeaker decoder per ACN channel and ear.
      sample_rate: the HRTF's sample rate.
    """

    def __init__(self, hrtf, method: str = "parametric", frame_len: int = 256, context: int = 2):
        if method not in METHODS:
            raise ValueError(f"BinauralDecoder: method must be one of {METHODS}, got {method!r}")
        if frame_len < 4 or frame_len % 2 or context < 0:
            raise ValueError(
                f"BinauralDecoder: need an even frame_len >= 4 and context >= 0, got {frame_len}, {context}"
            )
        self.method = method
        self.sample_rate = int(hrtf.sample_rate)
        self._latency = int(hrtf.latency_samples)
        self._frame_len, self._context = int(frame_len), int(context)
        d = LAYOUT
        speakers = np.asarray(hrtf.hrir(*_angles_deg(d)), np.float64)  # [L, 2, taps]
        # Loudspeaker i's gain per ACN channel: (1 / L) [1, 3 a1 d_y, 3 a1 d_z, 3 a1 d_x] (max-rE a1).
        gains = np.stack(
            [np.ones(len(d)), 3 * MAX_RE_WEIGHT * d[:, 1], 3 * MAX_RE_WEIGHT * d[:, 2], 3 * MAX_RE_WEIGHT * d[:, 0]]
        ) / len(d)
        self.filters = np.einsum("cl,let->cet", gains, speakers)
        if method == "parametric":
            taps = self.filters.shape[-1]
            self._n_fft = 1 << int(np.ceil(np.log2(frame_len + taps - 1)))  # linear, not circular, filtering
            self._linear_spectra = np.fft.rfft(self.filters, self._n_fft, axis=-1)  # [4, 2, F]
            az, el = np.meshgrid(np.arange(-180.0, 180.0, GRID_AZ_DEG), np.arange(-90.0, 90.1, GRID_EL_DEG))
            grid = np.asarray(hrtf.hrir(az.ravel(), el.ravel()), np.float64)  # [A * E, 2, taps], el-major
            self._grid_spectra = np.fft.rfft(grid, self._n_fft, axis=-1).astype(np.complex64)  # [A * E, 2, F]

    def __call__(self, foa) -> np.ndarray:
        """FOA [4, N] (ACN/SN3D) -> binaural [2, N] float32 (0 = left), advanced by the HRTF's latency like
        `renderer.render_moving_source`, so a frontal plane wave is not delayed."""
        b = _check_foa(foa, "BinauralDecoder")
        n = b.shape[1]
        if self.method == "linear":
            ears = sps.fftconvolve(b[:, None, :], self.filters, axes=-1).sum(axis=0)  # [2, N + taps - 1]
            out = ears[:, self._latency : self._latency + n]
            return np.pad(out, ((0, 0), (0, n - out.shape[1]))).astype(np.float32)
        return self._parametric(b)

    def _parametric(self, b: np.ndarray) -> np.ndarray:
        n, hop, length = b.shape[1], self._frame_len // 2, self._frame_len
        # Frame m covers samples [(m - 1) hop, (m + 1) hop); periodic Hann windows at hop length / 2 sum to 1.
        num_frames = (n - 1) // hop + 2
        padded = np.zeros((4, (num_frames + 1) * hop))
        padded[:, hop : hop + n] = b
        frames = np.lib.stride_tricks.sliding_window_view(padded, length, axis=-1)[:, ::hop][:, :num_frames]
        window = np.sin(np.pi * np.arange(length) / length) ** 2
        spec = np.fft.rfft(frames * window, self._n_fft, axis=-1)  # [4, M, F]
        w, v = spec[0], np.stack([spec[3], spec[1], spec[2]])  # v in x, y, z order
        smooth = lambda x: ndimage.uniform_filter(
            x,
            size=2 * self._context + 1,
            mode="nearest",  # noqa: E731
            axes=(-2, -1),
        )
        inten = np.stack([smooth(c) for c in np.real(np.conj(w)[None] * v)])  # [3, M, F]
        energy = smooth(np.abs(w) ** 2 + np.sum(np.abs(v) ** 2, axis=0))
        # 1 - |I| / E with E = (|W|^2 + |v|^2) / 2: 0 for one plane wave, 1 for a diffuse field or silence.
        norm = np.sqrt(np.sum(inten**2, axis=0))
        diffuse = np.clip(1 - 2 * norm / np.maximum(energy, np.finfo(np.float64).tiny), 0.0, 1.0)
        az, el = _angles_deg(np.moveaxis(inten, 0, -1))
        n_az = int(round(360 / GRID_AZ_DEG))
        col = np.round((az + 180.0) / GRID_AZ_DEG).astype(np.int64) % n_az
        row = np.round((el + 90.0) / GRID_EL_DEG).astype(np.int64)
        # Per tile and ear, the HRTF of the grid direction nearest the tile's: [M, F, 2].
        hrtfs = self._grid_spectra[row * n_az + col, :, np.arange(spec.shape[-1])[None, :]]
        direct = (np.sqrt(1 - diffuse) * w)[..., None] * hrtfs
        spread = np.sqrt(diffuse)[None] * np.einsum("cmf,cef->emf", spec, self._linear_spectra)
        y = np.fft.irfft(np.moveaxis(direct, -1, 0) + spread, self._n_fft, axis=-1)  # [2, M, n_fft]
        # Overlap-add: frame m's output starts at padded position m * hop; split it into hop-long blocks.
        blocks = -(-self._n_fft // hop)
        y = np.pad(y, ((0, 0), (0, 0), (0, blocks * hop - self._n_fft))).reshape(2, num_frames, blocks, hop)
        out = np.zeros((2, num_frames + blocks, hop))
        for k in range(blocks):
            out[:, k : k + num_frames] += y[:, :, k]
        start = hop + self._latency
        return out.reshape(2, -1)[:, start : start + n].astype(np.float32)

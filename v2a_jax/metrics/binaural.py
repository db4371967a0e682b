"""Objective metrics comparing generated binaural audio with a reference (numpy, CPU).

Waveforms are channels-first `[..., 2, N]` (index 0 = left ear, 1 = right ear), float in [-1, 1], 16 kHz by
default. Leading dims are batch dims: every per-clip metric returns an array of shape `[...]` (a 0-d array for
a single clip); `binaural_metrics` averages them into plain floats. Computation is in float64.

Definitions follow section 3 of the project's reference sheet (shared/reference.md):
- STFT / ENV distance: Gao & Grauman, "2.5D Visual Sound" (CVPR 2019), evaluation code.
- Mag / PHS distance: Xu et al., "Visually Informed Binaural Audio Generation without Binaural Audios"
  (PseudoBinaural, CVPR 2021).
- SNR with a 1e-4 regulariser: as used in the PseudoBinaural / Sep-Stereo evaluations.
- ITD by GCC-PHAT: Knapp & Carter (1976), frame-wise; ILD: 10 log10(E_left / E_right) dB; IACC: ISO 3382-1.
- Multi-resolution log-spectral distance: the usual LSD (e.g. AudioSR, NVSR) averaged over STFT resolutions.

Reporting convention of the FAIR-Play papers (`peak_normalised_metrics`): the 2.5D Visual Sound evaluation
script, run as its README says (`evaluate.py --normalization True`), and PseudoBinaural's (normalisation on by
default) divide each clip, prediction and reference separately, by its own peak |sample| over both channels
(floor 1e-20) before STFT, ENV, Mag, PHS and SNR, at 16 kHz, and average the per-clip values over whole 10 s
clips (here: over the evaluated windows). Their published
STFT / ENV numbers are on that scale, so a table that sits next to theirs uses those columns; the plain columns
are on the audio as given (here: the stored audio) and change with its level (STFT, Mag by the level squared).

Sign conventions (project-wide): ITD > 0 when the LEFT ear leads (right = delayed copy of left);
ILD > 0 when the left ear is louder.

Silence: every metric is finite on all-zero input (values documented per function), except the ITD-based
ones, which are NaN exactly when no frame is loud enough to measure an ITD; these always come with a count of
valid frames.
"""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft
import scipy.signal

DEFAULT_SAMPLE_RATE = 16000

# STFT of the 2.5D Visual Sound evaluation (used by stft/mag/phs distances).
STFT_N_FFT = 512
STFT_HOP = 160
STFT_WIN_LENGTH = 400
# The 2.5D Visual Sound code called librosa.stft(center=True) under librosa 0.6, whose default pad_mode was
# "reflect" (librosa >= 0.10 defaults to "constant"); we keep the original "reflect".
STFT_PAD_MODE = "reflect"

SNR_EPS = 1e-4
PEAK_FLOOR = 1e-20  # the FAIR-Play scripts' floor of the peak a clip is divided by
ILD_EPS = 1e-10  # power floor (mean square, i.e. -100 dBFS) so silence gives ILD = 0 dB
LSD_EPS = 1e-8  # power floor of the log-spectral distance (-80 dB re a full-scale white noise bin)

# Frame-wise ITD/ILD defaults: 64 ms frames, 32 ms hop at 16 kHz.
FRAME_LEN = 1024
FRAME_HOP = 512
ENERGY_THRESHOLD_DB = -60.0  # a frame is measurable when BOTH ears exceed this mean-square level (dBFS)
ITD_MAX_LAG_S = 1e-3
GCC_INTERP = 4
GCC_EPS = 1e-12

# Band ILD: octave bands from an STFT with 1024-point Hann frames (15.6 Hz bins at 16 kHz).
BAND_N_FFT = 1024
BAND_HOP = 256


def as_binaural(x, name: str) -> np.ndarray:
    """`x` as float64 `[..., 2, N]` (N >= 2), else ValueError naming `name`. A mono batch `[2, N]` cannot be
    told apart from one binaural clip: callers must pass channels explicitly."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] != 2:
        raise ValueError(f"{name}: expected a binaural waveform [..., 2, N], got shape {x.shape}")
    if x.shape[-1] < 2:
        raise ValueError(f"{name}: need at least 2 samples per channel, got shape {x.shape}")
    return x


def _as_pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = as_binaural(pred, "pred"), as_binaural(gt, "gt")
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {pred.shape} vs {gt.shape}")
    return pred, gt


def stft(
    x, n_fft: int = STFT_N_FFT, hop: int = STFT_HOP, win_length: int = STFT_WIN_LENGTH, pad_mode: str = STFT_PAD_MODE
) -> np.ndarray:
    """Centred STFT as librosa.stft(center=True) computes it (no normalisation).

    A periodic Hann window of `win_length` is zero-padded (centred) to `n_fft`; the signal is padded by
    n_fft // 2 on both sides with numpy's `pad_mode` ("reflect" or "constant" = zeros).

    Args:
      x: `[..., N]` real waveform.
    Returns:
      `[..., n_fft // 2 + 1, 1 + N // hop]` complex128 spectrogram (frequency, frame).
    """
    x = np.asarray(x, dtype=np.float64)
    if win_length > n_fft:
        raise ValueError(f"stft: win_length {win_length} exceeds n_fft {n_fft}")
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = scipy.signal.get_window("hann", win_length, fftbins=True)
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad, mode=pad_mode), n_fft, axis=-1)[..., ::hop, :]
    return np.swapaxes(np.fft.rfft(frames * window, axis=-1), -1, -2)


def stft_distance(pred, gt) -> np.ndarray:
    """2.5D Visual Sound STFT distance.

    Per channel: STFT (n_fft 512, hop 160, win 400 Hann, centred, reflect padding), then the mean over real and
    imaginary parts and all bins of (S_pred - S_gt)^2; summed over the two channels.

    Args:
      pred, gt: `[..., 2, N]`.
    Returns:
      `[...]` distance in squared STFT units (0 for identical inputs).
    """
    pred, gt = _as_pair(pred, gt)
    diff = stft(pred) - stft(gt)
    return np.sum(0.5 * np.mean(diff.real**2 + diff.imag**2, axis=(-2, -1)), axis=-1)


def mag_distance(pred, gt) -> np.ndarray:
    """PseudoBinaural "Mag" distance: per channel mean |S_pred - S_gt|^2 of the complex STFTs, summed.

    Same STFT as `stft_distance`, hence exactly 2 x `stft_distance`.

    Args:
      pred, gt: `[..., 2, N]`.
    Returns:
      `[...]` distance in squared STFT units.
    """
    pred, gt = _as_pair(pred, gt)
    return np.sum(np.mean(np.abs(stft(pred) - stft(gt)) ** 2, axis=(-2, -1)), axis=-1)


def env_distance(pred, gt) -> np.ndarray:
    """2.5D Visual Sound envelope distance: per channel RMSE between Hilbert envelopes |analytic(x)|, summed.

    Args:
      pred, gt: `[..., 2, N]`.
    Returns:
      `[...]` distance in waveform amplitude units.
    """
    pred, gt = _as_pair(pred, gt)
    env_p = np.abs(scipy.signal.hilbert(pred, axis=-1))
    env_g = np.abs(scipy.signal.hilbert(gt, axis=-1))
    return np.sum(np.sqrt(np.mean((env_p - env_g) ** 2, axis=-1)), axis=-1)


def phs_distance(pred, gt) -> np.ndarray:
    """PseudoBinaural phase distance of the interaural difference signal.

    STFT (as `stft_distance`) of L - R for pred and gt; d = |angle(S_pred) - angle(S_gt)| in [0, 2 pi];
    mean over all bins of the wrapped difference min(d, 2 pi - d). Bins where a spectrum is exactly zero have
    angle 0 (numpy's convention), so silence against silence gives 0.

    Args:
      pred, gt: `[..., 2, N]`.
    Returns:
      `[...]` mean phase error in radians, in [0, pi].
    """
    pred, gt = _as_pair(pred, gt)
    d = np.abs(np.angle(stft(pred[..., 0, :] - pred[..., 1, :])) - np.angle(stft(gt[..., 0, :] - gt[..., 1, :])))
    return np.mean(np.minimum(d, 2.0 * np.pi - d), axis=(-2, -1))


def snr_db(pred, gt) -> np.ndarray:
    """SNR of pred against gt over both channels: 10 log10((mean(gt^2) + 1e-4) / (mean((pred - gt)^2) + 1e-4)).

    The 1e-4 regulariser keeps identical inputs finite (10 log10((mean(gt^2) + 1e-4) / 1e-4)) and makes
    silence against silence 0 dB.

    Args:
      pred, gt: `[..., 2, N]`.
    Returns:
      `[...]` SNR in dB.
    """
    pred, gt = _as_pair(pred, gt)
    signal = np.mean(gt**2, axis=(-2, -1))
    noise = np.mean((pred - gt) ** 2, axis=(-2, -1))
    return 10.0 * np.log10((signal + SNR_EPS) / (noise + SNR_EPS))


def frame(x, frame_len: int = FRAME_LEN, hop: int = FRAME_HOP) -> np.ndarray:
    """Splits `[..., N]` into `[..., T, frame_len]` frames starting at t * hop (no centring).

    T = 1 + (N - frame_len) // hop; a trailing partial frame is dropped; a signal shorter than one frame is
    zero-padded to a single frame.
    """
    x = np.asarray(x, dtype=np.float64)
    if frame_len < 1 or hop < 1:
        raise ValueError(f"frame: frame_len and hop must be >= 1, got {frame_len}, {hop}")
    if x.shape[-1] < frame_len:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, frame_len - x.shape[-1])])
    return np.lib.stride_tricks.sliding_window_view(x, frame_len, axis=-1)[..., ::hop, :]


def frame_validity(frames, energy_threshold_db: float = ENERGY_THRESHOLD_DB) -> np.ndarray:
    """Which binaural frames are loud enough for interaural cues.

    Args:
      frames: `[..., 2, T, L]` binaural frames.
      energy_threshold_db: a frame is valid when the mean square of BOTH ears exceeds 10^(threshold / 10)
        (dBFS; -60 dBFS = RMS 1e-3). Requiring both ears avoids cues measured against a silent ear.
    Returns:
      `[..., T]` bool.
    """
    power = np.mean(np.asarray(frames, dtype=np.float64) ** 2, axis=-1)
    return np.all(power > 10.0 ** (energy_threshold_db / 10.0), axis=-2)


def gcc_phat_frames(
    frames,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    max_lag_s: float = ITD_MAX_LAG_S,
    energy_threshold_db: float = ENERGY_THRESHOLD_DB,
    interp: int = GCC_INTERP,
    eps: float = GCC_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """ITD of each binaural frame by GCC-PHAT (Knapp & Carter 1976).

    Per frame of length L: R = X_L conj(X_R) with FFT length 2L (linear, not circular, correlation);
    cc = irfft(R / (|R| + eps)); the peak of cc is searched over lags |lag| <= max_lag_s and refined by
    parabolic interpolation of the peak and its two neighbours. cc[lag] = sum_n l[n + lag] r[n] peaks at
    lag = -d when r is l delayed by d samples, so ITD = -lag / sample_rate (> 0 when the left ear leads).
    `interp` > 1 evaluates cc on a grid `interp` times finer than the sample grid (zero-padded inverse FFT =
    band-limited interpolation) before the parabolic step, which removes most of the parabolic bias on
    fractional delays (about 0.1 sample at interp = 1, under 0.05 sample at the default 4); interp = 1 is the
    plain definition.

    Args:
      frames: `[..., 2, T, L]` binaural frames.
      eps: absolute floor of the PHAT weighting (squared spectral amplitude); it only silences bins that are
        numerically empty (e.g. above the band limit of generated audio).
    Returns:
      itd_s: `[..., T]` ITD in seconds, within +-max_lag_s; NaN where the frame is invalid.
      valid: `[..., T]` bool, `frame_validity(frames, energy_threshold_db)`.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim < 3 or frames.shape[-3] != 2:
        raise ValueError(f"gcc_phat_frames: expected frames [..., 2, T, L], got shape {frames.shape}")
    if interp < 1:
        raise ValueError(f"gcc_phat_frames: interp must be >= 1, got {interp}")
    frame_len = frames.shape[-1]
    max_lag = int(np.floor(max_lag_s * sample_rate * interp))
    if max_lag + 1 >= frame_len * interp:
        raise ValueError(f"gcc_phat_frames: max_lag_s {max_lag_s} is not shorter than the frame ({frame_len} samples)")
    spec = scipy.fft.rfft(frames, n=2 * frame_len, axis=-1)
    cross = spec[..., 0, :, :] * np.conj(spec[..., 1, :, :])
    magnitude = np.abs(cross)
    cross = cross / (magnitude + eps)
    if interp > 1:
        # On the finer grid the old Nyquist bin becomes an ordinary bin whose mirror irfft adds implicitly.
        cross[..., -1] *= 0.5
    cc = scipy.fft.irfft(cross, n=2 * frame_len * interp, axis=-1)
    # Lags -max_lag-1 .. max_lag+1; the outer two only serve as neighbours for the interpolation.
    window = np.concatenate([cc[..., -(max_lag + 1) :], cc[..., : max_lag + 2]], axis=-1)
    k = 1 + np.argmax(window[..., 1:-1], axis=-1)
    y_m, y_0, y_p = (np.take_along_axis(window, (k + o)[..., None], axis=-1)[..., 0] for o in (-1, 0, 1))
    denom = y_m - 2.0 * y_0 + y_p
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom < 0.0, 0.5 * (y_m - y_p) / denom, 0.0)
    lag_samples = (k - (max_lag + 1) + np.clip(delta, -0.5, 0.5)) / interp
    itd = np.clip(-lag_samples / sample_rate, -max_lag_s, max_lag_s)
    valid = frame_validity(frames, energy_threshold_db)
    return np.where(valid, itd, np.nan), valid


def gcc_phat_itd(
    x,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    max_lag_s: float = ITD_MAX_LAG_S,
    frame_len: int = FRAME_LEN,
    hop: int = FRAME_HOP,
    energy_threshold_db: float = ENERGY_THRESHOLD_DB,
    interp: int = GCC_INTERP,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-wise ITD of a binaural waveform by GCC-PHAT (see `gcc_phat_frames` for the estimator).

    Frames: `frame` (frame_len samples every hop samples, default 64 ms / 32 ms at 16 kHz). Frames where
    either ear is below `energy_threshold_db` (default -60 dBFS mean square) are invalid: ITD NaN there.

    Args:
      x: `[..., 2, N]`.
    Returns:
      itd_s: `[..., T]` seconds (> 0: left ear leads), NaN where invalid.
      valid: `[..., T]` bool.
    """
    x = as_binaural(x, "x")
    return gcc_phat_frames(frame(x, frame_len, hop), sample_rate, max_lag_s, energy_threshold_db, interp)


def delta_itd_us(pred, gt, sample_rate: int = DEFAULT_SAMPLE_RATE, **itd_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Mean |ITD_pred - ITD_gt| over frames valid in both signals (GCC-PHAT, `gcc_phat_itd` framing).

    Args:
      pred, gt: `[..., 2, N]`.
      **itd_kwargs: forwarded to `gcc_phat_itd` (max_lag_s, frame_len, hop, energy_threshold_db, interp).
    Returns:
      delta_us: `[...]` microseconds; NaN where no frame is valid in both (count 0).
      count: `[...]` int, number of frames used.
    """
    err, mask = _itd_abs_errors_us(pred, gt, sample_rate, **itd_kwargs)
    count = mask.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.where(mask, err, 0.0).sum(axis=-1) / count, np.nan), count


def _itd_abs_errors_us(pred, gt, sample_rate, **itd_kwargs) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = _as_pair(pred, gt)
    itd_p, valid_p = gcc_phat_itd(pred, sample_rate, **itd_kwargs)
    itd_g, valid_g = gcc_phat_itd(gt, sample_rate, **itd_kwargs)
    return 1e6 * np.abs(itd_p - itd_g), valid_p & valid_g


def ild_db(x) -> np.ndarray:
    """Broadband ILD: 10 log10((mean L^2 + 1e-10) / (mean R^2 + 1e-10)) dB (= sum ratio up to the floor).

    Args:
      x: `[..., 2, N]`.
    Returns:
      `[...]` dB, > 0 when the left ear is louder; 0 for silence.
    """
    x = as_binaural(x, "x")
    power = np.mean(x**2, axis=-1)
    return power_ild_db(power[..., 0], power[..., 1])


def power_ild_db(left, right):
    """ILD in dB of the ears' powers (mean squares, or sums of them; any matching shapes):
    10 log10((L + ILD_EPS) / (R + ILD_EPS)); jax arrays in (also under jit), a jax array out, else numpy."""
    xp = jnp if isinstance(left, jax.Array) or isinstance(right, jax.Array) else np
    return 10.0 * xp.log10((xp.asarray(left) + ILD_EPS) / (xp.asarray(right) + ILD_EPS))


def delta_ild_db(pred, gt) -> np.ndarray:
    """|ILD_pred - ILD_gt| of the broadband ILD (`ild_db`). `[..., 2, N]` x2 -> `[...]` dB."""
    pred, gt = _as_pair(pred, gt)
    return np.abs(ild_db(pred) - ild_db(gt))


def octave_band_edges(sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Octave bands for band ILDs: centres 125 * 2^k Hz, edges centre / sqrt(2) .. centre * sqrt(2).

    Only bands whose upper edge is at or below Nyquist are kept: 125 Hz .. 4 kHz (6 bands) at 16 kHz.

    Returns:
      `[n_bands, 2]` (lower, upper) edges in Hz.
    """
    centres = 125.0 * 2.0 ** np.arange(16)
    centres = centres[centres * np.sqrt(2.0) <= sample_rate / 2.0]
    return np.stack([centres / np.sqrt(2.0), centres * np.sqrt(2.0)], axis=-1)


def band_ild_db(x, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """ILD per octave band (`octave_band_edges`), from an STFT (n_fft 1024, hop 256, Hann 1024, reflect-centred).

    Band power of an ear: mean over frames and over the bins with lower <= f < upper of |S|^2 / sum(window^2)
    (mean-square units, so the 1e-10 floor matches `ild_db`); ILD_b = 10 log10((P_L + 1e-10) / (P_R + 1e-10)).

    Args:
      x: `[..., 2, N]`.
    Returns:
      `[..., n_bands]` dB; 0 for silence.
    """
    x = as_binaural(x, "x")
    edges = octave_band_edges(sample_rate)
    spec = stft(x, n_fft=BAND_N_FFT, hop=BAND_HOP, win_length=BAND_N_FFT)
    window_power = np.sum(scipy.signal.get_window("hann", BAND_N_FFT, fftbins=True) ** 2)
    power = np.mean(np.abs(spec) ** 2, axis=-1) / window_power  # [..., 2, F]
    freqs = np.fft.rfftfreq(BAND_N_FFT, d=1.0 / sample_rate)
    in_band = (freqs[None, :] >= edges[:, :1]) & (freqs[None, :] < edges[:, 1:])  # [n_bands, F]
    band_power = power @ in_band.T / in_band.sum(axis=-1)  # [..., 2, n_bands]
    return power_ild_db(band_power[..., 0, :], band_power[..., 1, :])


def delta_band_ild_db(pred, gt, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Mean over octave bands of |ILD_pred - ILD_gt| (`band_ild_db`). `[..., 2, N]` x2 -> `[...]` dB."""
    pred, gt = _as_pair(pred, gt)
    return np.mean(np.abs(band_ild_db(pred, sample_rate) - band_ild_db(gt, sample_rate)), axis=-1)


def framewise_ild_db(
    x, frame_len: int = FRAME_LEN, hop: int = FRAME_HOP, energy_threshold_db: float = ENERGY_THRESHOLD_DB
) -> tuple[np.ndarray, np.ndarray]:
    """Broadband ILD per frame, with the framing and validity of `gcc_phat_itd`.

    Args:
      x: `[..., 2, N]`.
    Returns:
      ild_db: `[..., T]` dB (10 log10 of the frame mean-square ratio), NaN where invalid.
      valid: `[..., T]` bool (both ears above `energy_threshold_db`).
    """
    frames = frame(as_binaural(x, "x"), frame_len, hop)
    power = np.mean(frames**2, axis=-1)
    valid = frame_validity(frames, energy_threshold_db)
    with np.errstate(divide="ignore", invalid="ignore"):
        ild = 10.0 * np.log10(power[..., 0, :] / power[..., 1, :])
    return np.where(valid, ild, np.nan), valid


def iacc(x, sample_rate: int = DEFAULT_SAMPLE_RATE, max_lag_s: float = ITD_MAX_LAG_S) -> np.ndarray:
    """Interaural cross-correlation coefficient (ISO 3382-1), broadband over the whole signal.

    IACF(lag) = sum_n l[n + lag] r[n] / sqrt(sum l^2 sum r^2) (linear correlation); IACC = max over
    |lag| <= max_lag_s (default 1 ms, rounded down to whole samples) of |IACF|. Defined as 0 when either ear
    is all zeros (no correlation measurable).

    Args:
      x: `[..., 2, N]`.
    Returns:
      `[...]` in [0, 1].
    """
    x = as_binaural(x, "x")
    n = x.shape[-1]
    n_fft = scipy.fft.next_fast_len(2 * n, real=True)
    spec = scipy.fft.rfft(x, n=n_fft, axis=-1)
    cc = scipy.fft.irfft(spec[..., 0, :] * np.conj(spec[..., 1, :]), n=n_fft, axis=-1)
    max_lag = min(int(np.floor(max_lag_s * sample_rate)), n - 1)
    peak = np.max(np.abs(np.concatenate([cc[..., n_fft - max_lag :], cc[..., : max_lag + 1]], axis=-1)), axis=-1)
    norm = np.sqrt(np.sum(x[..., 0, :] ** 2, axis=-1) * np.sum(x[..., 1, :] ** 2, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0.0, peak / norm, 0.0)


def delta_iacc(pred, gt, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """|IACC_pred - IACC_gt| (`iacc`, 1 ms lag range). `[..., 2, N]` x2 -> `[...]`."""
    pred, gt = _as_pair(pred, gt)
    return np.abs(iacc(pred, sample_rate) - iacc(gt, sample_rate))


def multires_log_spectral_distance(pred, gt, fft_sizes=(256, 512, 1024, 2048)) -> np.ndarray:
    """Multi-resolution log-spectral distance (LSD) in dB, for any number of channels.

    For each n_fft: STFT with a periodic Hann window of n_fft, hop n_fft // 4, reflect-centred;
    P = |S|^2 / sum(window^2) (mean-square units); L = 10 log10(P + 1e-8);
    LSD = mean over frames of sqrt(mean over frequencies of (L_pred - L_gt)^2). The result is the mean over
    resolutions and channels. 0 for identical inputs and for silence against silence.

    Args:
      pred, gt: `[..., C, N]` (C >= 1; use `[..., 1, N]` for mono).
    Returns:
      `[...]` dB.
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.ndim < 2:
        raise ValueError(f"multires_log_spectral_distance: expected [..., C, N], got shape {pred.shape}")
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {pred.shape} vs {gt.shape}")
    per_res = []
    for n_fft in fft_sizes:
        window_power = np.sum(scipy.signal.get_window("hann", n_fft, fftbins=True) ** 2)
        log_p, log_g = (
            10.0 * np.log10(np.abs(stft(s, n_fft, n_fft // 4, n_fft)) ** 2 / window_power + LSD_EPS) for s in (pred, gt)
        )
        per_res.append(np.mean(np.sqrt(np.mean((log_p - log_g) ** 2, axis=-2)), axis=-1))  # [..., C]
    return np.mean(np.stack(per_res, axis=0), axis=(0, -1))


def peak_normalise(x) -> np.ndarray:
    """`[..., 2, N]` clips each divided by its own peak |sample| over both channels (at least PEAK_FLOOR)."""
    x = as_binaural(x, "x")
    return x / np.maximum(PEAK_FLOOR, np.max(np.abs(x), axis=(-2, -1), keepdims=True))


def peak_normalised_metrics(pred, gt) -> dict[str, float]:
    """STFT, ENV, Mag and SNR as the FAIR-Play papers report them (module docstring): each clip of pred and of gt
    peak-normalised on its own (`peak_normalise`), then the per-clip distances averaged over the batch.

    Keys: stft_peak_norm, env_peak_norm, mag_peak_norm, snr_peak_norm_db; independent of each clip's level.
    (PHS needs no such key: `phs_distance` does not change when a clip is scaled.)

    Args:
      pred, gt: `[2, N]` or `[..., 2, N]`.
    """
    pred, gt = _as_pair(pred, gt)
    pred, gt = peak_normalise(pred), peak_normalise(gt)
    per_clip = {
        "stft_peak_norm": stft_distance(pred, gt),
        "env_peak_norm": env_distance(pred, gt),
        "mag_peak_norm": mag_distance(pred, gt),
        "snr_peak_norm_db": snr_db(pred, gt),
    }
    return {k: float(np.mean(v)) for k, v in per_clip.items()}


def binaural_metrics(pred, gt, sample_rate: int = DEFAULT_SAMPLE_RATE) -> dict[str, float]:
    """All generated-vs-reference binaural metrics, averaged over the leading (batch) dims.

    Keys: stft, env, mag, phs (rad), snr_db, lsd_db, delta_ild_db, delta_band_ild_db, delta_iacc,
    delta_itd_us, itd_valid_frames. delta_itd_us pools frames over the batch (mean over all frames valid in
    both pred and gt; NaN when itd_valid_frames == 0); every other value is the mean of per-clip values.

    Args:
      pred, gt: `[2, N]` or `[..., 2, N]`.
    """
    pred, gt = _as_pair(pred, gt)
    itd_err, itd_mask = _itd_abs_errors_us(pred, gt, sample_rate)
    count = int(itd_mask.sum())
    per_clip = {
        "stft": stft_distance(pred, gt),
        "env": env_distance(pred, gt),
        "mag": mag_distance(pred, gt),
        "phs": phs_distance(pred, gt),
        "snr_db": snr_db(pred, gt),
        "lsd_db": multires_log_spectral_distance(pred, gt),
        "delta_ild_db": delta_ild_db(pred, gt),
        "delta_band_ild_db": delta_band_ild_db(pred, gt, sample_rate),
        "delta_iacc": delta_iacc(pred, gt, sample_rate),
    }
    out = {k: float(np.mean(v)) for k, v in per_clip.items()}
    out["delta_itd_us"] = float(itd_err[itd_mask].mean()) if count else float("nan")
    out["itd_valid_frames"] = float(count)
    return out

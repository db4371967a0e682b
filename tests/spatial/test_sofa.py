"""SofaHRTF against small SOFA files written here: HRIRs that are pure delays and gains at known directions."""

import numpy as np
import pytest
import sofar
from scipy import signal as sps

from tests.spatial.test_rendering import measure_itd
from v2a_jax.spatial import geometry, hrtf, renderer

FILE_RATE = 48000
FS = 16000
N_FILE = 240  # taps at 48 kHz
BULK = 90  # samples at 48 kHz of a frontal source (room for resampling pre-ringing)
# Measured directions: a 30-degree grid at elevations -30, 0, 30 plus the poles.
GRID = np.array([(az, el) for el in (-30, 0, 30) for az in range(0, 360, 30)] + [(0, 90), (0, -90)], float)
RING = np.array([(az, 0) for az in range(0, 360, 30)], float)  # all on one circle: no triangulation


def ear_delays_gains(az_deg, el_deg=0.0):
    """Per-ear delays (integer samples at 48 kHz) and gains of the synthetic set: [2] each (left, right)."""
    s = np.cos(np.deg2rad(el_deg)) * np.sin(np.deg2rad(az_deg))  # sine of the lateral angle
    shift = 3 * int(round(6 * s))  # multiples of 3, so the delays stay whole samples at 16 kHz
    return np.array([BULK - shift, BULK + shift]), np.array([1 + 0.5 * s, 1 - 0.5 * s])


def synthetic_ir(az_deg, el_deg=0.0):
    ir = np.zeros((2, N_FILE))
    delays, gains = ear_delays_gains(az_deg, el_deg)
    ir[0, delays[0]], ir[1, delays[1]] = gains
    return ir


def write_sofa(path, *, grid=GRID, cartesian=False, shift_into_data_delay=0, convention="SimpleFreeFieldHRIR"):
    sofa = sofar.Sofa(convention)
    ir = np.stack([synthetic_ir(az, el) for az, el in grid])
    if shift_into_data_delay:
        ir = np.roll(ir, -shift_into_data_delay, axis=-1)
        sofa.Data_Delay = np.full((1, 2), float(shift_into_data_delay))
    else:
        sofa.Data_Delay = np.zeros((1, 2))  # GeneralFIR's default has one receiver
    sofa.Data_IR = ir
    sofa.Data_SamplingRate = FILE_RATE
    if convention == "SimpleFreeFieldHRIR":
        az, el = np.deg2rad(grid[:, 0]), np.deg2rad(grid[:, 1])
        if cartesian:
            sofa.SourcePosition = 1.5 * np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)
            sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
        else:
            sofa.SourcePosition = np.concatenate([grid, np.full((len(grid), 1), 1.5)], axis=-1)
    sofar.write_sofa(str(path), sofa)
    return path


@pytest.fixture(scope="module")
def sofa_path(tmp_path_factory):
    return write_sofa(tmp_path_factory.mktemp("sofa") / "synthetic.sofa")


@pytest.fixture(scope="module")
def loaded(sofa_path):
    return hrtf.SofaHRTF.from_file(sofa_path, sample_rate=FS)


def test_measured_direction_returns_its_resampled_hrir(loaded):
    assert loaded.sample_rate == FS
    for az, el in ((0, 0), (30, 0), (90, 0), (240, 0), (60, 30), (0, -90)):
        # Resampling the IR as a waveform divides its frequency response by 3 (a third as many samples).
        expected = 3 * sps.resample_poly(synthetic_ir(az, el), 1, 3, axis=-1)
        got = loaded.hrir(az, el)
        assert got.shape == (1, 2, loaded.n_taps) and got.dtype == np.float32
        np.testing.assert_allclose(got[0, :, : expected.shape[-1]], expected, atol=1e-5)
    # The SOFA convention's azimuth wraps: -60 is the measured 300.
    np.testing.assert_allclose(loaded.hrir(-60.0, 0.0), loaded.hrir(300.0, 0.0), atol=1e-6)


def test_rendered_delays_match_the_file(loaded):
    x = np.random.default_rng(0).standard_normal(FS // 2)
    assert loaded.latency_samples == BULK // 3
    for az in (30, 60, 90, 270):
        y = renderer.render_moving_source(x, az, 0.0, 1.0, loaded)
        delays, gains = ear_delays_gains(az)
        expected_itd = (delays[1] - delays[0]) / FILE_RATE
        assert measure_itd(y[0], y[1], FS) == pytest.approx(expected_itd, abs=2e-6)
        # Each ear relative to the input: the file's delay minus the frontal bulk delay.
        for ear in range(2):
            ear_delay = -measure_itd(y[ear], x, FS)
            assert ear_delay == pytest.approx((delays[ear] - BULK) / FILE_RATE, abs=2e-6)
        # Pure gains at 48 kHz: each ear's level is the file's gain (less the resampler's band edge near 8 kHz).
        levels_db = 10 * np.log10(np.mean(y.astype(np.float64) ** 2, axis=-1) / np.mean(x**2))
        np.testing.assert_allclose(levels_db, 20 * np.log10(gains), atol=0.3)
        assert levels_db[0] - levels_db[1] == pytest.approx(20 * np.log10(gains[0] / gains[1]), abs=0.05)


@pytest.mark.parametrize("grid", ["sphere", "ring"])
def test_interpolation_lies_between_neighbours(grid, loaded, tmp_path):
    # "sphere": barycentric in the triangulated grid; "ring": the inverse-angle fallback.
    head = (
        loaded
        if grid == "sphere"
        else hrtf.SofaHRTF.from_file(write_sofa(tmp_path / "ring.sofa", grid=RING), sample_rate=FS)
    )
    x = np.random.default_rng(1).standard_normal(FS // 2)

    def itd_ild(az):
        y = renderer.render_moving_source(x, az, 0.0, 1.0, head).astype(np.float64)
        return measure_itd(y[0], y[1], FS), 10 * np.log10(np.sum(y[0] ** 2) / np.sum(y[1] ** 2))

    (itd30, ild30), (itd45, ild45), (itd60, ild60) = itd_ild(30), itd_ild(45), itd_ild(60)
    assert itd30 < itd45 < itd60
    assert ild30 < ild45 < ild60
    if grid == "sphere":  # (45, 0) is halfway along the grid edge from (30, 0) to (60, 0): equal weights
        assert itd45 == pytest.approx((itd30 + itd60) / 2, abs=2e-6)
    # Onset-aligned averaging keeps one full-height impulse per ear; averaging the time-shifted neighbours
    # (2 samples apart at 16 kHz here) would give two impulses of about half the height.
    peak = np.abs(sps.resample(head.hrir(45.0, 0.0)[0], 16 * head.n_taps, axis=-1)).max(axis=-1)
    _, gains30 = ear_delays_gains(30)
    _, gains60 = ear_delays_gains(60)
    assert np.all(peak > 0.95 * np.minimum(gains30, gains60)), peak


def test_sofa_made_from_the_spherical_head_keeps_woodworth_itd_between_grid_points(tmp_path):
    # A 15-degree grid of 48 kHz spherical-head HRIRs, read back at 16 kHz and queried off the grid.
    az, el = np.meshgrid(np.arange(0.0, 360.0, 15.0), np.arange(-45.0, 90.0, 15.0))
    grid = np.stack([np.append(az.ravel(), 0.0), np.append(el.ravel(), 90.0)], axis=-1)
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = hrtf.SphericalHeadHRTF(sample_rate=FILE_RATE, n_taps=256).hrir(grid[:, 0], grid[:, 1])
    sofa.Data_SamplingRate = FILE_RATE
    sofa.SourcePosition = np.concatenate([grid, np.ones((len(grid), 1))], axis=-1)
    sofar.write_sofa(str(tmp_path / "sphere.sofa"), sofa)
    head = hrtf.SofaHRTF.from_file(tmp_path / "sphere.sofa", sample_rate=FS)
    x = np.random.default_rng(2).standard_normal(FS // 2)
    for az, el in ((5.0, 0.0), (25.0, 0.0), (80.0, 0.0), (50.0, 20.0), (-40.0, -10.0), (130.0, 35.0)):
        y = renderer.render_moving_source(x, az, el, 1.0, head)
        expected = geometry.woodworth_itd(az, el)
        assert measure_itd(y[0], y[1], FS) == pytest.approx(expected, rel=0.02), (az, el)


def test_cartesian_positions_and_data_delay_give_the_same_hrtf(tmp_path, loaded):
    az, el = np.array([0.0, 30.0, 45.0, 100.0, -75.0]), np.array([0.0, 0.0, 10.0, -20.0, 45.0])
    reference = loaded.hrir(az, el)
    cart = hrtf.SofaHRTF.from_file(write_sofa(tmp_path / "cart.sofa", cartesian=True), sample_rate=FS)
    np.testing.assert_allclose(cart.hrir(az, el), reference, atol=1e-5)
    delayed = hrtf.make_hrtf("sofa", FS, path=write_sofa(tmp_path / "delay.sofa", shift_into_data_delay=30))
    assert isinstance(delayed, hrtf.SofaHRTF)
    np.testing.assert_allclose(delayed.hrir(az, el)[..., : reference.shape[-1]], reference, atol=1e-4)


def test_file_at_native_rate_is_not_resampled(sofa_path):
    native = hrtf.SofaHRTF.from_file(sofa_path, sample_rate=FILE_RATE)
    np.testing.assert_allclose(native.hrir(60.0, 0.0)[0], synthetic_ir(60), atol=1e-6)


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    missing = tmp_path / "missing.sofa"
    with pytest.raises(ValueError, match="missing.sofa"):
        hrtf.SofaHRTF.from_file(missing)
    text = tmp_path / "notes.sofa"
    text.write_text("not a SOFA file")
    with pytest.raises(ValueError, match="notes.sofa"):
        hrtf.SofaHRTF.from_file(text)
    other = write_sofa(tmp_path / "fir.sofa", convention="GeneralFIR")
    with pytest.raises(ValueError, match="fir.sofa.*SimpleFreeFieldHRIR"):
        hrtf.make_hrtf("sofa", FS, path=other)

"""ITD -> lateral angle maps: Woodworth's formula inverted, and calibration to an HRTF through the estimator."""

import numpy as np
import pytest

from v2a_jax.metrics import direction
from v2a_jax.spatial import geometry, itd_map
from v2a_jax.spatial import hrtf as hrtf_lib
from v2a_jax.spatial.itd_map import ItdMap


def test_woodworth_map_inverts_the_formula():
    angles = np.linspace(-89.0, 89.0, 61)
    itd_s = geometry.woodworth_itd(angles)
    np.testing.assert_allclose(ItdMap.woodworth().lateral_deg(itd_s), angles, atol=0.01)
    assert ItdMap.woodworth().lateral_deg(1e-3) == 90.0 and np.isnan(ItdMap.woodworth().lateral_deg(np.nan))


@pytest.mark.parametrize("radius", [0.0875, 0.11])
def test_calibration_recovers_the_head(radius):
    """Calibrating to a spherical head of radius a gives Woodworth's map for that a, not for the default head."""
    head = hrtf_lib.make_hrtf("spherical", 16000, head_radius_m=radius, n_taps=96)
    calibrated = ItdMap.from_hrtf(head, 16000, name="sphere")
    angles = np.array([10.0, 30.0, 50.0, 70.0])
    itd_s = geometry.woodworth_itd(angles, 0.0, radius)
    np.testing.assert_allclose(calibrated.lateral_deg(itd_s), angles, atol=1.5)
    if radius != geometry.HEAD_RADIUS_M:  # the default map would misread this head by several degrees
        assert np.max(np.abs(ItdMap.woodworth().lateral_deg(itd_s) - angles)) > 5.0


def test_table_must_be_invertible():
    with pytest.raises(ValueError, match="rise strictly"):
        ItdMap((0.0, 45.0, 90.0), (0.0, 3e-4, 3e-4), "flat")


def test_dataset_map_follows_the_recorded_head_and_the_metrics_read_through_it():
    """A dataset rendered with a 11 cm sphere gets a map calibrated to it; the direction metric through that map
    finds the true angle of audio rendered with that head, where the default (8.75 cm) map reads it too wide.
    Recordings (no head recorded) and a SOFA file not on this machine fall back to Woodworth, named so."""
    rate, fps = 16000, 25.0
    head = hrtf_lib.make_hrtf("spherical", rate, head_radius_m=0.11, n_taps=96)
    calibrated = itd_map.dataset_map(("spherical", 0.11), rate)
    assert calibrated is itd_map.dataset_map(("spherical", 0.11), rate)  # computed once per head
    assert calibrated.name.startswith("spherical(0.11)")
    noise = np.random.default_rng(3).standard_normal(rate).astype(np.float32) * 0.1
    ir = np.asarray(head.hrir(40.0, 0.0), np.float64)[0]
    audio = np.stack([np.convolve(noise, ir[ear])[: noise.size] for ear in range(2)])[None]
    truth = np.full((1, 25, 1), 40.0)
    sounding = np.ones((1, 25, 1), bool)
    error_calibrated = direction.direction_error(audio, truth, sounding, fps, rate, itd_map=calibrated).mean_deg
    error_default = direction.direction_error(audio, truth, sounding, fps, rate).mean_deg
    assert error_calibrated < 3.0 and error_default > error_calibrated + 3.0
    assert itd_map.dataset_map(None, rate).name.startswith("woodworth")
    missing = itd_map.dataset_map(("sofa", "/nowhere/head.sofa"), rate)
    assert "missing" in missing.name and missing.itd_s == ItdMap.woodworth().itd_s


def test_jax_and_numpy_inputs_give_the_same_angles():
    """The targets read ITDs as (traced) jax arrays, the metrics as numpy: one table, the same angles."""
    import jax
    import jax.numpy as jnp

    head = itd_map.ItdMap.woodworth()
    itd_s = np.array([-1e-3, -5e-4, -1e-4, 0.0, 2e-5, 3e-4, 6.5e-4, 2e-3, np.nan])
    expected = head.lateral_deg(itd_s)
    got = jax.jit(head.lateral_deg)(jnp.asarray(itd_s, jnp.float32))
    assert isinstance(got, jax.Array) and isinstance(expected, np.ndarray)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-2)
    assert np.isnan(np.asarray(got)[-1]) and expected[[0, -2]].tolist() == [-90.0, 90.0]

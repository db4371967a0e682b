"""ITD -> lateral angle maps: Woodworth's formula inverted, and calibration to an HRTF through the estimator."""

import numpy as np
import pytest

from v2a_jax.metrics import direction
from v2a_jax.spatial import geometry
from v2a_jax.spatial import hrtf as hrtf_lib
from v2a_jax.spatial.itd_map import ItdMap


def test_woodworth_map_inverts_the_formula():
    angles = np.linspace(-89.0, 89.0, 61)
    itd_s = geometry.woodworth_itd(angles)
    np.testing.assert_allclose(ItdMap.woodworth().lateral_deg(itd_s), angles, atol=0.01)
    # The direction metric's Newton inversion of the same formula agrees.
    np.testing.assert_allclose(direction.azimuth_from_cues(itd_s), angles, atol=0.01)
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

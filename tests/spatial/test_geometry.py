import numpy as np
import pytest

from v2a_jax.spatial import geometry


@pytest.mark.parametrize(
    "az, el, expected_deg",
    [
        (0, 0, 0),
        (90, 0, 90),
        (-90, 0, -90),
        (30, 0, 30),
        (150, 0, 30),
        (-120, 0, -60),
        (90, 60, 30),  # elevating a lateral source moves it towards the median plane
        (45, 90, 0),  # straight up is in the median plane whatever the azimuth
    ],
)
def test_lateral_angle(az, el, expected_deg):
    np.testing.assert_allclose(geometry.lateral_angle(az, el), np.deg2rad(expected_deg), atol=1e-12)


def test_woodworth_itd_values_sign_and_broadcasting():
    # reference.md: about 656 us at 90 degrees for a = 8.75 cm, c = 343 m/s.
    assert geometry.woodworth_itd(90.0) == pytest.approx(0.0875 / 343 * (np.pi / 2 + 1))
    assert 655e-6 < geometry.woodworth_itd(90.0) < 657e-6
    az = np.array([-90.0, -30.0, 0.0, 30.0, 90.0])
    itd = geometry.woodworth_itd(az)
    assert itd.shape == (5,)
    np.testing.assert_allclose(itd, -itd[::-1], atol=1e-15)
    assert np.all(np.diff(itd) > 0) and itd[2] == 0.0
    # ITD scales linearly with head radius.
    np.testing.assert_allclose(geometry.woodworth_itd(az, head_radius_m=0.1), itd * 0.1 / 0.0875, rtol=1e-12)
    assert geometry.woodworth_itd(np.zeros((3, 4)), np.zeros(4)).shape == (3, 4)

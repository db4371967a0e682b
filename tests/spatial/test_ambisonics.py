"""First-order ambisonics checked against independent computations: closed-form plane waves, rotated directions
worked out from the camera's axes, and ITDs measured by GCC-PHAT on the decoded ears against direct HRTF
rendering of the same source."""

import numpy as np
import pytest
import sofar
from scipy.signal.windows import blackmanharris

from v2a_jax.metrics import binaural
from v2a_jax.spatial import ambisonics, geometry, hrtf, renderer

FS = 16000
# |ITD(decoded) - ITD(direct)| allowed for the parametric decoder: the nearest point of its 2 x 5 degree HRTF
# grid moves a direction by up to 1 degree in azimuth and 2.5 in elevation (~10 us near the side).
PARAMETRIC_ITD_TOL_S = 15e-6


def closed_form_sn3d(s, az_deg, el_deg):
    """ACN/SN3D plane wave written out: W = s, Y = s sin(az) cos(el), Z = s sin(el), X = s cos(az) cos(el)."""
    az, el = np.radians(az_deg), np.radians(el_deg)
    return np.stack([s, s * np.sin(az) * np.cos(el), s * np.sin(el) * np.ones_like(s), s * np.cos(az) * np.cos(el)])


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).standard_normal(FS) * 0.1


@pytest.fixture(scope="module")
def head():
    return hrtf.SphericalHeadHRTF(sample_rate=FS)


@pytest.fixture(scope="module")
def parametric(head):
    return ambisonics.BinauralDecoder(head)


def median_itd(y):
    return float(np.nanmedian(binaural.gcc_phat_itd(y, FS)[0]))


def test_encode_matches_closed_form(noise):
    for az, el in ((0.0, 0.0), (37.0, 12.0), (-120.0, -40.0), (180.0, 90.0)):
        np.testing.assert_allclose(ambisonics.encode(noise, az, el), closed_form_sn3d(noise, az, el), atol=1e-12)


def test_fuma_and_n3d_plane_waves_convert_to_acn_sn3d(noise):
    az, el = np.radians(-70.0), np.radians(25.0)
    # FuMa: W, X, Y, Z with W 3 dB down.
    fuma = np.stack(
        [noise / np.sqrt(2), noise * np.cos(az) * np.cos(el), noise * np.sin(az) * np.cos(el), noise * np.sin(el)]
    )
    expected = closed_form_sn3d(noise, -70.0, 25.0)
    np.testing.assert_allclose(ambisonics.to_acn_sn3d(fuma, "fuma"), expected, atol=1e-12)
    n3d = expected * np.array([1.0, np.sqrt(3), np.sqrt(3), np.sqrt(3)])[:, None]
    np.testing.assert_allclose(ambisonics.to_acn_sn3d(n3d, "n3d"), expected, atol=1e-12)
    np.testing.assert_array_equal(ambisonics.to_acn_sn3d(expected, "ambix"), expected)
    with pytest.raises(ValueError, match="format"):
        ambisonics.to_acn_sn3d(expected, "sid")
    with pytest.raises(ValueError, match=r"\[4, N\]"):
        ambisonics.to_acn_sn3d(expected[:3], "fuma")


@pytest.mark.parametrize("az, el, yaw", [(40.0, 0.0, 25.0), (-150.0, 20.0, 100.0), (10.0, -35.0, -170.0)])
def test_yaw_rotation_reads_back_at_azimuth_minus_yaw(noise, az, el, yaw):
    rotated = ambisonics.rotate(ambisonics.encode(noise, az, el), yaw)
    got_az, got_el = ambisonics.phi_max(rotated)
    assert np.cos(np.radians(got_az - (az - yaw))) == pytest.approx(1.0, abs=1e-9)
    assert got_el == pytest.approx(el, abs=1e-6)
    per_frame = ambisonics.energy_direction(rotated, 640)
    assert per_frame.shape == (FS // 640, 2)
    np.testing.assert_allclose(np.cos(np.radians(per_frame[:, 0] - (az - yaw))), 1.0, atol=1e-9)


def test_source_on_the_camera_axis_is_straight_ahead_for_any_roll(noise):
    yaw, pitch = 75.0, 30.0
    field = ambisonics.encode(noise, yaw, pitch)  # where the camera looks
    for roll in (0.0, 40.0, -90.0):
        np.testing.assert_allclose(
            ambisonics.phi_max(ambisonics.rotate(field, yaw, pitch, roll)), [0.0, 0.0], atol=1e-6
        )
    # Pitched up by 30 degrees, a source on the horizon straight ahead is 30 degrees below the view.
    np.testing.assert_allclose(
        ambisonics.phi_max(ambisonics.rotate(ambisonics.encode(noise, 0.0, 0.0), 0.0, 30.0)), [0.0, -30.0], atol=1e-6
    )
    # Rolled by +90 degrees (its left side up, head on the right shoulder), the camera's left ear points at the sky.
    up = ambisonics.rotate(ambisonics.encode(noise, 0.0, 90.0), 0.0, 0.0, 90.0)
    np.testing.assert_allclose(ambisonics.phi_max(up), [90.0, 0.0], atol=1e-6)


def test_time_varying_rotation_keeps_w_and_energy_and_follows_each_sample(noise):
    n = noise.size
    yaw = np.linspace(-200.0, 300.0, n)
    pitch = 30.0 * np.sin(np.linspace(0, 3 * np.pi, n))
    roll = np.linspace(0.0, 60.0, n)
    field = ambisonics.encode(noise, 20.0, 10.0) + ambisonics.encode(np.roll(noise, 99), -100.0, -50.0)
    out = ambisonics.rotate(field, yaw, pitch, roll)
    np.testing.assert_array_equal(out[0], field[0])
    np.testing.assert_allclose(np.sum(out[1:] ** 2, axis=0), np.sum(field[1:] ** 2, axis=0), rtol=1e-10)
    # Yaw only: every sample's Y and X are those of a source at 20 - yaw(t), written out.
    only_yaw = ambisonics.rotate(ambisonics.encode(noise, 20.0), yaw)
    np.testing.assert_allclose(only_yaw, closed_form_sn3d(noise, 20.0 - yaw, 0.0), atol=1e-12)


def test_per_sample_interpolates_the_short_way_round():
    angles = ambisonics.per_sample([170.0, -170.0, -150.0], num_samples=30, fps=1.0, sample_rate=10)
    assert angles[5] == pytest.approx(180.0)  # half way from 170 to 190, not through 0
    assert angles[15] == pytest.approx(200.0)
    assert angles[-1] == pytest.approx(210.0)  # held after the last frame


def test_energy_direction_is_power_weighted_resultant():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(FS), rng.standard_normal(FS)
    field = ambisonics.encode(np.sqrt(3.0) * a, 0.0) + ambisonics.encode(b, 90.0)
    expected = np.degrees(np.arctan2(np.mean(b**2), 3 * np.mean(a**2)))  # ~18.4 deg
    assert ambisonics.phi_max(field)[0] == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("azimuth", [30.0, 60.0, 90.0, -60.0, 31.3, 89.0])
def test_parametric_decoding_keeps_the_direct_rendering_itd(noise, head, parametric, azimuth):
    decoded = parametric(ambisonics.encode(noise, azimuth))
    direct = renderer.render_moving_source(noise, azimuth, 0.0, 1.0, head)
    itd_decoded, itd_direct = median_itd(decoded), median_itd(direct)
    assert np.sign(itd_decoded) == np.sign(azimuth)
    assert abs(itd_decoded - itd_direct) < PARAMETRIC_ITD_TOL_S, (itd_decoded, itd_direct)


def test_linear_decoding_is_lateralised_but_blurry(noise, head):
    linear = ambisonics.BinauralDecoder(head, method="linear")
    for azimuth in (30.0, 60.0, 90.0):
        decoded = linear(ambisonics.encode(noise, azimuth))
        direct = renderer.render_moving_source(noise, azimuth, 0.0, 1.0, head)
        ild = 10 * np.log10(np.mean(decoded[0] ** 2) / np.mean(decoded[1] ** 2))
        ild_direct = 10 * np.log10(np.mean(direct[0] ** 2) / np.mean(direct[1] ** 2))
        assert 0.5 < ild < ild_direct  # left louder, but less than a direct rendering
        assert median_itd(decoded) < 0.5 * median_itd(direct)


@pytest.mark.parametrize("method", ["parametric", "linear"])
def test_field_from_straight_ahead_gives_equal_ears(noise, head, method):
    decoder = ambisonics.BinauralDecoder(head, method=method)
    for el in (0.0, 30.0):
        y = decoder(ambisonics.encode(noise, 0.0, el))
        assert np.max(np.abs(y[0] - y[1])) < 1e-6 * np.max(np.abs(y))


def test_parametric_frontal_wave_is_the_direct_rendering(noise, head, parametric):
    y = parametric(ambisonics.encode(noise, 0.0))
    direct = renderer.render_moving_source(noise, 0.0, 0.0, 1.0, head)
    np.testing.assert_allclose(y, direct, atol=1e-3 * np.max(np.abs(direct)))


def test_parametric_decoding_with_a_sofa_hrtf(tmp_path, noise):
    # A 15-degree SOFA grid made from the spherical head: the decoder interpolates it through SofaHRTF.
    az, el = np.meshgrid(np.arange(0.0, 360.0, 15.0), np.arange(-75.0, 90.0, 15.0))
    grid = np.stack([np.concatenate([az.ravel(), [0.0, 0.0]]), np.concatenate([el.ravel(), [90.0, -90.0]])], -1)
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = hrtf.SphericalHeadHRTF(sample_rate=FS).hrir(grid[:, 0], grid[:, 1])
    sofa.Data_SamplingRate = FS
    sofa.SourcePosition = np.concatenate([grid, np.ones((len(grid), 1))], axis=-1)
    sofar.write_sofa(str(tmp_path / "sphere.sofa"), sofa)
    decoder = ambisonics.BinauralDecoder(hrtf.make_hrtf("sofa", FS, path=tmp_path / "sphere.sofa"))
    for azimuth in (30.0, 60.0, 90.0):
        itd = median_itd(decoder(ambisonics.encode(noise, azimuth)))
        assert itd == pytest.approx(geometry.woodworth_itd(azimuth), abs=2 * PARAMETRIC_ITD_TOL_S)


@pytest.mark.parametrize("method", ["parametric", "linear"])
def test_turning_camera_decodes_without_clicks(head, method):
    # A 1 kHz tone while the listener turns 180 degrees in 2 s: energy more than 500 Hz from the tone stays at
    # the level of the crossfaded direct renderer on the same sweep (tests/spatial/test_rendering.py: < -80 dB).
    n = 2 * FS
    tone = np.sin(2 * np.pi * 1000 * np.arange(n) / FS)
    y = ambisonics.BinauralDecoder(head, method=method)(
        ambisonics.rotate(ambisonics.encode(tone, 0.0), np.linspace(90.0, -90.0, n))
    )
    seg = y[:, FS // 4 : -FS // 4]
    spec = np.abs(np.fft.rfft(seg * blackmanharris(seg.shape[1]), axis=-1)) ** 2
    far = np.abs(np.fft.rfftfreq(seg.shape[1], 1 / FS) - 1000) > 500
    assert np.all(10 * np.log10(spec[:, far].sum(-1) / spec.sum(-1)) < -80)
    # And the sound did move: heard at -yaw, from the right (right ear louder) to the left.
    assert np.mean(y[1, : FS // 8] ** 2) > 2 * np.mean(y[0, : FS // 8] ** 2)
    assert np.mean(y[0, -FS // 8 :] ** 2) > 2 * np.mean(y[1, -FS // 8 :] ** 2)


def test_diffuse_ambience_decodes_to_weakly_correlated_ears(parametric):
    rng = np.random.default_rng(5)
    field = np.zeros((4, FS))
    for u in rng.standard_normal((300, 3)):
        az, el = np.degrees(np.arctan2(u[1], u[0])), np.degrees(np.arcsin(u[2] / np.linalg.norm(u)))
        field += ambisonics.encode(rng.standard_normal(FS), az, el)
    y = parametric(field)
    assert binaural.iacc(y[None], FS)[0] < 0.6
    assert abs(10 * np.log10(np.mean(y[0] ** 2) / np.mean(y[1] ** 2))) < 1.0


def test_bad_inputs_raise_clear_errors(noise, head):
    with pytest.raises(ValueError, match="method"):
        ambisonics.BinauralDecoder(head, method="magls")
    with pytest.raises(ValueError, match=r"shape \(16000,\)"):
        ambisonics.rotate(ambisonics.encode(noise, 0.0), np.zeros(5))
    with pytest.raises(ValueError, match="1-D"):
        ambisonics.encode(np.zeros((2, 4)), 0.0)

"""Camera trajectories: start near phi_max, bounded piecewise-linear drift, a pure function of (seed, clip id)."""

import numpy as np
import pytest

from data.biaudio import trajectory


def test_start_rates_and_bounds():
    config = trajectory.TrajectoryConfig(
        start_yaw_offset_deg=15.0,
        start_pitch_offset_deg=5.0,
        max_yaw_rate_deg_s=10.0,
        max_pitch_rate_deg_s=4.0,
        max_roll_rate_deg_s=3.0,
        max_abs_pitch_deg=20.0,
        max_abs_roll_deg=6.0,
        segment_s=(0.5, 1.5),
    )
    for i in range(20):
        path = trajectory.sample_trajectory(trajectory.clip_rng(0, f"clip{i}"), 8.0, 100.0, 18.0, config)
        assert path.knot_s[0] == 0.0 and path.knot_s[-1] >= 8.0
        assert abs(path.yaw_deg[0] - 100.0) <= 15.0 and abs(path.pitch_deg[0] - 18.0) <= 5.0
        assert path.roll_deg[0] == 0.0
        t = np.linspace(0.0, 8.0, 8001)
        yaw, pitch, roll = path.at(t)
        for angle, rate in ((yaw, 10.0), (pitch, 4.0), (roll, 3.0)):
            assert np.max(np.abs(np.diff(angle))) / (t[1] - t[0]) <= rate + 1e-9
        assert np.max(np.abs(pitch)) <= 20.0 and np.max(np.abs(roll)) <= 6.0
        assert np.all(np.diff(path.knot_s) >= 0.5) and np.all(np.diff(path.knot_s) <= 1.5)


def test_the_same_clip_id_draws_the_same_path_in_any_order():
    config = trajectory.TrajectoryConfig()
    a = [trajectory.sample_trajectory(trajectory.clip_rng(3, c), 5.0, 0.0, 0.0, config) for c in ("x@0", "y@0")]
    b = [trajectory.sample_trajectory(trajectory.clip_rng(3, c), 5.0, 0.0, 0.0, config) for c in ("y@0", "x@0")]
    np.testing.assert_array_equal(a[0].yaw_deg, b[1].yaw_deg)
    assert not np.array_equal(a[0].yaw_deg, a[1].yaw_deg)
    c = trajectory.sample_trajectory(trajectory.clip_rng(4, "x@0"), 5.0, 0.0, 0.0, config)
    assert not np.array_equal(a[0].yaw_deg, c.yaw_deg)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="segment_s"):
        trajectory.TrajectoryConfig(segment_s=(0.0, 1.0))
    with pytest.raises(ValueError, match=">= 0"):
        trajectory.TrajectoryConfig(max_yaw_rate_deg_s=-1.0)

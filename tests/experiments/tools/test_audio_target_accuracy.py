"""The target-accuracy tool's counting: which frames a threshold keeps and whose side is right."""

import numpy as np
import pytest

from experiments.tools import audio_target_accuracy as tool
from v2a_jax.spatial import audio_targets


def test_side_accuracy_counts_kept_frames_and_right_sides():
    targets = audio_targets.AudioTargets(
        lateral_deg=np.array([[10.0, -10.0, 10.0, 30.0, -40.0]]),
        confidence=np.array([[0.9, 0.9, 0.2, 0.0, 0.9]]),
        screen_x=np.zeros((1, 5)),
        offscreen=np.zeros((1, 5), np.int8),
    )
    truth = np.array([[20.0, 20.0, 20.0, 20.0, 60.0]])
    counted = np.array([[True, True, True, True, False]])  # the last frame is not one to count
    assert tool.side_accuracy(targets, truth, counted, 0.5) == pytest.approx((0.5, 0.5))
    assert tool.side_accuracy(targets, truth, counted, 0.0) == pytest.approx((0.75, 2 / 3))  # confidence 0: no target
    share, right = tool.side_accuracy(targets, truth, counted, 0.95)
    assert share == 0.0 and np.isnan(right)

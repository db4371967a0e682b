"""The progress report's rate and input share over a controlled clock."""

import pytest

from v2a_jax.train import progress


def test_report_gives_the_rate_and_the_input_share_since_the_previous_report(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    reporter = progress.ProgressReporter(num_train_steps=100, first_step=10)
    now[0] = 104.0  # 20 steps in 4 s, of which 1 s fetching input
    for _ in range(4):
        reporter.input_time(0.25)
    assert reporter.report(30) == pytest.approx({"steps_per_sec": 5.0, "input_fraction": 0.25})
    now[0] = 106.0  # the next interval starts from zero input time
    reporter.input_time(1.5)
    assert reporter.report(40) == pytest.approx({"steps_per_sec": 5.0, "input_fraction": 0.75})

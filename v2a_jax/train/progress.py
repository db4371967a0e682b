"""Training speed and ETA, logged through absl (clu.periodic_actions imports TensorFlow)."""

import time

from absl import logging


class ProgressReporter:
    """Measures steps/s between successive reports and extrapolates the time to the last step.

    The first interval of a run includes compilation, so its rate is low.
    """

    def __init__(self, num_train_steps: int, first_step: int):
        """`first_step`: the state's step when the loop starts (0, or the step resumed from)."""
        self._num_train_steps = num_train_steps
        self._last_step = first_step
        self._last_time = time.monotonic()

    def report(self, step: int) -> dict[str, float]:
        """Logs and returns {"steps_per_sec": ...} for the steps since the previous report."""
        now = time.monotonic()
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        eta_s = (self._num_train_steps - step) / max(rate, 1e-9)
        hours, rest = divmod(int(eta_s), 3600)
        logging.info(
            "step %d/%d: %.2f steps/s, ETA %dh%02dm%02ds",
            step,
            self._num_train_steps,
            rate,
            hours,
            rest // 60,
            rest % 60,
        )
        self._last_step, self._last_time = step, now
        return {"steps_per_sec": rate}

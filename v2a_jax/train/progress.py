"""Training speed, input-pipeline share and ETA, logged through absl (clu.periodic_actions imports TensorFlow)."""

import time

from absl import logging


class ProgressReporter:
    """Measures steps/s between successive reports, the share of that time the loop spent fetching input
    (`input_time`), and extrapolates the time to the last step.

    The first interval of a run includes compilation, so its rate is low. The input share is host time in the
    pipeline's `next()`: on an accelerator it overlaps the device's work on the step already dispatched (it
    costs nothing until it exceeds the step time); on a CPU host it competes with the step for the same cores.
    """

    def __init__(self, num_train_steps: int, first_step: int):
        """`first_step`: the state's step when the loop starts (0, or the step resumed from)."""
        self._num_train_steps = num_train_steps
        self._last_step = first_step
        self._last_time = time.monotonic()
        self._input_s = 0.0

    def input_time(self, seconds: float) -> None:
        """Adds `seconds` spent waiting for the input pipeline since the previous report."""
        self._input_s += seconds

    def report(self, step: int) -> dict[str, float]:
        """Logs and returns {"steps_per_sec", "input_fraction"} for the steps since the previous report."""
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-9)
        rate = (step - self._last_step) / elapsed
        input_fraction = self._input_s / elapsed
        eta_s = (self._num_train_steps - step) / max(rate, 1e-9)
        hours, rest = divmod(int(eta_s), 3600)
        logging.info(
            "step %d/%d: %.2f steps/s (%.0f %% of it fetching input), ETA %dh%02dm%02ds",
            step,
            self._num_train_steps,
            rate,
            100 * input_fraction,
            hours,
            rest // 60,
            rest % 60,
        )
        self._last_step, self._last_time, self._input_s = step, now, 0.0
        return {"steps_per_sec": rate, "input_fraction": input_fraction}

"""Noticing SIGTERM (what a cloud VM or TPU preemption sends) and SIGINT, and agreeing on the step to save at.

    with PreemptionWatch() as watch:
        for step in ...:
            ... one training step ...
            if watch.reached(step):   # True at the same step on every process
                save, then stop

One process: a handler records the signal and `reached` is True at the end of the step during which it came.
Several processes (`jax.distributed` initialised): JAX's preemption service (jax_enable_preemption_service, on
by default; turned off, each process would stop on its own signal only) owns SIGTERM, passes the notice of any
process to all of them and picks the step after the largest one any process has reached, so every process
saves the same step (multihost_utils.reached_preemption_sync_point; `reached` must be called at every step).
SIGINT (Ctrl-C) is turned into a SIGTERM of this process, so that it takes the same path. After the first signal
the previous handlers are back: a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import os
import signal
import threading

import jax
from jax.experimental import multihost_utils


class PreemptionWatch:
    """Context manager over the signal handlers (module docstring); `reason` names the signal once seen here."""

    def __init__(self):
        self.reason: str | None = None
        self._previous: dict[int, object] = {}
        self._synced = jax.distributed.is_initialized() and jax.config.jax_enable_preemption_service

    def __enter__(self) -> PreemptionWatch:
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be installed by the main thread
        signals = (signal.SIGINT,) if self._synced else (signal.SIGTERM, signal.SIGINT)
        self._previous = {s: signal.signal(s, self._handle) for s in signals}
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame) -> None:
        del frame
        self.reason = signal.Signals(number).name
        self._restore()
        if self._synced:
            os.kill(os.getpid(), signal.SIGTERM)  # to JAX's preemption service, which tells every process

    def reached(self, step: int) -> bool:
        """Whether to save at `step` and stop; call it once per step, on every process, with increasing steps."""
        if self._synced:
            if multihost_utils.reached_preemption_sync_point(step):
                self.reason = self.reason or "preemption notice (SIGTERM to one of the processes)"
                return True
            return False
        return self.reason is not None

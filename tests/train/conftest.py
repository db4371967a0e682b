"""Fixtures of the trainer tests."""

import pytest

from tests.train import run_utils


@pytest.fixture
def launch():
    """run_utils.start, killing whatever is still running when the test ends (e.g. on failure)."""
    runs = []

    def start(*args, **kwargs):
        runs.append(run_utils.start(*args, **kwargs))
        return runs[-1]

    yield start
    for run in runs:
        if run.poll() is None:
            run.kill()
            run.wait()

"""Loading the task a config names."""

import ml_collections
import pytest

from tests.train import run_utils
from v2a_jax.train.task import load_task
from v2a_jax.train.toy_task import ToyRegressionTask


def test_loads_the_named_class_with_the_config():
    config = run_utils.toy_config()
    task = load_task(config)
    assert isinstance(task, ToyRegressionTask) and task.config is config


@pytest.mark.parametrize(
    "name, message",
    [
        ("v2a_jax.train.toy_task", "expected 'package.module:name'"),
        ("v2a_jax.train.toy_task:Missing", "has no Missing"),
    ],
)
def test_bad_task_name_raises(name, message):
    with pytest.raises(ValueError, match=message):
        load_task(ml_collections.ConfigDict({"task": name}))

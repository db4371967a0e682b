"""The evaluation cache's settings check (the generation itself is exercised end to end in tests/test_evaluate.py)."""

import dataclasses
import json

import pytest

from v2a_jax import cli
from v2a_jax.evaluation import runner


def _settings(**sampler):
    return {**dataclasses.asdict(runner.Settings(sampler=runner.DEFAULT_SAMPLER.replace(**sampler))), "step": 3}


def test_a_cache_is_reused_only_with_its_own_settings(tmp_path):
    runner._Cache(tmp_path / "a", _settings())
    runner._Cache(tmp_path / "a", _settings())  # the same settings (tuples stored as lists)
    with pytest.raises(cli.ConfigError, match="generated with other settings"):
        runner._Cache(tmp_path / "a", _settings(guidance_interval=(0.0, 0.5)))


def test_a_cache_older_than_the_guidance_interval_was_guided_at_every_step(tmp_path):
    old = _settings()
    del old["sampler"]["guidance_interval"]
    (tmp_path / "settings.json").write_text(json.dumps(old))
    runner._Cache(tmp_path, _settings())
    with pytest.raises(cli.ConfigError):
        runner._Cache(tmp_path, _settings(guidance_interval=(0.0, 0.5)))

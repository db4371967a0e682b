import json

import pytest

from experiments import autoencoder, generator
from tests.train.run_utils import toy_config
from v2a_jax.train import run_config, trainer


@pytest.mark.parametrize("config", [generator.get_config("spatialv2a-tiny"), autoencoder.get_config("cpu")])
def test_saved_config_loads_back_equal(tmp_path, config):
    run_config.save(config, tmp_path)
    run_config.save(config, tmp_path)  # a resumed run writes it again
    loaded = run_config.load(tmp_path)
    assert loaded.to_dict() == config.to_dict()  # tuples stay tuples (loss resolutions, band edges, vocabulary)


def test_missing_and_corrupt_config_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "config.json")):
        run_config.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid run config"):
        run_config.load(tmp_path)


def test_trainer_writes_the_run_config(tmp_path):
    config = toy_config(num_train_steps=1)
    trainer.train_and_evaluate(config, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["num_train_steps"] == 1


def test_a_saved_generator_run_gets_the_fields_added_since_and_the_renamed_values(tmp_path):
    """The one conversion of saved configs (run_config.ADDED_FIELDS, RENAMED_VALUES): an old generator run's
    config.json loads with the values it was trained with; other tasks' configs are read as they are."""
    old = {
        "task": "v2a_jax.generator.task:GeneratorTask",
        "sampler": {"method": "euler", "num_steps": 25, "cfg_strength": 4.5},
        "model": {"remat": True, "video": {"features": "pixels"}},
        "data": {"name": "binaural_synth/small"},
        "flow": {"t_mean": 0.0},
    }
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = run_config.load(tmp_path)
    assert config.sampler.shift == 1.0 and config.model.attention == "xla"
    assert config.model.remat == "full" and config.model.video.localisation_weight == 0.0
    assert config.data.localisation_targets == "ground_truth" and config.model.scan_layers is True
    assert config.flow.itd_weight == 0.0 and tuple(config.sampler.guidance_interval) == (0.0, 1.0)
    old["model"]["remat"] = False
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert run_config.load(tmp_path).model.remat == "none"
    other = {"task": "v2a_jax.train.toy_task:ToyRegressionTask", "model": {"remat": True}}
    (tmp_path / "config.json").write_text(json.dumps(other))
    assert run_config.load(tmp_path).to_dict() == other

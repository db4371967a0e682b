import pytest

from experiments import generator
from experiments.sweeps import generator_ablations
from v2a_jax.generator.model import ModelConfig


def test_every_ablation_run_builds_a_distinct_valid_model():
    runs = generator_ablations.sweep("tiny", "runs/x")
    models, trainings = {}, {}
    for name, workdir, argv in runs:
        assert workdir == f"runs/x/{name}-tiny"
        base, overrides = generator_ablations.RUNS[name]
        assert argv[3] == f"--config=experiments/generator.py:{base}-tiny"
        assert argv[5:] == [f"--config.{k}={v}" for k, v in overrides.items()]
        config = generator.get_config(f"{base}-tiny")
        config.update_from_flattened_dict(overrides)
        models[name] = ModelConfig.from_config(
            config.model, latent_dim=8, semantic_frames_per_video_frame=0.25, dtype="float32"
        )
        trainings[name] = (
            models[name],
            config.model.spatialisation.aux_weight,
            config.model.video.localisation_weight,
            config.flow.interaural_weight,
            config.flow.itd_weight,
            config.data.mirror_prob,
        )
    assert len(set(trainings.values())) == len(runs)  # no two runs train the same model the same way
    assert models["dual"].spacetime is False and models["visaudio"].spacetime is True
    assert models["dual_shared"].branch_weights == "shared"
    assert models["visaudio_no_rope_align"].aligned_rope is False
    assert models["mono"].layout == "mono" and models["joint_stereo"].layout == "stereo"
    assert trainings["visaudio_no_mirror"][-1] == 0 < trainings["visaudio"][-1]
    assert models["visaudio"].patch_localiser and not models["visaudio_untuned_encoder"].patch_localiser
    assert not models["spatialv2a"].patch_localiser and not models["mono"].patch_localiser
    assert trainings["visaudio_itd"][:4] == trainings["visaudio"][:4] and trainings["visaudio_itd"][4] > 0
    assert trainings["spatialv2a_aux_itd"][:4] == trainings["spatialv2a_aux"][:4]


def test_a_subset_of_runs_with_common_overrides():
    runs = generator_ablations.sweep("tiny", "runs/x", ["visaudio", "mono"], ["num_train_steps=7", "seed=2"])
    assert [name for name, _, _ in runs] == ["mono", "visaudio"]  # RUNS' order
    for _, _, argv in runs:
        assert argv[-2:] == ["--config.num_train_steps=7", "--config.seed=2"]
    with pytest.raises(ValueError, match="unknown run.*visaudo"):
        generator_ablations.sweep("tiny", "runs/x", ["visaudo"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        generator_ablations.sweep("tiny", "runs/x", None, ["seed"])

r"""The evaluation classifier (v2a_jax/classifier): tags the binaural_synth classes audible in a mono crop; its
embeddings and class probabilities feed the FD / KL / IS of v2a_jax.metrics.distribution.

Run from the repo root (needs binaural_synth/small, which the quickstart builds into runs/quickstart/data):
  python -m v2a_jax.main --config=experiments/classifier.py --workdir=runs/classifier
Its validation metrics (metrics.jsonl, split "val", EMA params) and those of ClassifierEmbedding on the validation
  clips are in experiments/RESULTS.md ("Evaluation classifier").
  Re-running the command resumes from the newest checkpoint (here: finds the run complete).
Use the trained run as the default embedding of the distribution metrics:
  ClassifierEmbedding(experiments.classifier.get_config(), "runs/classifier")  (v2a_jax/classifier/embedding.py)
Variants, `--config=experiments/classifier.py:VARIANT`:
  default  the run above: 1.28 s crops, 3 conv blocks (16/32/64 channels), 128-d embedding.
  tiny     seconds-long test run on the `tiny_synth` test dataset (tests/conftest.py): 0.64 s crops, 2 small conv
           blocks, batch 2 (the tiny dataset has 2 validation clips); the mesh puts every device on 'tensor', whose
           logical names the model does not use, so that a batch of 2 is legal on the 8 forced test devices.

Fields beyond the common ones (documented in experiments/trainer_defaults.py):
  data.data_dir, data.name: the TFDS directory and '<dataset>/<config>' of the clips.
  data.crop_s: crop length in seconds; with data.semantic_fps it must satisfy SequenceConfig's alignment.
  data.gain_jitter_db: training gain drawn uniformly in +-this many dB.
  model.num_classes: K (binaural_synth has 10); model.channels: conv block widths; model.embed_dim: D.
  model.frontend: LogMelConfig fields (v2a_jax/classifier/features.py).
"""

import ml_collections

from data.binaural_synth.classes import CLASS_NAMES
from experiments.trainer_defaults import base_config

VARIANTS = ("default", "tiny")


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "default"
    if variant not in VARIANTS:
        raise ValueError(f"experiments/classifier.py: variant {variant!r} is not one of {sorted(VARIANTS)}")
    tiny = variant == "tiny"
    config = base_config("v2a_jax.classifier.task:ClassifierTask")
    if tiny:
        config.mesh = ml_collections.ConfigDict({"data": 1, "fsdp": 1, "tensor": -1})
    config.batch_size = 2 if tiny else 32
    config.num_train_steps = 2 if tiny else 600
    config.optimizer.learning_rate = 2e-3
    config.optimizer.warmup_steps = 0 if tiny else 50
    config.ema_decay = 0.99
    config.eval_on_ema = True  # the embedding uses the EMA params, so they are the ones validated
    config.log_every_steps = 1 if tiny else 50
    config.eval_every_steps = 2 if tiny else 200
    config.eval_steps = 1 if tiny else 3
    config.summary_every_steps = 2 if tiny else 600
    config.checkpoint_every_steps = 2 if tiny else 200
    config.keep_checkpoints = 1 if tiny else 2

    config.data = ml_collections.ConfigDict()
    config.data.data_dir = "runs/quickstart/data"
    config.data.name = "binaural_synth/test_tiny" if tiny else "binaural_synth/small"
    config.data.crop_s = 0.64 if tiny else 1.28
    config.data.semantic_fps = 6.25
    config.data.gain_jitter_db = 6.0

    config.model = ml_collections.ConfigDict()
    config.model.num_classes = len(CLASS_NAMES)
    config.model.channels = (4, 8) if tiny else (8, 16, 32, 64)
    config.model.embed_dim = 16 if tiny else 128
    config.model.frontend = ml_collections.ConfigDict(
        {
            "sample_rate": 16000,
            "n_fft": 512,
            "win_length": 400,
            "hop": 160,
            "n_mels": 32 if tiny else 64,
            "fmin": 50.0,
            "fmax": 8000.0,
            "power": 2.0,
            "center": True,
            "log_offset": 1e-6,
        }
    )
    return config

"""Training task of the evaluation classifier (v2a_jax.train.task.Task): which classes sound in a mono crop.

Inputs: crops of `config.data.crop_s` seconds of binaural_synth clips, reduced to one mono view per example.
Training draws the view at random per example from (left ear, right ear, mid = (L + R) / 2), the three signals
`v2a_jax.metrics.distribution` embeds, and scales it by a random gain of +-`config.data.gain_jitter_db` dB (the
scene sets loudness by distance, which says nothing about the class). Validation scores all three views.

Targets are multi-label: class k is positive when a present source of class k sounds in at least one video frame
of the crop (`sounding [B, T, S]`), so a crop holds 0 to S positives. Several sources overlap in most crops, so
a single "dominant source" label would be ill-defined; the loss is sigmoid binary cross-entropy averaged over
classes and examples, as PANNs and PaSST are trained on AudioSet.

Metrics (means over the examples of a batch; validation averages them over `config.eval_steps` batches):
  loss            sigmoid BCE.
  top1_accuracy   the highest-scoring class sounds in the crop, over the crops where at least one class sounds.
  exact_match     all K decisions (logit > 0) are right.
  map             mean over classes with a positive in the batch of the average precision within the batch.
"""

from __future__ import annotations

import grain
import jax
import jax.numpy as jnp
import ml_collections
import optax

from v2a_jax.classifier.features import LogMelConfig
from v2a_jax.classifier.model import AudioClassifier
from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig

KEYS = ("audio", "class_id", "source_present", "sounding")
SPLITS = {"train": "train", "val": "validation"}


def mono_views(audio: jax.Array) -> jax.Array:
    """`[B, 2, N]` binaural -> `[B, 3, N]` (left, right, mid = (left + right) / 2)."""
    return jnp.concatenate([audio, jnp.mean(audio, axis=1, keepdims=True)], axis=1)


def crop_labels(class_id: jax.Array, source_present: jax.Array, sounding: jax.Array, num_classes: int) -> jax.Array:
    """Multi-hot `[B, K]` float32 of the classes sounding in the crop.

    Args:
      class_id: `[B, S]` int, -1 for an empty slot. source_present: `[B, S]` bool. sounding: `[B, T, S]` bool.
    """
    audible = source_present & jnp.any(sounding, axis=1)  # [B, S]
    one_hot = jax.nn.one_hot(class_id, num_classes) * audible[..., None]  # -1 gives a zero row
    return jnp.max(one_hot, axis=1)


def average_precision(scores: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-class average precision over a batch: mean over the positives i of precision at threshold s_i
    (ties grouped, as sklearn's average_precision_score).

    Args:
      scores: `[B, K]`. labels: `[B, K]` in {0, 1}.
    Returns:
      (ap `[K]`, 0 where the class has no positive; has_positive `[K]` bool).
    """
    above = scores[None, :, :] >= scores[:, None, :]  # [i, j, K]: s_j >= s_i
    precision = jnp.sum(above * labels[None], axis=1) / jnp.sum(above, axis=1)  # [i, K]
    num_pos = jnp.sum(labels, axis=0)
    ap = jnp.sum(precision * labels, axis=0) / jnp.maximum(num_pos, 1.0)
    return ap, num_pos > 0


def classification_metrics(logits: jax.Array, labels: jax.Array) -> dict[str, jax.Array]:
    """loss, top1_accuracy, exact_match and map (module docstring) of `[B, K]` logits against multi-hot labels."""
    has_label = jnp.any(labels > 0, axis=-1)
    top1_hit = jnp.take_along_axis(labels, jnp.argmax(logits, axis=-1)[:, None], axis=-1)[:, 0] * has_label
    ap, has_positive = average_precision(logits, labels)
    return {
        "loss": jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels)),
        "top1_accuracy": jnp.sum(top1_hit) / jnp.maximum(jnp.sum(has_label), 1),
        "exact_match": jnp.mean(jnp.all((logits > 0) == (labels > 0), axis=-1)),
        "map": jnp.sum(ap * has_positive) / jnp.maximum(jnp.sum(has_positive), 1),
    }


def make_model(config: ml_collections.ConfigDict) -> AudioClassifier:
    """The classifier `config.model` describes, at `config.compute_dtype`."""
    model = config.model
    return AudioClassifier(
        num_classes=model.num_classes,
        channels=tuple(model.channels),
        embed_dim=model.embed_dim,
        frontend=LogMelConfig(**model.frontend),
        dtype=jnp.dtype(config.compute_dtype),
    )


class ClassifierTask:
    """Implements v2a_jax.train.task.Task for `AudioClassifier` on binaural_synth crops."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        self.model = make_model(config)
        self.seq = SequenceConfig(
            duration_s=config.data.crop_s,
            sample_rate=self.model.frontend.sample_rate,
            semantic_fps=config.data.semantic_fps,
        )

    def make_dataset(
        self, split: str, *, seed: int, shard_options: grain.sharding.ShardOptions, batch_size: int
    ) -> grain.IterDataset:
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: expected one of {sorted(SPLITS)}")
        source, clip = loader.open_split(self.config.data.data_dir, self.config.data.name, SPLITS[split])
        return loader.make_dataset(
            source,
            clip,
            self.seq,
            train=split == "train",
            batch_size=batch_size,
            seed=seed,
            shard_options=shard_options,
            keys=KEYS,
        )

    def init(self, rng, batch):
        return self.model.init(rng, batch["audio"][:, 0])["params"]

    def _labels(self, batch) -> jax.Array:
        return crop_labels(batch["class_id"], batch["source_present"], batch["sounding"], self.model.num_classes)

    def loss(self, params, batch, rng, step):
        del step
        view_rng, gain_rng = jax.random.split(rng)
        views = mono_views(batch["audio"])  # [B, 3, N]
        batch_size = views.shape[0]
        choice = jax.random.randint(view_rng, (batch_size, 1, 1), 0, views.shape[1])
        jitter_db = self.config.data.gain_jitter_db
        gain_db = jax.random.uniform(gain_rng, (batch_size, 1), minval=-jitter_db, maxval=jitter_db)
        audio = jnp.take_along_axis(views, choice, axis=1)[:, 0] * 10.0 ** (gain_db / 20.0)
        _, logits = self.model.apply({"params": params}, audio)
        metrics = classification_metrics(logits, self._labels(batch))
        return metrics.pop("loss"), metrics

    def eval_step(self, params, batch, rng):
        del rng
        views = mono_views(batch["audio"])
        batch_size, num_views, num_samples = views.shape
        _, logits = self.model.apply({"params": params}, views.reshape(batch_size * num_views, num_samples))
        labels = jnp.repeat(self._labels(batch), num_views, axis=0)  # an example's views are adjacent rows
        return classification_metrics(logits, labels)

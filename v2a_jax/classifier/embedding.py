"""Audio embeddings for the distribution metrics (v2a_jax.metrics.distribution): the protocol, and the default
implementation backed by a trained run of the project's classifier. Pretrained networks (VGGish, PANNs, ...)
plug in through `v2a_jax.classifier.pretrained.PretrainedEmbedding`.
"""

from __future__ import annotations

from typing import Protocol

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath

from v2a_jax.classifier.task import make_model
from v2a_jax.train import checkpointing, partitioning, run_config


class AudioEmbedding(Protocol):
    """A network that maps mono clips to a clip embedding and class probabilities.

    Attributes:
      sample_rate: Hz of the audio `embed` takes (an implementation resamples internally if its network runs at
        another rate).
      multi_label: True when class_probs are independent per-class (sigmoid) probabilities, False when each row
        is a categorical (softmax) distribution; decides the KL of v2a_jax.metrics.distribution.
    """

    sample_rate: int
    multi_label: bool

    def embed(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`[B, N]` mono float32 in [-1, 1] -> (embeddings `[B, D]` float32, class_probs `[B, K]` float32).

        K may be 0 for a network without a classifier head (then only the Frechet distance is defined).
        """


def check_mono(audio, name: str = "audio") -> np.ndarray:
    """`audio` as float32 `[B, N]` (B >= 1, N >= 1), else ValueError naming `name`."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] < 1 or audio.shape[1] < 1:
        raise ValueError(f"{name}: expected mono clips [B, N], got shape {audio.shape}")
    return audio


class ClassifierEmbedding:
    """The project's classifier (experiments/classifier.py) from a training run, as an `AudioEmbedding`.

    embeddings: `[B, embed_dim]`, the post-ReLU hidden layer before the logits; class_probs: `[B, num_classes]`
    sigmoid probabilities (multi_label). Clips of any length >= one frame are pooled over their whole length
    (the model was trained on crops of config.data.crop_s seconds). Computed in float32 on the first local device.

    Only the params are restored (train/checkpointing.load_params): no dataset is needed.
    """

    multi_label = True

    def __init__(
        self,
        config: ml_collections.ConfigDict,
        workdir: epath.PathLike,
        *,
        step: int | None = None,
        use_ema: bool = True,
    ):
        """Restores the checkpoint of `step` (default: the newest) of the run of `config` in `workdir`; uses the
        EMA params unless `use_ema` is False."""
        mesh = partitioning.make_mesh({"data": 1, "fsdp": 1, "tensor": 1}, devices=jax.local_devices()[:1])
        model = make_model(config)
        # Any clip length gives the same params: the model pools over time.
        audio = jax.ShapeDtypeStruct((1, int(config.data.crop_s * model.frontend.sample_rate)), jnp.float32)
        self.params, self.step = checkpointing.load_params(
            workdir,
            lambda key, x: model.init(key, x)["params"],
            audio,
            mesh=mesh,
            rules=partitioning.logical_axis_rules(config),
            step=step,
            use_ema=use_ema,
        )
        self.model = model.clone(dtype=jnp.float32)
        self.sample_rate = self.model.frontend.sample_rate

        def apply(params, audio):
            embeddings, logits = self.model.apply({"params": params}, audio)
            return embeddings, jax.nn.sigmoid(logits)

        self._apply = jax.jit(apply)

    @classmethod
    def from_workdir(cls, workdir: epath.PathLike) -> ClassifierEmbedding:
        """The newest checkpoint of the classifier run in `workdir`, with the config it saved there. Raises
        FileNotFoundError naming a missing config or checkpoint."""
        return cls(run_config.load(workdir), workdir)

    def embed(self, audio) -> tuple[np.ndarray, np.ndarray]:
        """See `AudioEmbedding.embed`."""
        audio = check_mono(audio)
        self.model.frontend.num_frames(audio.shape[1])  # raises on clips shorter than one frame
        embeddings, probs = self._apply(self.params, audio)
        return np.asarray(embeddings), np.asarray(probs)

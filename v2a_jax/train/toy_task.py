"""A tiny regression task that exercises every path of the trainer in seconds.

A 2-layer MLP learns y = sin(A x) for a fixed random A, x ~ N(0, I) [D]. Its kernels carry logical
axes ('embed', 'mlp') and ('mlp', 'embed'), so on a data x fsdp x tensor mesh they are sharded
over both 'fsdp' and 'tensor'. Examples are a pure function of their index, so runs are exactly
reproducible. Test hooks live here, not in the trainer: `config.model.nan_at_step` makes the
loss (and so the gradients) NaN at that step; `config.data.nan_example` makes that training example's input
NaN; `config.data.delay_s` slows each batch down; `config.data.hold_file` holds the training batches from
`config.data.hold_from_batch` on while that file exists (a test stops a run at a known step, then lets its rerun go).
"""

import os
import time

import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.experimental import multihost_utils

from v2a_jax.train.summaries import Audio


class MLP(nn.Module):
    """[B, D] -> [B, D] through a ReLU hidden layer [B, hidden]."""

    hidden: int
    out: int
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        def dense(features, names):
            return nn.Dense(
                features,
                dtype=self.dtype,
                kernel_init=nn.with_logical_partitioning(nn.initializers.lecun_normal(), names),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), names[1:]),
            )

        h = nn.relu(dense(self.hidden, ("embed", "mlp"))(x.astype(self.dtype)))
        h = nn.with_logical_constraint(h, ("batch", "mlp"))
        return dense(self.out, ("mlp", "embed"))(h)


class ToyRegressionTask:
    """Implements v2a_jax.train.task.TaskWithSummaries."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        dim = config.data.dim
        self.model = MLP(hidden=config.model.hidden, out=dim, dtype=jnp.dtype(config.compute_dtype))
        teacher_rng = np.random.default_rng(config.data.teacher_seed)
        self.teacher = (teacher_rng.standard_normal((dim, dim)) / np.sqrt(dim)).astype(np.float32)

    def make_dataset(
        self, split: str, *, seed: int, shard_options: grain.sharding.ShardOptions, batch_size: int
    ) -> grain.IterDataset:
        data = self.config.data
        if split not in ("train", "val"):
            raise ValueError(f"split={split!r}: expected 'train' or 'val'")
        # Validation examples use indices after the training ones, so the splits are disjoint.
        size, offset = (data.num_train, 0) if split == "train" else (data.num_val, data.num_train)

        def make_example(index: int) -> dict[str, np.ndarray]:
            rng = np.random.default_rng(offset + index)
            x = rng.standard_normal(data.dim).astype(np.float32)
            if split == "train" and index == data.nan_example:
                x[0] = np.nan
            y = np.sin(self.teacher @ x) + data.noise * rng.standard_normal(data.dim)
            return {"x": x, "y": y.astype(np.float32)}

        def slow_down(batch):
            time.sleep(data.delay_s)
            return batch

        def hold(index, batch):
            while index >= data.hold_from_batch and os.path.exists(data.hold_file):
                time.sleep(0.02)
            return batch

        ds = grain.MapDataset.range(size)
        if split == "train":
            ds = ds.shuffle(seed).repeat()  # a new order every epoch
        ds = ds[shard_options.shard_index :: shard_options.shard_count]
        ds = ds.map(make_example).batch(batch_size, drop_remainder=True)
        if data.delay_s:
            ds = ds.map(slow_down)
        if split == "train" and data.hold_file:
            ds = ds.map_with_index(hold)
        return ds.to_iter_dataset()

    def init(self, rng, batch):
        return self.model.init(rng, batch["x"])["params"]

    def _mse(self, params, batch):
        pred = self.model.apply({"params": params}, batch["x"]).astype(jnp.float32)
        return jnp.mean((pred - batch["y"]) ** 2), pred

    def loss(self, params, batch, rng, step):
        del rng
        mse, pred = self._mse(params, batch)
        # Multiplying (rather than replacing) makes the gradients NaN as well.
        mse = mse * jnp.where(step == self.config.model.nan_at_step, jnp.nan, 1.0)
        return mse, {"pred_std": jnp.std(pred)}

    def eval_step(self, params, batch, rng):
        del rng
        mse, pred = self._mse(params, batch)
        return {"loss": mse, "mae": jnp.mean(jnp.abs(pred - batch["y"]))}

    def summaries(self, params, batch, rng, step):
        del rng, step
        _, pred = self._mse(params, batch)
        # Global arrays span other processes' devices; gathering gives every process the full values.
        pred, target = multihost_utils.process_allgather((pred, batch["y"]), tiled=True)
        error = np.clip(np.abs(pred - target), 0.0, 1.0)  # [B, D]
        image = np.stack([error, 1.0 - error, np.zeros_like(error)], axis=-1)
        return {
            "abs_error": (255 * image).astype(np.uint8),
            "pred_vs_target": Audio(np.clip(np.stack([pred[0], target[0]]), -1.0, 1.0), 16000),
        }

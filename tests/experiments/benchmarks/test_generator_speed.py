"""The speed benchmark: its per-op profile (a trace of a jitted step, read back per HLO op with its source) and
its FLOP count."""

import jax
import jax.numpy as jnp
import numpy as np

from experiments.benchmarks import generator_speed
from v2a_jax.generator import layers
from v2a_jax.generator.task import GeneratorTask


def test_op_profile_names_the_step_s_ops_and_their_source():
    def step(state, batch):
        with jax.named_scope("joint_blocks"):
            state = jnp.tanh(state @ batch)
        with jax.named_scope("video_encoder"):
            metrics = jnp.sin(state).sum()
        return state, metrics

    state, batch = jnp.ones((128, 128)) * 0.01, jnp.eye(128)
    compiled = jax.jit(step).lower(state, batch).compile()
    compiled(state, batch)  # warm-up, outside the trace
    state, profile = generator_speed.op_profile(compiled, state, [batch], num_steps=2, top=3)

    assert state.shape == (128, 128)
    assert 0 < len(profile["top"]) <= 3
    assert profile["total_op_s"] > 0
    shares = [row["share"] for row in profile["top"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-9
    assert abs(sum(profile["components_s"].values()) - profile["total_op_s"]) < 1e-9
    sources = " ".join(row["source"] for row in profile["top"])
    assert "joint_blocks" in sources or "video_encoder" in sources
    parts = {name.split()[0] for name in profile["components_s"]}
    assert parts <= set(generator_speed.PROFILE_COMPONENTS) | {"other"}
    assert parts & {"joint_blocks", "video_encoder"}


def _conv_mlp_gflop(rows_per_frame: int) -> float:
    """One tiny block's ConvMLP matmuls by hand, over rows_per_frame x T rows (w1, w3: 3 D -> H; w2: 3 H -> D)."""
    config = generator_speed.bench_config("visaudio-tiny")
    rows = rows_per_frame * GeneratorTask(config).seq.num_latent_frames
    dim = config.model.hidden
    hidden = layers.mlp_hidden(dim, config.model.mlp_ratio, config.model.mlp_multiple_of)
    return 2 * rows * (3 * dim * hidden * 2 + 3 * hidden * dim) / 1e9


def _nfe_gflop(single_depth: int) -> float:
    config = generator_speed.bench_config("visaudio-tiny")
    config.model.single_depth = single_depth
    task, batch, params = generator_speed.abstract_params(config)
    inputs = {k: jnp.asarray(v) for k, v in task.model_inputs(batch).items()}
    return generator_speed.network_evaluation_flops(task, params, inputs, task.seq.num_latent_frames) / 1e9


def test_flop_count_takes_every_block_of_a_scanned_stack():
    """XLA's cost analysis takes a loop body once: the count of one guided evaluation must grow by one block's
    FLOPs per block, at least the block's ConvMLP (2 guided halves x 2 ears x T rows)."""
    g2, g3, g4 = (_nfe_gflop(d) for d in (2, 3, 4))
    assert abs((g4 - g3) - (g3 - g2)) < 1e-3 * g2
    assert _conv_mlp_gflop(4) <= g3 - g2 <= 2 * _conv_mlp_gflop(4)


def test_train_step_flop_count_takes_every_block():
    """The train step's count (forward + backward, about 3 forwards) grows per block by at least 3 x the block's
    ConvMLP (1 clip x 2 ears x T rows)."""

    def step_gflop(single_depth):
        config = generator_speed.bench_config("visaudio-tiny")
        config.model.single_depth, config.batch_size = single_depth, 1
        batch = generator_speed.synthetic_batch(
            GeneratorTask(config), 1, config.data.duration_s, np.random.default_rng(0)
        )
        return generator_speed.model_flops(config, batch) / 1e9

    assert 3 * _conv_mlp_gflop(2) <= step_gflop(3) - step_gflop(2) <= 6 * _conv_mlp_gflop(2)

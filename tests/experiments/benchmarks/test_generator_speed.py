"""The speed benchmark's per-op profile: a trace of a jitted step, read back per HLO op with its source."""

import jax
import jax.numpy as jnp

from experiments.benchmarks import generator_speed


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

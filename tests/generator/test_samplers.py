"""Samplers on velocity fields with known solutions: exactness, error order, guidance, tracing."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v2a_jax.generator import samplers

X0 = jnp.array([[1.0, -2.0, 0.5]])


def _run(field, steps, method, shift=1.0):
    return np.asarray(
        jax.jit(lambda x: samplers.sample(field, x, num_steps=steps, method=method, shift=shift))(X0), np.float64
    )


@pytest.mark.parametrize("method", samplers.METHODS)
def test_straight_paths_are_integrated_exactly(method):
    """A constant field (the flow of a straight path x0 -> x0 + c) needs a single step."""
    c = jnp.array([[0.3, 1.0, -4.0]])
    np.testing.assert_allclose(_run(lambda x, t: jnp.broadcast_to(c, x.shape), 1, method), X0 + c, rtol=1e-6)


@pytest.mark.parametrize("method", ["heun", "midpoint"])
def test_second_order_steps_are_exact_for_fields_affine_in_time_and_euler_is_not(method):
    a, b = jnp.array([[0.3, 1.0, -4.0]]), jnp.array([[2.0, -1.0, 0.5]])

    def field(x, t):
        return a + b * t[:, None]

    exact = np.asarray(X0 + a + 0.5 * b)
    np.testing.assert_allclose(_run(field, 3, method), exact, rtol=1e-6)
    # Euler's left Riemann sum misses b * h / 2.
    np.testing.assert_allclose(_run(field, 4, "euler"), exact - np.asarray(b) * 0.25 / 2, rtol=1e-6)


@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_error_order_euler_1_others_2(shift):
    """dx/dt = -2 x: x(1) = x0 exp(-2). Halving the steps halves Euler's error and quarters the second-order
    methods', on the uniform and on a shifted grid."""
    exact = np.asarray(X0, np.float64) * np.exp(-2.0)

    def error(steps, method):
        return np.abs(_run(lambda x, t: -2.0 * x, steps, method, shift) - exact).max()

    for method, order in (("euler", 1), ("heun", 2), ("midpoint", 2), ("ab2", 2)):
        ratio = error(32, method) / error(64, method)
        np.testing.assert_allclose(ratio, 2.0**order, rtol=0.15)
        if order == 2:
            assert error(16, method) < error(16, "euler") / 5


def test_time_grid_shift_moves_steps_towards_the_noise_end():
    uniform, shifted = samplers.time_grid(8), samplers.time_grid(8, shift=3.0)
    np.testing.assert_allclose(uniform, np.linspace(0, 1, 9))
    assert shifted[0] == 0.0 and shifted[-1] == 1.0 and np.all(np.diff(shifted) > 0)
    assert np.diff(shifted)[0] < np.diff(uniform)[0] and np.diff(shifted)[-1] > np.diff(uniform)[-1]
    # sigma' = 3 sigma / (1 + 2 sigma) at sigma = 1/2 (t = 1/2): 3/4, i.e. t' = 1/4.
    np.testing.assert_allclose(shifted[4], 0.25)


def test_ab2_uses_one_evaluation_per_step():
    calls = []

    def field(x, t):
        calls.append(1)
        return -x

    samplers.sample(field, X0, num_steps=5, method="ab2")  # traced once: one call inside the scanned step
    assert len(calls) == 1 and samplers.network_evaluations("ab2", 8) == 8
    assert samplers.network_evaluations("heun", 4) == 8


def test_guidance_combines_conditional_and_unconditional_fields():
    def field(x, t, cond):
        return cond["bias"] + 0 * x  # a per-example constant velocity: the condition itself

    cond, uncond = {"bias": jnp.array([[1.0, 2.0, 3.0]])}, {"bias": jnp.array([[-1.0, 0.0, 5.0]])}
    t = jnp.zeros((1,))
    np.testing.assert_allclose(samplers.guided_velocity(field, cond, uncond, 1.0)(X0, t), cond["bias"])
    np.testing.assert_allclose(samplers.guided_velocity(field, cond, uncond, 0.0)(X0, t), uncond["bias"])
    np.testing.assert_allclose(
        samplers.guided_velocity(field, cond, uncond, 4.5)(X0, t), 4.5 * cond["bias"] - 3.5 * uncond["bias"], rtol=1e-6
    )


@pytest.mark.parametrize("method", samplers.METHODS)
def test_step_loop_is_traced_once(method):
    counted = chex.assert_max_traces(lambda x, t: -x * t[:, None], n=2)  # Heun/midpoint: twice per step
    chex.clear_trace_counter()
    samplers.sample(counted, X0, num_steps=50, method=method)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="method"):
        samplers.sample(lambda x, t: x, X0, num_steps=2, method="rk4")
    with pytest.raises(ValueError, match="num_steps"):
        samplers.sample(lambda x, t: x, X0, num_steps=0)
    with pytest.raises(ValueError, match="shift"):
        samplers.sample(lambda x, t: x, X0, num_steps=2, shift=0.5)


def test_guidance_runs_the_condition_free_part_once_on_x():
    seen = []

    def shared(x):
        seen.append(x.shape[0])
        return jnp.tanh(3.0 * x)

    def field(h, t, cond):
        return h * cond["scale"] + t[:, None]

    cond, uncond = {"scale": jnp.array([[2.0, 1.0, 0.5]])}, {"scale": jnp.array([[-1.0, 3.0, 0.0]])}
    t = jnp.full((1,), 0.25)
    x = jnp.array([[0.1, -0.4, 0.7]])
    shared_once = samplers.guided_velocity(field, cond, uncond, 4.5, shared=shared)(x, t)
    assert seen == [1]  # once, on the B clips, not on the guided batch of 2 B
    both_halves = samplers.guided_velocity(lambda x, t, c: field(shared(x), t, c), cond, uncond, 4.5)(x, t)
    np.testing.assert_allclose(shared_once, both_halves, rtol=1e-6)
    h = np.tanh(3.0 * np.asarray(x))
    np.testing.assert_allclose(shared_once, 4.5 * (h * cond["scale"] + 0.25) - 3.5 * (h * uncond["scale"] + 0.25), 1e-5)


def test_guidance_interval_guides_only_the_evaluations_inside_it():
    def field(x, t, cond):
        return cond["bias"] + 0 * x

    cond, uncond = {"bias": jnp.array([[1.0, 2.0, 3.0]])}, {"bias": jnp.array([[-1.0, 0.0, 5.0]])}
    guided_value = 4.5 * cond["bias"] - 3.5 * uncond["bias"]
    limited = jax.jit(samplers.guided_velocity(field, cond, uncond, 4.5, interval=(0.25, 0.5)))
    for t, guided in ((0.0, False), (0.25, True), (0.4, True), (0.5, False), (0.9, False)):
        want = guided_value if guided else cond["bias"]
        np.testing.assert_allclose(limited(X0, jnp.full((1,), t)), want, rtol=1e-6, err_msg=f"t={t}")
    late = jax.jit(samplers.guided_velocity(field, cond, uncond, 4.5, interval=(0.5, 1.0)))
    np.testing.assert_allclose(late(X0, jnp.ones((1,))), guided_value, rtol=1e-6)  # hi = 1 includes t = 1
    # Euler over 4 steps (t = 0, 0.25, 0.5, 0.75) with guidance on [0, 0.5): two guided and two conditional steps.
    early = samplers.guided_velocity(field, cond, uncond, 4.5, interval=(0.0, 0.5))
    np.testing.assert_allclose(
        _run(early, 4, "euler"), X0 + 0.5 * guided_value + 0.5 * cond["bias"], rtol=1e-6, atol=1e-6
    )


def test_evaluations_outside_the_guidance_interval_run_the_conditional_half_alone():
    batches = []

    def field(x, t, cond):
        jax.debug.callback(lambda b: batches.append(int(b)), jnp.asarray(x.shape[0]))  # runs only if executed
        return cond["bias"] + 0 * x

    cond, uncond = {"bias": jnp.ones((1, 3))}, {"bias": jnp.zeros((1, 3))}
    limited = jax.jit(samplers.guided_velocity(field, cond, uncond, 4.5, interval=(0.0, 0.5)))
    for t in (0.25, 0.75):
        jax.block_until_ready(limited(X0, jnp.full((1,), t)))
    jax.effects_barrier()
    assert batches == [2, 1]  # inside: the guided batch of 2B; outside: B


def test_guidance_interval_is_checked():
    assert samplers.parse_guidance_interval(["0", "0.5"]) == (0.0, 0.5)
    for bad in (["0.5", "0.2"], ["x", "1"], ["0.5"], ["-0.1", "0.5"], ["0", "1.5"]):
        with pytest.raises(ValueError):
            samplers.parse_guidance_interval(bad)
    with pytest.raises(ValueError, match="guidance_interval"):
        samplers.Sampler(method="euler", num_steps=4, cfg_strength=4.5, shift=1.0, guidance_interval=(0.5, 0.5))
    from_json = samplers.Sampler(method="euler", num_steps=4, cfg_strength=4.5, shift=1.0, guidance_interval=[0, 1])
    full = samplers.Sampler("euler", 4, 4.5, 1.0)
    assert from_json == full and hash(from_json) == hash(full)

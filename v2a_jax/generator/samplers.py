"""ODE samplers for flow matching, with classifier-free guidance (pure functions, jit-friendly).

A velocity field is `velocity_fn(x, t) -> v`, x [B, ...], t [B] flow times. `sample` integrates dx/dt = v from
t = 0 (noise x0) to t = 1 on the `num_steps` intervals of `time_grid(num_steps, shift)`, with the step loop
inside `lax.scan`, so a jitted caller compiles one step. Methods (NFE: network evaluations per step):
  'euler'     x += h v(x, t)                                          NFE 1, global error O(h)
  'heun'      x' = x + h v(x, t); x += h/2 (v(x, t) + v(x', t + h))     NFE 2, O(h^2) (explicit trapezoid)
  'midpoint'  x += h v(x + h/2 v(x, t), t + h/2)                        NFE 2, O(h^2)
  'ab2'       x += h ((1 + r/2) v_k - (r/2) v_{k-1}), r = h_k / h_{k-1}  NFE 1, O(h^2) (variable-step
              Adams-Bashforth; the first step is Euler's)
The second-order methods are exact for velocities affine in t along the path and their error falls with the
square of the step; 'ab2' gets that order from one evaluation per step by reusing the previous velocity, which is
what makes few-step sampling (<= 8 evaluations) cheap. Randomness enters only through x0: sampling is
deterministic given the noise key.

Time grid: `shift` s >= 1 moves the grid towards the noise end (SD3's timestep shift, in noise level
sigma = 1 - t: sigma' = s sigma / (1 + (s - 1) sigma)), where a learnt flow's velocity changes fastest; s = 1 is
the uniform grid.

Guidance (`guided_velocity`): v = s v(x, t | c) + (1 - s) v(x, t | null) (MMAudio's convention; s = 1 is the
conditional model, s = 0 the unconditional one). Both halves run as one batch of 2B, after the network's
condition-free input part, which they share, has run once on x. A guidance interval [lo, hi) of flow times (hi = 1
includes t = 1) limits guidance to the network evaluations at flow times inside it; the others take the conditional
field alone, a batch of B (Kynkäänniemi et al. 2024, "Applying guidance in a limited interval"): the late
evaluations, near the data, refine what the early ones decided, and guiding them too exaggerates it (for binaural
audio: interaural differences wider than the picture's; experiments/RESULTS.md, "Guidance interval"). The
second-order methods' extra evaluations (at t + h, t + h / 2) are guided by where they lie, not by their step's start.

`Sampler` bundles one sampling run's settings (config.sampler, or a command's flags) and validates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.train import run_config

METHODS = ("euler", "heun", "midpoint", "ab2")
EVALUATIONS_PER_STEP = {"euler": 1, "heun": 2, "midpoint": 2, "ab2": 1}

VelocityFn = Callable[[jax.Array, jax.Array], jax.Array]
FULL_INTERVAL = (0.0, 1.0)  # guidance at every step (MMAudio's sampler)


def check_sampler(
    method: str, num_steps: int, shift: float = 1.0, guidance_interval: tuple[float, float] = FULL_INTERVAL
) -> None:
    """Raises ValueError naming the bad setting."""
    if method not in METHODS:
        raise ValueError(f"sampler method={method!r}: expected one of {METHODS}")
    if num_steps < 1:
        raise ValueError(f"sampler num_steps={num_steps}: must be >= 1")
    if not shift >= 1.0:
        raise ValueError(f"sampler shift={shift}: must be >= 1 (1 = uniform time grid)")
    check_guidance_interval(guidance_interval)


def check_guidance_interval(guidance_interval: tuple[float, float]) -> None:
    """Raises ValueError unless the interval is flow times 0 <= lo < hi <= 1."""
    lo, hi = guidance_interval
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"sampler guidance_interval={guidance_interval}: expected flow times 0 <= lo < hi <= 1")


def parse_guidance_interval(values: list[str]) -> tuple[float, float]:
    """A command line's 'LO,HI' (as a list flag's values) -> (lo, hi); ValueError unless 0 <= lo < hi <= 1."""
    try:
        lo, hi = (float(v) for v in values)
    except ValueError:
        raise ValueError("expected two flow times LO,HI") from None
    check_guidance_interval((lo, hi))
    return lo, hi


@dataclasses.dataclass(frozen=True)
class Sampler:
    """method (METHODS), num_steps, cfg_strength (guidance strength s of `guided_velocity`), shift (of
    `time_grid`) and guidance_interval (the flow times [lo, hi) whose evaluations are guided): everything a sampling run
    is given besides the noise. Hashable: one jit per Sampler."""

    method: str
    num_steps: int
    cfg_strength: float
    shift: float
    guidance_interval: tuple[float, float] = FULL_INTERVAL

    def __post_init__(self):
        # A config.json or a caller may give a list: the Sampler stays hashable and compares equal either way.
        object.__setattr__(self, "guidance_interval", tuple(float(v) for v in self.guidance_interval))
        check_sampler(self.method, self.num_steps, self.shift, self.guidance_interval)

    @classmethod
    def from_config(cls, sampler) -> Sampler:
        """From a config's `sampler` section (run_config.parse_section: its fields are exactly this class's)."""
        return run_config.parse_section(cls, sampler, "config.sampler")

    def replace(self, **overrides) -> Sampler:
        """This sampler with the given fields changed (None leaves a field as it is)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def network_evaluations(self) -> int:
        return network_evaluations(self.method, self.num_steps)


def time_grid(num_steps: int, shift: float = 1.0) -> np.ndarray:
    """Flow times t_0 = 0 < t_1 < ... < t_N = 1 (float64 [N + 1]): uniform in t, then shifted (module docstring)."""
    sigma = 1.0 - np.linspace(0.0, 1.0, num_steps + 1)
    return 1.0 - shift * sigma / (1.0 + (shift - 1.0) * sigma)


def network_evaluations(method: str, num_steps: int) -> int:
    """Velocity evaluations of one sampling run (each a guided batch of 2B inside the guidance interval)."""
    return EVALUATIONS_PER_STEP[method] * num_steps


def sample(
    velocity_fn: VelocityFn, x0: jax.Array, *, num_steps: int, method: str = "euler", shift: float = 1.0
) -> jax.Array:
    """Integrates from x0 at t = 0 to t = 1 over `time_grid(num_steps, shift)`; returns x at t = 1."""
    check_sampler(method, num_steps, shift)
    grid = time_grid(num_steps, shift)
    starts = jnp.asarray(grid[:-1], jnp.float32)
    widths = jnp.asarray(np.diff(grid), jnp.float32)
    # Step k's ratio to the previous step (1 for the first, whose previous velocity is unused).
    ratios = jnp.asarray(np.diff(grid) / np.concatenate([[np.diff(grid)[0]], np.diff(grid)[:-1]]), jnp.float32)
    batch = x0.shape[0]

    def at(value):
        return jnp.full((batch,), value, jnp.float32)

    def step(carry, inputs):
        x, v_prev = carry
        k, t, h, r = inputs
        v = velocity_fn(x, at(t))
        if method == "euler":
            x_next = x + h * v
        elif method == "heun":
            x_next = x + (0.5 * h) * (v + velocity_fn(x + h * v, at(t + h)))
        elif method == "midpoint":
            x_next = x + h * velocity_fn(x + (0.5 * h) * v, at(t + 0.5 * h))
        else:  # ab2
            multistep = x + h * ((1.0 + 0.5 * r) * v - (0.5 * r) * v_prev)
            x_next = jnp.where(k == 0, x + h * v, multistep)
        return (x_next, v), None

    (x, _), _ = jax.lax.scan(step, (x0, jnp.zeros_like(x0)), (jnp.arange(num_steps), starts, widths, ratios))
    return x


def guided_velocity(
    velocity_fn: Callable[[Any, jax.Array, Any], jax.Array],
    cond: Any,
    uncond: Any,
    strength: float,
    shared: Callable[[jax.Array], Any] = lambda x: x,
    interval: tuple[float, float] = FULL_INTERVAL,
) -> VelocityFn:
    """Classifier-free guided field from `velocity_fn(h, t, conditions)` with h = `shared(x)`: `shared` is the part
    of the network that reads x and no condition (identity by default), run once since both halves see the same x;
    `velocity_fn` then runs on both halves as one batch of 2B. `cond`/`uncond` are pytrees of [B, ...] arrays (None
    leaves allowed). Strength 1 gives the conditional field. With an `interval` [lo, hi) other than [0, 1) (hi = 1
    includes t = 1), a call whose flow time (t[0]: the samplers give every example the same t) lies outside it runs
    the conditional half alone (`lax.cond`, so that evaluation costs one batch of B)."""
    both = jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=0), cond, uncond)

    def guided(x, t):
        h = shared(x)

        def with_guidance():
            v = velocity_fn(jax.tree.map(lambda a: jnp.concatenate([a, a], axis=0), h), jnp.concatenate([t, t]), both)
            v_cond, v_uncond = jnp.split(v, 2, axis=0)
            return strength * v_cond + (1.0 - strength) * v_uncond

        if tuple(interval) == FULL_INTERVAL:
            return with_guidance()
        lo, hi = interval
        inside = (t[0] >= lo) & ((t[0] < hi) if hi < 1.0 else True)
        return jax.lax.cond(inside, with_guidance, lambda: velocity_fn(h, t, cond))

    return guided

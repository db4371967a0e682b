"""Learning-rate schedules and the optimizer built from the config."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from v2a_jax.train import optim


def _opt(**overrides) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        {
            "learning_rate": 1e-4,
            "warmup_steps": 10,
            "schedule": "constant",
            "decay_boundaries": (),
            "decay_factor": 0.1,
            "b1": 0.9,
            "b2": 0.95,
            "weight_decay": 0.0,
            "grad_clip_norm": 1.0,
            **overrides,
        }
    )


def test_step_schedule_decays_tenfold_at_each_boundary_after_warmup():
    # MMAudio's recipe scaled down: x0.1 at 240K and 270K -> here at 240 and 270.
    schedule = optim.make_schedule(_opt(schedule="step", decay_boundaries=(240, 270)), 300)
    lr = {c: float(schedule(c)) for c in (0, 5, 10, 239, 240, 269, 270, 299)}
    np.testing.assert_allclose([lr[c] for c in sorted(lr)], [0.0, 5e-5, 1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6], rtol=1e-5)


def test_cosine_schedule_peaks_after_warmup_and_ends_at_zero():
    schedule = optim.make_schedule(_opt(schedule="cosine"), 110)
    np.testing.assert_allclose(float(schedule(10)), 1e-4, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(60)), 0.5e-4, rtol=1e-5)  # half-way through decay
    assert float(schedule(110)) < 1e-10


def test_zero_warmup_starts_at_the_full_rate():
    assert float(optim.make_schedule(_opt(warmup_steps=0), 100)(0)) == pytest.approx(1e-4)


def test_gradients_are_clipped_to_the_global_norm():
    # Clipped to norm 1, a gradient of 100s equals the next gradient (0.5 each, norm 1), so Adam's
    # second update is exactly -lr per coordinate; unclipped, the first gradient dominates it.
    params = {"w": jnp.zeros(4)}
    grads = [{"w": jnp.full(4, 100.0)}, {"w": jnp.full(4, 0.5)}]

    def second_update(clip):
        tx, _ = optim.make_optimizer(_opt(warmup_steps=0, learning_rate=1.0, grad_clip_norm=clip), 10)
        state = tx.init(params)
        for g in grads:
            updates, state = tx.update(g, state, params)
        return np.asarray(updates["w"])

    np.testing.assert_allclose(second_update(1.0), -1.0, rtol=1e-5)
    assert np.all(np.abs(second_update(0.0) + 1.0) > 0.01)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"schedule": "linear"}, "schedule='linear'"),
        ({"schedule": "step", "decay_boundaries": (5,)}, "decay_boundaries"),
    ],
)
def test_bad_config_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        optim.make_schedule(_opt(**bad), 100)

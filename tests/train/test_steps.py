"""The train step's EMA, reported gradient norm and RNG, checked against direct computations."""

import grain
import jax
import numpy as np
import optax

from tests.train import run_utils
from v2a_jax.train import optim, partitioning, state, steps
from v2a_jax.train.toy_task import ToyRegressionTask


def test_ema_grad_norm_and_step_rng():
    config = run_utils.toy_config(mesh__data=1, ema_decay=0.9)
    task = ToyRegressionTask(config)
    seen = []  # (step, rng) the task's loss was called with, recorded from inside the jitted step

    def loss(params, batch, rng, step):
        jax.debug.callback(lambda s, r: seen.append((int(s), np.asarray(r))), step, rng)
        return ToyRegressionTask.loss(task, params, batch, rng, step)

    task.loss = loss
    mesh = partitioning.make_mesh(config.mesh, jax.devices()[:1])
    rules = partitioning.logical_axis_rules(config)
    sharding = partitioning.batch_sharding(mesh, rules)
    tx, schedule = optim.make_optimizer(config.optimizer, config.num_train_steps)
    data = task.make_dataset("train", seed=0, shard_options=grain.sharding.NoSharding(), batch_size=config.batch_size)
    batches = [partitioning.global_batch(b, sharding) for b, _ in zip(data, range(2))]
    spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), batches[0])
    init_fn = state.make_init_fn(task, tx, spec)
    abstract = state.abstract_train_state(init_fn, mesh, rules)
    train_state = state.init_train_state(init_fn, abstract, config.seed, mesh, rules)
    train_step = steps.make_train_step(task, tx, schedule, config, abstract, sharding, rules)

    params = [jax.device_get(train_state.params)]
    base_rng = np.asarray(train_state.rng)
    for batch in batches:
        grads = jax.grad(lambda p: ToyRegressionTask.loss(task, p, batch, None, 0)[0])(params[-1])
        train_state, metrics = train_step(train_state, batch)
        np.testing.assert_allclose(float(metrics["grad_norm"]), float(optax.tree.norm(grads)), rtol=1e-5)
        params.append(jax.device_get(train_state.params))

    ema = params[0]
    for step, p in enumerate(params[1:], 1):
        decay = min(0.9, (1 + step) / (10 + step))  # warmed up: 2/11 at step 1, 3/12 at step 2
        ema = jax.tree.map(lambda e, q: decay * e + (1 - decay) * q, ema, p)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
        jax.device_get(train_state.ema_params),
        ema,
    )
    # Steps are 1-based and draw fold_in(base rng, step).
    jax.effects_barrier()
    assert [s for s, _ in seen] == [1, 2]
    for step, rng in seen:
        np.testing.assert_array_equal(rng, jax.random.fold_in(base_rng, step))

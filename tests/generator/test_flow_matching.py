"""Flow-matching pieces: logit-normal times, the linear path, the per-ear loss, dropout masks, val buckets."""

import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.autoencoder import delay
from v2a_jax.generator import flow_matching as fm


def test_logit_normal_times():
    t = np.asarray(fm.logit_normal_times(jax.random.PRNGKey(0), 200_000, mean=0.5, std=2.0), np.float64)
    assert np.all((t > 0) & (t < 1))
    logit = np.log(t / (1 - t))
    np.testing.assert_allclose([logit.mean(), logit.std()], [0.5, 2.0], atol=0.02)


def test_path_and_target():
    k0, k1 = jax.random.split(jax.random.PRNGKey(0))
    x0, x1 = jax.random.normal(k0, (3, 2, 5, 4)), jax.random.normal(k1, (3, 2, 5, 4))
    t = jnp.array([0.0, 0.25, 1.0])
    xt = fm.interpolate(x0, x1, t)
    np.testing.assert_allclose(xt[0], x0[0], atol=1e-6)
    np.testing.assert_allclose(xt[1], 0.75 * x0[1] + 0.25 * x1[1], atol=1e-6)
    np.testing.assert_allclose(xt[2], x1[2], atol=1e-6)
    # The target is the time derivative of the path.
    h = 1e-3
    deriv = (fm.interpolate(x0, x1, t + h) - fm.interpolate(x0, x1, t)) / h
    np.testing.assert_allclose(deriv, fm.target_velocity(x0, x1), atol=1e-2)


def test_loss_is_per_ear_mean_summed_over_ears():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((2, 4, 2, 6, 3))
    per_ear = np.asarray(fm.per_ear_loss(jnp.asarray(pred), jnp.asarray(target)))
    manual = np.array([[np.mean((pred[b, e] - target[b, e]) ** 2) for e in range(2)] for b in range(4)])
    np.testing.assert_allclose(per_ear, manual, rtol=1e-5)
    np.testing.assert_allclose(float(fm.flow_loss(jnp.asarray(per_ear))), manual.sum(axis=1).mean(), rtol=1e-5)


def test_interaural_loss_is_the_side_part_of_the_per_ear_loss():
    rng = np.random.default_rng(1)
    pred, target = rng.standard_normal((2, 4, 2, 6, 3))
    side = np.asarray(fm.interaural_loss(jnp.asarray(pred), jnp.asarray(target)))
    err = pred - target
    mid_manual = np.mean(((err[:, 0] + err[:, 1]) / 2) ** 2, axis=(1, 2))
    side_manual = np.mean(((err[:, 0] - err[:, 1]) / 2) ** 2, axis=(1, 2))
    np.testing.assert_allclose(side, side_manual, rtol=1e-5)
    # Parallelogram law: the per-ear sum splits into twice the mid and twice the side error.
    per_ear = np.asarray(fm.per_ear_loss(jnp.asarray(pred), jnp.asarray(target))).sum(axis=1)
    np.testing.assert_allclose(per_ear, 2 * (mid_manual + side), rtol=1e-5)
    same = np.repeat(err[:, :1], 2, axis=1)  # equal ears: no interaural error
    np.testing.assert_allclose(np.asarray(fm.interaural_loss(jnp.asarray(same), jnp.zeros_like(same))), 0.0)


def test_drop_masks_rates_and_independence():
    video, text = fm.drop_masks(jax.random.PRNGKey(0), 100_000, 0.1, 0.3)
    video, text = np.asarray(video), np.asarray(text)
    np.testing.assert_allclose([video.mean(), text.mean(), (video & text).mean()], [0.1, 0.3, 0.03], atol=0.005)


def test_validation_buckets():
    np.testing.assert_allclose(fm.bucket_times(4), [0.125, 0.375, 0.625, 0.875])
    assert fm.bucket_names(4) == ["loss_t0.00-0.25", "loss_t0.25-0.50", "loss_t0.50-0.75", "loss_t0.75-1.00"]


def test_interaural_part_of_the_codec_delay_channel_is_the_itd_error():
    """The codec's delay channel holds each ear's delay (-ITD / 2 left, +ITD / 2 right, autoencoder/delay.py), so
    the interaural loss of that channel alone (GeneratorTask's itd_loss) is the squared ITD error / 4."""
    rng = np.random.default_rng(0)
    itd_true, itd_pred = rng.normal(0, 4, (2, 3, 5))  # two [B, T] ITDs in samples
    latents = rng.normal(size=(2, 3, 2, 5, 6))  # two sets of [B, 2, T, C]
    latents[0, ..., 5] = np.asarray(delay.ear_delays(jnp.asarray(itd_true)))
    latents[1, ..., 5] = np.asarray(delay.ear_delays(jnp.asarray(itd_pred)))
    loss = fm.interaural_loss(jnp.asarray(latents[1, ..., 5:]), jnp.asarray(latents[0, ..., 5:]))
    expected = np.mean(np.square((itd_pred - itd_true) / delay.DELAY_SCALE), axis=1) / 4
    np.testing.assert_allclose(loss, expected, rtol=1e-5)

"""The generator task in the trainer's jitted steps on the session's tiny `binaural_synth` data: one training step
per paper config (ViSAudio on a 2 x 2 x 2 mesh of 8 CPU devices, equal to 1 device), validation per time bucket,
guidance at strength 1, and the TensorBoard summaries."""

import chex
import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.generator import helpers
from v2a_jax import cli
from v2a_jax.generator import flow_matching as fm
from v2a_jax.generator import samplers
from v2a_jax.generator.model import Generator
from v2a_jax.generator.task import GeneratorTask
from v2a_jax.inference import sampling
from v2a_jax.train import optim, partitioning, state, steps
from v2a_jax.train.summaries import Audio

ATOL = 1e-5  # sharding only reorders float32 sums: losses agree to this
# Params after AdamW steps agree less tightly: Adam scales each update by g / (sqrt(v) + 1e-8), so an element whose
# gradient is ~1e-9 (float noise of the reordered sums) moves by up to ~lr / 10 differently. Real updates move by
# ~lr per step.
PARAM_RTOL_OF_LR = 0.2


class Run:
    """A task with its train state and jitted steps on `devices`, after one train step per batch.

    `initial_state` (host arrays) replaces the initialisation, so that two runs start from the same state without
    compiling the initialisation twice.
    """

    def __init__(self, config, devices, batches, initial_state=None):
        self.config = config
        self.task = GeneratorTask(config)
        chex.clear_trace_counter()
        self.task.loss = chex.assert_max_traces(self.task.loss, n=1)
        self.mesh = partitioning.make_mesh(config.mesh, devices)
        self.rules = partitioning.logical_axis_rules(config)
        self.batch_sharding = partitioning.batch_sharding(self.mesh, self.rules)
        self.tx, schedule = optim.make_optimizer(config.optimizer, config.num_train_steps)
        spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), batches[0])
        init_fn = state.make_init_fn(self.task, self.tx, spec)
        self.abstract = state.abstract_train_state(init_fn, self.mesh, self.rules)
        if initial_state is None:
            self.state = state.init_train_state(init_fn, self.abstract, config.seed, self.mesh, self.rules)
        else:
            self.state = jax.device_put(initial_state, state.shardings_of(self.abstract))
        self.initial_state = jax.device_get(self.state)
        self.train_step = steps.make_train_step(
            self.task, self.tx, schedule, config, self.abstract, self.batch_sharding, self.rules
        )
        self.metrics = []
        for batch in batches:
            self.state, metrics = self.train_step(self.state, self.batch(batch))
            self.metrics.append(jax.device_get(metrics))

    def batch(self, local_batch):
        return partitioning.global_batch(local_batch, self.batch_sharding)


def _batches(config, count):
    data = GeneratorTask(config).make_dataset(
        "train", seed=0, shard_options=grain.sharding.NoSharding(), batch_size=config.batch_size
    )
    return [b for b, _ in zip(data, range(count))]


def _max_change(run):
    return jax.tree.map(
        lambda a, b: float(np.abs(a - b).max()), jax.device_get(run.state.params), run.initial_state.params
    )


def test_visaudio_step_on_a_2x2x2_mesh_matches_one_device(tiny_synth):
    config = helpers.tiny_config("visaudio", tiny_synth[2], mesh__data=2, mesh__fsdp=2, mesh__tensor=2)
    batches = _batches(config, 2)
    assert batches[0]["caption_ids"].shape == (8, config.model.text.max_len)
    assert batches[0]["caption_ids"][:, 1:].max() > 2  # real caption words, not only BOS/UNK
    sharded = Run(config, jax.devices(), batches)
    single = Run(helpers.tiny_config("visaudio", tiny_synth[2]), jax.devices()[:1], batches, sharded.initial_state)

    qkv = sharded.state.params["joint"]["joint_blocks"]["audio"]["qkv"]["Projection_0"]["kernel"]
    assert qkv.sharding.spec == jax.P(None, "fsdp", None, "tensor", None)  # [layers, embed, 3, heads, kv]
    for run in (sharded, single):
        m = run.metrics[0]
        assert np.isfinite(m["loss"]) and m["grad_norm"] > 0
        # ViSAudio's loss: the per-ear flow losses + its tuned encoder's localisation BCE.
        np.testing.assert_allclose(
            m["loss"],
            m["loss_left"] + m["loss_right"] + config.model.video.localisation_weight * m["patch_bce"],
            rtol=1e-5,
        )
    assert config.model.video.localisation_weight > 0
    np.testing.assert_allclose(
        [m["loss"] for m in sharded.metrics], [m["loss"] for m in single.metrics], rtol=0, atol=ATOL
    )
    lr = config.optimizer.learning_rate
    chex.assert_trees_all_close(
        jax.device_get(sharded.state.params), jax.device_get(single.state.params), rtol=0, atol=PARAM_RTOL_OF_LR * lr
    )
    moved = _max_change(single)
    assert max(jax.tree.leaves(moved)) > 1.5 * lr  # two steps: far beyond the tolerance
    # Every module learns from the first steps, the spacetime module and both ears' branches included.
    for name in ("video_encoder", "text_encoder", "spacetime", "joint", "branches"):
        assert max(jax.tree.leaves(moved[name])) > 0, name


@pytest.fixture(scope="module")
def spatial_run(tiny_synth):
    config = helpers.tiny_config(
        "spatialv2a",
        tiny_synth[2],
        model__spatialisation__aux_weight=1.0,
        model__video__localisation_weight=0.5,
        flow__interaural_weight=2.0,
    )
    return Run(config, jax.devices()[:1], _batches(config, 1))


def test_spatialv2a_step_with_every_auxiliary_loss(spatial_run):
    m = spatial_run.metrics[0]
    assert np.isfinite(m["loss"])
    np.testing.assert_allclose(
        m["loss"],
        m["flow_loss"] + 2 * 2.0 * m["interaural_loss"] + 1.0 * m["heatmap_bce"] + 0.5 * m["patch_bce"],
        rtol=1e-5,
    )
    assert 0 < m["interaural_loss"] < m["flow_loss"]
    for name in ("heatmap", "patch"):
        assert 0.0 <= m[f"{name}_hit_rate"] <= 1.0 and m[f"{name}_bce"] > 0
    moved = _max_change(spatial_run)
    for name in ("heatmap", "spatial_condition", "video_encoder", "patch_localiser_head", "branches"):
        assert max(jax.tree.leaves(moved[name])) > 0, name


def test_itd_weight_weighs_the_interaural_error_of_the_codec_delay_channel(tiny_synth):
    with pytest.raises(cli.ConfigError, match=r"config.flow.itd_weight=1.0: the codec .* has no measured delay"):
        GeneratorTask(helpers.tiny_config("visaudio", tiny_synth[2], flow__itd_weight=1.0))

    def task_with_delay_channel(itd_weight, delay_channel):
        """A task whose codec claims a measured delay channel (the frame codec has none: the weight is set after
        the construction check)."""
        task = GeneratorTask(helpers.tiny_config("visaudio", tiny_synth[2]))
        task.codec.delay_channel = delay_channel
        task.config.flow.itd_weight = itd_weight
        return task

    no_channel = task_with_delay_channel(0.0, None)
    batch = _batches(no_channel.config, 1)[0]
    params = jax.jit(no_channel.init)(jax.random.PRNGKey(0), batch)
    rng = jax.random.PRNGKey(1)
    assert "itd_loss" not in jax.jit(no_channel.loss)(params, batch, rng, 0)[1]
    _, plain = jax.jit(task_with_delay_channel(0.0, 3).loss)(params, batch, rng, 0)
    weighted_task = task_with_delay_channel(1.5, 3)
    loss, weighted = jax.jit(weighted_task.loss)(params, batch, rng, 0)
    assert 0 < plain["itd_loss"] == weighted["itd_loss"]
    aux = weighted_task.config.model.video.localisation_weight * weighted["patch_bce"]
    np.testing.assert_allclose(loss, weighted["flow_loss"] + 2 * 1.5 * weighted["itd_loss"] + aux, rtol=1e-5)
    np.testing.assert_allclose(weighted["flow_loss"], plain["flow_loss"], rtol=1e-6)


def test_validation_loss_per_time_bucket(spatial_run):
    run = spatial_run
    eval_step = steps.make_eval_step(run.task, run.config, run.abstract, run.batch_sharding, run.rules)
    batch = run.batch(_batches(run.config, 1)[0])
    metrics = jax.device_get(eval_step(run.state.params, batch, jax.random.PRNGKey(0)))
    names = fm.bucket_names(run.config.flow.num_val_buckets)
    assert set(names) <= set(metrics) and {"heatmap_hit_rate", "patch_hit_rate"} <= set(metrics)
    np.testing.assert_allclose(metrics["loss"], np.mean([metrics[n] for n in names]), rtol=1e-5)
    again = jax.device_get(eval_step(run.state.params, batch, jax.random.PRNGKey(0)))
    assert again == metrics  # deterministic given the rng


def test_guidance_at_strength_one_is_the_conditional_model(spatial_run):
    run = spatial_run
    task = run.task
    # Noise on the params opens the zero-initialised gates, so the conditions steer the velocity strongly.
    rng = np.random.default_rng(0)
    params = jax.tree.map(
        lambda p: p + 0.05 * rng.standard_normal(p.shape).astype(np.float32), jax.device_get(run.state.params)
    )
    inputs = task.model_inputs(run.batch(_batches(run.config, 1)[0]))
    key = jax.random.PRNGKey(5)
    heun = samplers.Sampler(method="heun", num_steps=3, cfg_strength=1.0, shift=1.0)

    def conditional(p, i, k):
        b = i["video"].shape[0]
        cond = task.model.apply(
            {"params": p}, i, jnp.zeros((b,), bool), jnp.zeros((b,), bool), 40, method=Generator.encode
        )
        field = lambda x, t: task.model.apply({"params": p}, x, t, cond, method=Generator.velocity)  # noqa: E731
        x0 = jax.random.normal(k, (b, 2, 40, task.codec.latent_dim))
        return samplers.sample(field, x0, num_steps=3, method="heun")

    def all_three(p, i, k):  # one compilation for the three samplers
        return (
            sampling.sample_latents(task.model, p, i, k, num_latent_frames=40, sampler=heun),
            conditional(p, i, k),
            sampling.sample_latents(task.model, p, i, k, num_latent_frames=40, sampler=heun.replace(cfg_strength=0.0)),
        )

    guided, expected, unconditional = jax.jit(all_three)(params, inputs, key)
    np.testing.assert_allclose(guided, expected, rtol=0, atol=1e-5)
    # The unconditional samples differ by far more: the comparison would catch swapped halves.
    assert float(jnp.abs(unconditional - expected).max()) > 1e-2


def test_summaries_render_audio_and_cue_images(spatial_run):
    run = spatial_run
    batch = run.batch(_batches(run.config, 1)[0])
    with jax.set_mesh(run.mesh), nn.logical_axis_rules(run.rules):
        media = run.task.summaries(run.state.params, batch, jax.random.PRNGKey(0), 1)
        again = run.task.summaries(run.state.params, batch, jax.random.PRNGKey(0), 1)
    assert sorted(media) == sorted(
        f"clip{i}/{k}" for i in range(2) for k in ("generated", "reference", "binaural_cues")
    )
    generated = media["clip0/generated"]
    assert isinstance(generated, Audio) and generated.waveform.shape == (2, 20480)
    np.testing.assert_array_equal(generated.waveform, again["clip0/generated"].waveform)  # deterministic
    image = media["clip1/binaural_cues"]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.std() > 10

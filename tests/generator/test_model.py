"""The generator model: shapes of every variant (traced once each, no compilation), the baselines' ear
structure, and the precomputed-feature path with features made here."""

import dataclasses
import json
import re

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from tests.generator import helpers
from v2a_jax import cli
from v2a_jax.generator import layers, transformer
from v2a_jax.generator.model import Conditions, Generator, ModelConfig, count_params

B, T_VIDEO, T_SEM, T_LAT, C = 2, 32, 8, 40, 8
EXTERNAL = dict(latent_dim=C, semantic_frames_per_video_frame=T_SEM / T_VIDEO, dtype="float32")
BASE = ModelConfig.from_config(helpers.tiny_config("visaudio").model, **EXTERNAL)
ON, OFF = dict(enabled=True), dict(enabled=False)
VARIANTS = {
    "visaudio": dict(layout="dual", branch_weights="separate", spacetime=True),
    "spatialv2a": dict(layout="dual", branch_weights="separate", spacetime=False, spatialisation=ON),
    "dual_shared_both_modules": dict(layout="dual", branch_weights="shared", spacetime=True, spatialisation=ON),
    "joint_stereo": dict(layout="stereo", branch_weights="shared", spacetime=False),
    "mono": dict(layout="mono", branch_weights="shared", spacetime=False),
    "visaudio_no_text_unaligned": dict(layout="dual", spacetime=True, text=OFF, aligned_rope=False),
    "spatialv2a_precomputed": dict(
        layout="dual", spacetime=False, spatialisation=ON, video=dict(features="precomputed", patch_grid=(3, 5))
    ),
}


def _replace(config: ModelConfig, **changes) -> ModelConfig:
    """`config` with fields replaced; a dict replaces fields of that nested section (video, text, ...)."""
    return dataclasses.replace(
        config,
        **{k: dataclasses.replace(getattr(config, k), **v) if isinstance(v, dict) else v for k, v in changes.items()},
    )


def _inputs(config: ModelConfig, key=jax.random.PRNGKey(0)) -> dict:
    keys = jax.random.split(key, 4)
    inputs = {}
    if config.video.features == "pixels":
        inputs["video"] = jax.random.uniform(keys[0], (B, T_VIDEO, 32, 32, 3), minval=-1, maxval=1)
    else:
        p = config.grid[0] * config.grid[1]
        inputs["clip_features"] = jax.random.normal(keys[0], (B, T_SEM, 24))
        inputs["sync_features"] = jax.random.normal(keys[1], (B, T_VIDEO, 12))
        inputs["patch_features"] = jax.random.normal(keys[2], (B, T_SEM, p, 20))
    if config.text.enabled:
        inputs["caption_ids"] = jax.random.randint(keys[3], (B, config.text.max_len), 0, config.text.vocab_size)
    return inputs


def _args(config: ModelConfig, key=jax.random.PRNGKey(0)):
    x = jax.random.normal(key, (B, 2, T_LAT, C))
    no = jnp.zeros((B,), bool)
    return x, jnp.full((B,), 0.3), _inputs(config, key), no, no


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_shapes_of_every_variant(name):
    config = _replace(BASE, **VARIANTS[name])
    model = Generator(config)
    chex.clear_trace_counter()

    @chex.assert_max_traces(n=1)
    def forward(key):
        params = model.init(key, *_args(config))
        return model.apply(params, *_args(config)), params

    (velocity, cond), params = jax.eval_shape(forward, jax.random.PRNGKey(0))
    assert velocity.shape == (B, 2, T_LAT, C) and velocity.dtype == jnp.float32
    nb = 2 if config.layout == "dual" else 1
    assert isinstance(cond, Conditions)
    assert cond.frame_cond.shape == (B, nb, T_LAT, config.hidden)
    assert cond.video_tokens.shape == (B, T_SEM, config.hidden)
    assert cond.global_cond.shape == (B, config.hidden)
    assert (cond.text_tokens is not None) == config.text.enabled
    if config.text.enabled:
        assert cond.text_tokens.shape == (B, config.text.max_len, config.hidden)
    p = config.grid[0] * config.grid[1]
    assert (None if cond.heatmap_logits is None else cond.heatmap_logits.shape) == (
        (B, T_SEM, p) if config.spatialisation.enabled else None
    )
    assert ("spacetime" in params["params"]) == config.spacetime
    assert ("heatmap" in params["params"]) == config.spatialisation.enabled
    branch = params["params"]["branches"]["branch"]["final"]["out"]["kernel"].value
    separate = config.layout == "dual" and config.branch_weights == "separate"
    assert branch.shape[0] == 2 if separate else branch.ndim == 3  # [2, k, D, C] per ear, else [k, D, C]


def test_separate_branches_double_the_branch_parameters():
    counts = {}
    for weights in ("shared", "separate"):
        config = dataclasses.replace(BASE, branch_weights=weights)
        params = jax.eval_shape(Generator(config).init, jax.random.PRNGKey(0), *_args(config))
        counts[weights] = (count_params(params), count_params(params["params"]["branches"]))
    assert counts["separate"][1] == 2 * counts["shared"][1]
    assert counts["separate"][0] - counts["shared"][0] == counts["shared"][1]


def test_config_rejects_spacetime_without_branches():
    with pytest.raises(cli.ConfigError, match=r"^config\.model\.spacetime=True: .*layout='dual'"):
        dataclasses.replace(BASE, layout="stereo", spacetime=True)


def test_config_errors_name_the_nested_field():
    with pytest.raises(
        cli.ConfigError,
        match=r"^config\.model\.video\.image_size=18: must be a multiple of "
        r"video\.patch_size=4$",
    ):
        _replace(BASE, video=dict(image_size=18))


@pytest.mark.parametrize("section", ["", "video", "text", "spatialisation"])
@pytest.mark.parametrize("problem", ["unknown", "missing"])
def test_from_config_refuses_an_unknown_or_a_missing_field_naming_it(section, problem):
    """A misspelt field and a lacking one (e.g. in the config.json of a run older than the field) each stop with
    one line naming the field by its full path."""
    model = helpers.tiny_config("visaudio").model
    node = model[section] if section else model
    path = re.escape(f"config.model.{section}." if section else "config.model.")
    known = sorted(node.keys())[0]
    if problem == "unknown":
        node.colour = 1
        expected = rf"^{path}colour: unknown field; known: .*\b{known}\b"
    else:
        field = "remat" if not section else sorted(node.keys())[-1]
        del node[field]
        expected = rf"^{path}{field}: missing "
    with pytest.raises(cli.ConfigError, match=expected) as error:
        ModelConfig.from_config(model, **EXTERNAL)
    assert "\n" not in str(error.value)


def test_from_config_of_a_saved_config_json_equals_the_fresh_one():
    """A run's config.json stores tuples as lists; the parsed config is the same (and hashable)."""
    saved = ml_collections.ConfigDict(json.loads(json.dumps(helpers.tiny_config("visaudio").model.to_dict())))
    assert isinstance(saved.video.patch_grid, list)
    loaded = ModelConfig.from_config(saved, **EXTERNAL)
    assert loaded == BASE and hash(loaded) == hash(BASE)
    assert loaded.text.vocabulary == tuple(saved.text.vocabulary)


def _perturbed(params):
    """Params plus small noise: opens the zero-initialised gates and output layers so outputs depend on inputs.
    (numpy noise: eager jax.random would compile a sampler per parameter shape.)"""
    rng = np.random.default_rng(2)
    return jax.tree.map(lambda p: p + 0.05 * rng.standard_normal(p.shape).astype(np.float32), params)


def test_precomputed_features_are_all_read_and_dropped_together():
    config = _replace(BASE, **VARIANTS["spatialv2a_precomputed"])
    model = Generator(config)
    x, t, inputs, no, _ = _args(config)
    params = _perturbed(jax.jit(model.init)(jax.random.PRNGKey(1), x, t, inputs, no, no))
    apply = jax.jit(model.apply)
    base, cond = apply(params, x, t, inputs, no, no)
    assert np.all(np.isfinite(base)) and cond.heatmap_logits.shape == (B, T_SEM, 15)
    dropped = apply(params, x, t, inputs, ~no, no)[0]
    for key in ("clip_features", "sync_features", "patch_features"):
        # Random, not constant, changes: a LayerNorm right after the input would cancel a constant shift.
        changed = {**inputs, key: inputs[key] + jax.random.normal(jax.random.PRNGKey(3), inputs[key].shape)}
        assert float(jnp.abs(apply(params, x, t, changed, no, no)[0] - base).max()) > 1e-4, key
        np.testing.assert_allclose(apply(params, x, t, changed, ~no, no)[0], dropped, atol=1e-6)


@pytest.mark.parametrize("layout", ["mono", "stereo"])
def test_baseline_layouts_ears(layout):
    """Mono reads only the left-ear slot and writes the same velocity to both ears; joint stereo reads and writes
    both ears (a change in one ear's input reaches both ears' outputs through the shared stream)."""
    config = _replace(
        BASE,
        layout=layout,
        branch_weights="shared",
        spacetime=False,
        text=OFF,
        video=dict(features="precomputed", patch_grid=(2, 2)),
    )
    model = Generator(config)
    x, t, inputs, no, _ = _args(config)
    params = _perturbed(jax.jit(model.init)(jax.random.PRNGKey(1), x, t, inputs, no, no))
    apply = jax.jit(model.apply)
    v = np.asarray(apply(params, x, t, inputs, no, no)[0])
    right_changed = np.asarray(apply(params, x.at[:, 1].add(1.0), t, inputs, no, no)[0])
    if layout == "mono":
        np.testing.assert_array_equal(v[:, 0], v[:, 1])
        np.testing.assert_array_equal(right_changed, v)
    else:
        assert np.abs(v[:, 0] - v[:, 1]).max() > 1e-3
        assert np.abs(right_changed - v)[:, 0].max() > 1e-4 and np.abs(right_changed - v)[:, 1].max() > 1e-4


def _branch_loss_and_grads(execution: layers.Execution):
    """(loss, gradients) of a 2-block per-ear branch run as `execution` says, at fixed perturbed params."""
    key_x, key_c, key_p = jax.random.split(jax.random.PRNGKey(0), 3)
    x, c = jax.random.normal(key_x, (2, 12, 32)), jax.random.normal(key_c, (2, 12, 32))
    branch = transformer.Branch(32, 2, 64, 2, 8, execution=execution)
    params = transformer.Branch(32, 2, 64, 2, 8).init(jax.random.PRNGKey(1), x, c)
    # The zero-initialised output layer would leave every block's gradient zero: perturb all weights.
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key_p, len(leaves))
    params = jax.tree.unflatten(treedef, [w + 0.05 * jax.random.normal(k, w.shape) for w, k in zip(leaves, keys)])
    assert jax.tree.structure(branch.init(jax.random.PRNGKey(1), x, c)) == treedef
    return jax.jit(jax.value_and_grad(lambda p: jnp.mean(branch.apply(p, x, c) ** 2)))(params)


def _assert_same_results(execution: layers.Execution):
    (l0, g0), (l1, g1) = _branch_loss_and_grads(layers.Execution()), _branch_loss_and_grads(execution)
    np.testing.assert_allclose(l1, l0, rtol=1e-5)
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(g0["params"]["single_blocks"])) > 1e-3
    for a, b in zip(jax.tree.leaves(g0), jax.tree.leaves(g1)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_unrolled_stack_same_params_and_results():
    """An unrolled stack (scan_layers=False; also recomputed in the backward pass) has the scanned stack's
    parameters, output and gradients, and its lowered program has no loop left (so XLA's cost analysis sees every
    block)."""
    _assert_same_results(layers.Execution(scan_layers=False))
    _assert_same_results(layers.Execution(remat="full", scan_layers=False))
    # The whole generator (video encoder, joint and per-ear stacks): loops only when scanned.
    for scan in (True, False):
        config = dataclasses.replace(_replace(BASE, **VARIANTS["visaudio"]), scan_layers=scan)
        args = _args(config)
        params = jax.eval_shape(Generator(config).init, jax.random.PRNGKey(0), *args)
        lowered = jax.jit(Generator(config).apply).lower(params, *args)
        assert ("stablehlo.while" in lowered.as_text()) == scan


@pytest.mark.parametrize("policy", ["full", "dots"])
def test_remat_changes_memory_not_results(policy):
    """A scanned stack recomputed in the backward pass (each of layers.REMAT_POLICIES) gives the same output and
    gradients; in the generator, every scanned stack (video encoder, joint blocks, per-ear blocks) is recomputed."""
    _assert_same_results(layers.Execution(remat=policy))

    # The whole generator: same params, and the policy reaches its three scanned stacks (traced, not compiled).
    plain = dataclasses.replace(_replace(BASE, **VARIANTS["visaudio"]), remat="none")
    remat = dataclasses.replace(plain, remat=policy)
    shapes = {
        name: jax.eval_shape(Generator(config).init, jax.random.PRNGKey(0), *_args(config))
        for name, config in (("plain", plain), ("remat", remat))
    }
    assert jax.tree.structure(shapes["plain"]) == jax.tree.structure(shapes["remat"])

    def checkpoints(config):
        jaxpr = jax.make_jaxpr(lambda p: Generator(config).apply(p, *_args(config)))(shapes["plain"])
        return str(jaxpr).count("remat2[")  # jax.checkpoint's primitive

    assert checkpoints(plain) == 0 and checkpoints(remat) >= 3


def test_tuned_encoder_saliency_steers_the_spacetime_module_and_only_with_the_video():
    """With the encoder's sounding-patch read-out on, its logits bias the spacetime pooling: changing the read-out
    changes the two ears' conditions. A dropped video gives both ears the same spacetime condition (the
    branches then differ only by their branch embedding), whatever the read-out says."""
    config = _replace(BASE, **VARIANTS["visaudio"], video=dict(localisation_weight=0.1))
    assert config.patch_localiser
    model = Generator(config)
    x, t, inputs, no, _ = _args(config)
    params = _perturbed(jax.jit(model.init)(jax.random.PRNGKey(1), x, t, inputs, no, no))
    encode = jax.jit(lambda p, drop: model.apply(p, inputs, drop, drop, T_LAT, method=Generator.encode))
    head = params["params"]["patch_localiser_head"]["kernel"]
    rng = np.random.default_rng(4)
    louder = jax.tree.map(lambda p: p, params)
    louder["params"]["patch_localiser_head"]["kernel"] = head.replace_boxed(
        head.value + 3.0 * rng.standard_normal(head.value.shape).astype(np.float32)
    )
    kept, kept_louder = encode(params, no), encode(louder, no)
    side = lambda cond: np.asarray(cond.frame_cond[:, 0] - cond.frame_cond[:, 1])  # noqa: E731
    assert np.abs(side(kept_louder) - side(kept)).max() > 1e-2
    embedding = np.asarray(params["params"]["branch_embedding"].value)
    for p in (params, louder):
        np.testing.assert_allclose(
            side(encode(p, ~no)), np.broadcast_to(embedding[0] - embedding[1], (B, T_LAT, config.hidden)), atol=1e-5
        )


def test_the_attention_implementation_reaches_every_attention(monkeypatch):
    """config.model.attention is what jax.nn.dot_product_attention is called with, in the joint and per-ear
    blocks and both encoders; an unknown implementation is refused naming the field."""
    seen = []
    original = jax.nn.dot_product_attention

    def recording(*args, implementation=None, **kwargs):
        seen.append(implementation)
        return original(*args, implementation="xla", **kwargs)  # 'cudnn' itself needs a GPU

    monkeypatch.setattr(jax.nn, "dot_product_attention", recording)
    config = dataclasses.replace(_replace(BASE, **VARIANTS["visaudio"]), attention="cudnn")
    jax.eval_shape(Generator(config).init, jax.random.PRNGKey(0), *_args(config))
    # Joint, per-ear, video encoder (time and space) and text encoder attentions, each traced at least once.
    assert len(seen) >= 5 and set(seen) == {"cudnn"}
    with pytest.raises(cli.ConfigError, match=r"config.model.attention='flash': must be one of"):
        dataclasses.replace(config, attention="flash")


@pytest.mark.parametrize("name", ["visaudio", "joint_stereo", "mono"])
def test_guided_field_shares_the_audio_input_projections_and_matches_the_full_network(name):
    """sampling.guided_field runs Generator.audio_tokens once on x and the rest on both halves: the same velocity as
    the whole network run on [x, x] (float tolerance), and fewer FLOPs by exactly one audio_tokens on B clips."""
    from v2a_jax.generator import samplers
    from v2a_jax.inference import sampling

    config = _replace(BASE, **VARIANTS[name])
    model = Generator(config)
    x, t, inputs, no, _ = _args(config)
    params = model.init(jax.random.PRNGKey(1), x, t, inputs, no, no)["params"]

    def encode(drop):
        return model.apply({"params": params}, inputs, drop, drop, T_LAT, method=Generator.encode)

    cond, uncond = encode(no), encode(~no)

    def whole_network(x, t, c):
        return model.apply({"params": params}, x, t, c, method=Generator.velocity)

    shared = jax.jit(sampling.guided_field(model, params, cond, uncond, 4.5))
    plain = jax.jit(samplers.guided_velocity(whole_network, cond, uncond, 4.5))
    np.testing.assert_allclose(shared(x, t), plain(x, t), rtol=1e-4, atol=1e-5)

    def flops(fn, *args):
        return jax.jit(fn).lower(*args).cost_analysis()["flops"]

    projections = flops(lambda x: model.apply({"params": params}, x, method=Generator.audio_tokens), x)
    assert projections > 0
    np.testing.assert_allclose(flops(plain, x, t) - flops(shared, x, t), projections, rtol=0.02)

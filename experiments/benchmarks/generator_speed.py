r"""Generator speed on this machine: parameter counts, training throughput, model FLOP/s, sampling time.

    python -m experiments.benchmarks.generator_speed [--sizes=tiny,small] [--steps=3] [--out=speed.json]
    # on a GPU/TPU: --sizes=tiny,small,large --dtype=bfloat16 --matmul_size=8192 --batch_small=16

For every MODEL-SIZE of experiments/generator.py it prints the parameter count (from shapes alone, nothing
allocated). For the sizes in --sizes it then measures, on one device with the ViSAudio model:
  - training throughput: the trainer's jitted train step (forward, backward, AdamW, EMA) on synthetic batches of
    the config's shapes (--batch_tiny / --batch_small examples), after one warm-up step; the median of --steps
    steps, each timed alone; examples/s;
  - model FLOP/s: XLA's FLOP count of the step (`model_flops`: unoptimised HLO, remat off, every stack of blocks
    unrolled, since the count takes a loop's body once) over the step time
    (remat as configured: on for small/large), and that as a fraction of
    a plain matmul's FLOP/s in the compute dtype (--matmul_size cubed, measured in the same run, same device);
  - a breakdown of the step: forward + backward of each part jitted alone on the step's batch (median of
    --steps): the encoders (Generator.encode: video and text encoders, conditions), the velocity network (joint and
    per-ear blocks, given the conditions), the task's whole loss (codec, both networks, flow loss); the optimiser
    and EMA are the step minus the loss;
  - sampling time for 8 s of audio (250 latent frames, 200 video frames), batch 1, compile excluded, with
    classifier-free guidance (sampling.guided_field: the conditional and unconditional halves in one batch of 2),
    every stack unrolled as the inference commands sample (generate.load_generator), for each of SAMPLERS:
    25 Euler steps and the few-step sampler (midpoint, 4 steps = 8 network evaluations: the 8-evaluation sampler
    the few-step evaluation found within 5 % of 25-step Euler, experiments/RESULTS.md); from the two, the cost
    of one network evaluation and the fixed part (encoders and decoder, run once per sample); one evaluation's
    FLOPs (`network_evaluation_flops`, counted as the step's) and its rate as a fraction of the matmul's.
--notrain skips the train step and samples with freshly initialised parameters (sampling time does not depend
on their values), so the small and large sampling figures take minutes instead of the train step's compile.
--profile_top=N adds a per-op profile of the train step: a jax.profiler trace of --steps steps, its op time
per model part (PROFILE_COMPONENTS, forward and backward), and the N HLO operations that took the most time
(summed over threads, per step), each with the model code it came from (the compiled HLO's op_name metadata).
--remat, --attention and --[no]scan_layers override the config's model.remat / model.attention /
model.scan_layers of the train step (layers.REMAT_POLICIES, layers.ATTENTION_IMPLEMENTATIONS, scanned or unrolled
stacks) to measure their effect.
The codec is the FrameCodec stand-in with MMAudio's 20 latent channels (v2a_jax/autoencoder/frame_codec.py): its
encode is one small matmul, so the numbers are the generator's. Data loading is not included. The process runs
under the project's host allocator (v2a_jax/host_allocator.py; V2A_HOST_ALLOCATOR=system measures glibc's malloc
instead), which the header line names. --dtype sets the compute dtype (params stay float32): float32 on CPU, where
bf16 is not faster; bfloat16 on accelerators.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import gzip
import json
import pathlib
import re
import tempfile
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import flags

from experiments import generator
from v2a_jax import cli, host_allocator
from v2a_jax.generator import layers, samplers
from v2a_jax.generator.model import Generator, count_params
from v2a_jax.generator.task import GeneratorTask
from v2a_jax.inference import sampling
from v2a_jax.train import optim, partitioning, state, steps

_SIZES = flags.DEFINE_list("sizes", ["tiny", "small"], "Sizes whose speed is measured (param counts: all).")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed training steps per size (after one warm-up step).")
_BATCH_TINY = flags.DEFINE_integer("batch_tiny", 16, "Training batch of the tiny config.")
_BATCH_SMALL = flags.DEFINE_integer("batch_small", 2, "Training batch of the small and large configs.")
_OUT = flags.DEFINE_string("out", "", "Optional JSON file for the results.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"], "Compute dtype of the model and the matmul.")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "Side of the reference square matmul.")
_TRAIN = flags.DEFINE_bool("train", True, "Measure the train step (--notrain: sampling only, fresh parameters).")
_PROFILE_TOP = flags.DEFINE_integer("profile_top", 0, "Print the train step's N slowest HLO ops (0: no profile).")
_REMAT = flags.DEFINE_enum("remat", None, list(layers.REMAT_POLICIES), "Remat policy (default: the config's).")
_ATTENTION = flags.DEFINE_enum(
    "attention", None, list(layers.ATTENTION_IMPLEMENTATIONS), "Attention implementation (default: the config's)."
)
_SCAN_LAYERS = flags.DEFINE_bool("scan_layers", None, "Scanned (True) or unrolled stacks (default: the config's).")

LATENT_DIM = 20
FRAME_SIZE = 64  # stored binaural_synth frames
SAMPLE_SECONDS = 8.0
# Samplers timed (name: sampler); guidance as the evaluation's default.
SAMPLERS = {
    "euler25": samplers.Sampler(method="euler", num_steps=25, cfg_strength=4.5, shift=1.0),
    "midpoint4": samplers.Sampler(method="midpoint", num_steps=4, cfg_strength=4.5, shift=1.0),
}


def bench_config(variant: str, dtype: str = "float32") -> ml_collections.ConfigDict:
    config = generator.get_config(variant)
    config.codec.factory = "v2a_jax.autoencoder.frame_codec:FrameCodec"
    config.codec.kwargs = ml_collections.ConfigDict({"latent_dim": LATENT_DIM})
    config.compute_dtype = dtype
    config.mesh = ml_collections.ConfigDict({"data": 1, "fsdp": 1, "tensor": 1})
    if _REMAT.present:
        config.model.remat = _REMAT.value
    if _ATTENTION.present:
        config.model.attention = _ATTENTION.value
    if _SCAN_LAYERS.present:
        config.model.scan_layers = _SCAN_LAYERS.value
    return config


def synthetic_batch(task: GeneratorTask, batch: int, seconds: float, rng: np.random.Generator) -> dict:
    """Random arrays shaped like a batch of `seconds`-long clips (3 source slots)."""
    frames = int(round(seconds * task.seq.video_fps))
    samples = int(round(seconds * task.seq.sample_rate))
    slots = 3
    return {
        "audio": (0.05 * rng.standard_normal((batch, 2, samples))).astype(np.float32),
        "video": rng.uniform(-1, 1, (batch, frames, FRAME_SIZE, FRAME_SIZE, 3)).astype(np.float32),
        "caption_ids": rng.integers(1, 10, (batch, task.model_config.text.max_len)).astype(np.int32),
        "screen_x": rng.uniform(0, FRAME_SIZE, (batch, frames, slots)).astype(np.float32),
        "screen_y": rng.uniform(0, FRAME_SIZE, (batch, frames, slots)).astype(np.float32),
        "visible": rng.uniform(size=(batch, frames, slots)) < 0.5,
        "sounding": rng.uniform(size=(batch, frames, slots)) < 0.5,
        "relative_azimuth_deg": rng.uniform(-90, 90, (batch, frames, slots)).astype(np.float32),
        "elevation_deg": np.zeros((batch, frames, slots), np.float32),
    }


def abstract_params(config: ml_collections.ConfigDict) -> tuple[GeneratorTask, dict, dict]:
    """(the task of `config`, a one-clip synthetic batch of its clip length, the parameters' shapes): nothing
    allocated for the parameters."""
    task = GeneratorTask(config)
    batch = synthetic_batch(task, 1, config.data.duration_s, np.random.default_rng(0))
    shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), batch)
    return task, batch, jax.eval_shape(task.init, jax.random.PRNGKey(0), shapes)


def param_count(variant: str) -> int:
    return count_params(abstract_params(bench_config(variant))[2])


def matmul_flops_per_s(n: int, dtype: str, repeats: int = 5) -> float:
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), dtype)
    matmul = jax.jit(lambda x: x @ x)
    matmul(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        matmul(a).block_until_ready()
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def _step_parts(task: GeneratorTask, config: ml_collections.ConfigDict, batch: dict, device: jax.Device):
    """(jitted train step, abstract state, init_fn, mesh, rules, batch sharding) on `device`."""
    mesh = partitioning.make_mesh(config.mesh, [device])
    rules = partitioning.logical_axis_rules(config)
    sharding = partitioning.batch_sharding(mesh, rules)
    tx, schedule = optim.make_optimizer(config.optimizer, config.num_train_steps)
    init_fn = state.make_init_fn(task, tx, jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), batch))
    abstract = state.abstract_train_state(init_fn, mesh, rules)
    step = steps.make_train_step(task, tx, schedule, config, abstract, sharding, rules)
    return step, abstract, init_fn, mesh, rules, sharding


def model_flops(config: ml_collections.ConfigDict, batch: dict) -> float:
    """FLOPs of one training step of the model itself: XLA's count on the lowered (unoptimised) HLO with remat
    off and every stack of blocks unrolled (the count takes a loop body once, whatever its trip count), lowered
    for the CPU (accelerator backends give no count before compilation, and the compiled GPU program's count
    misses its cuBLAS matmuls), so neither recomputation nor the backend changes it."""
    config = ml_collections.ConfigDict(config.to_dict())
    config.model.remat = "none"
    config.model.scan_layers = False
    step, abstract, *_, sharding = _step_parts(GeneratorTask(config), config, batch, jax.devices("cpu")[0])
    spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), batch)
    return lowered_flops(step.lower(abstract, spec))


def lowered_flops(lowered) -> float:
    """XLA's FLOP count of a lowered (not compiled) program."""
    cost = lowered.cost_analysis()
    if cost is None:
        raise RuntimeError("generator_speed: this backend gives no FLOP count for a lowered program")
    return float((cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"])


def train_speed(
    variant: str, batch_size: int, num_steps: int, dtype: str
) -> tuple[dict, GeneratorTask, state.TrainState]:
    """Timings of the train step; also returns the task and the trained state (for sampling)."""
    config = bench_config(variant, dtype)
    config.batch_size = batch_size
    rng = np.random.default_rng(0)
    task = GeneratorTask(config)
    batches = [synthetic_batch(task, batch_size, config.data.duration_s, rng) for _ in range(2)]
    step, abstract, init_fn, mesh, rules, sharding = _step_parts(task, config, batches[0], jax.devices()[0])
    train_state = state.init_train_state(init_fn, abstract, 0, mesh, rules)
    device_batches = [partitioning.global_batch(b, sharding) for b in batches]
    start = time.perf_counter()
    compiled = step.lower(train_state, device_batches[0]).compile()
    compile_s = time.perf_counter() - start
    flops = model_flops(config, batches[0])
    train_state, metrics = compiled(train_state, device_batches[0])  # warm-up
    jax.block_until_ready(metrics)
    # Each step timed alone and the median kept: on a shared CPU one slow step would move a mean.
    step_times = []
    for i in range(num_steps):
        start = time.perf_counter()
        train_state, metrics = compiled(train_state, device_batches[i % 2])
        jax.block_until_ready(metrics)
        step_times.append(time.perf_counter() - start)
    step_s = float(np.median(step_times))
    speed = {
        "batch": batch_size,
        "remat": config.model.remat,
        "attention": config.model.attention,
        "compile_s": compile_s,
        "step_s": step_s,
        "examples_per_s": batch_size / step_s,
        "step_gflop": flops / 1e9,
        "model_gflop_per_s": flops / step_s / 1e9,
    }
    if _PROFILE_TOP.value:
        train_state, speed["profile"] = op_profile(compiled, train_state, device_batches, num_steps, _PROFILE_TOP.value)
    memory = jax.devices()[0].memory_stats()  # None on CPU
    if memory and "peak_bytes_in_use" in memory:
        speed["peak_memory_gib"] = memory["peak_bytes_in_use"] / 2**30  # since the process started
    with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
        speed["breakdown_s"] = component_times(task, train_state.params, device_batches[0], num_steps)
    speed["breakdown_s"]["optimizer_and_ema"] = step_s - speed["breakdown_s"]["loss"]
    return speed, task, train_state


# Parts of the model named in the HLO's op_name paths, in the order tried (the first match names an op's part);
# "other" is everything else: the codec, the loss, the optimiser and EMA, the step's bookkeeping.
PROFILE_COMPONENTS = ("video_encoder", "text_encoder", "spacetime", "joint_blocks", "single_blocks", "Generator")
_HLO_OP = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = .*?metadata=\{[^}]*op_name=\"([^\"]*)\"", re.MULTILINE)


def op_profile(compiled, train_state, batches: list, num_steps: int, top: int):
    """(train state, the `top` slowest HLO ops of the step): a jax.profiler trace of `num_steps` steps, each
    op's time summed over the threads that ran it, per step, with the model code it came from (op_name)."""
    op_names = dict(_HLO_OP.findall(compiled.as_text()))
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            for i in range(num_steps):
                train_state, metrics = compiled(train_state, batches[i % len(batches)])
            jax.block_until_ready(metrics)
        (trace_file,) = pathlib.Path(trace_dir).rglob("*.trace.json.gz")
        events = json.loads(gzip.decompress(trace_file.read_bytes()))["traceEvents"]
    seconds: collections.Counter[str] = collections.Counter()
    for event in events:
        op = event.get("args", {}).get("hlo_op")
        if event.get("ph") == "X" and op:
            seconds[op] += event["dur"] * 1e-6 / num_steps
    total = sum(seconds.values())
    components: collections.Counter[str] = collections.Counter()
    for op, s in seconds.items():
        source = op_names.get(op, "")
        part = next((name for name in PROFILE_COMPONENTS if f"/{name}" in source), "other")
        components[f"{part} {'backward' if 'transpose(' in source else 'forward'}"] += s
    rows = [
        {"op": op, "s": s, "share": s / total, "source": op_names.get(op, "")} for op, s in seconds.most_common(top)
    ]
    return train_state, {"total_op_s": total, "components_s": dict(components.most_common()), "top": rows}


def _median_seconds(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def component_times(task: GeneratorTask, params, batch: dict, repeats: int) -> dict[str, float]:
    """Seconds of forward + backward (gradient wrt the params) of each part of the train step on `batch`
    (module docstring): "encoders", "velocity_network", "loss" (all of the task's loss)."""
    model, inputs = task.model, task.model_inputs(batch)
    b, num_latent = batch["audio"].shape[0], task.seq.num_latent_frames
    keep = jnp.zeros((b,), bool)

    def encode(p):
        return model.apply({"params": p}, inputs, keep, keep, num_latent, method=Generator.encode)

    conditions = jax.jit(encode)(params)
    x = jax.random.normal(jax.random.PRNGKey(0), (b, 2, num_latent, task.codec.latent_dim), jnp.float32)
    t = jnp.full((b,), 0.5, jnp.float32)

    def total(tree):
        return sum(jnp.sum(leaf.astype(jnp.float32)) for leaf in jax.tree.leaves(tree))

    parts = {
        "encoders": lambda p: total(encode(p)),
        "velocity_network": lambda p: total(model.apply({"params": p}, x, t, conditions, method=Generator.velocity)),
        "loss": lambda p: task.loss(p, batch, jax.random.PRNGKey(1), 0)[0],
    }
    return {name: _median_seconds(jax.jit(jax.grad(fn)), params, repeats=repeats) for name, fn in parts.items()}


def sampling_time(task: GeneratorTask, params) -> dict:
    """Seconds to sample 8 s of audio with each of SAMPLERS (batch 1, compile excluded), and the split of that
    time into one network evaluation and the fixed part (a line through the samplers' (NFE, seconds))."""
    batch = synthetic_batch(task, 1, SAMPLE_SECONDS, np.random.default_rng(1))
    inputs = {k: jnp.asarray(v) for k, v in task.model_inputs(batch).items()}
    num_latent = int(round(SAMPLE_SECONDS * task.seq.latent_fps))
    # Stacks unrolled, as the inference commands sample (generate.load_generator).
    model = Generator(dataclasses.replace(task.model.config, scan_layers=False))
    out, nfes = {}, {}
    for name, sampler in SAMPLERS.items():

        def sample(params, inputs, key, sampler=sampler):
            return sampling.sample_audio(
                model, task.codec, params, inputs, key, num_latent_frames=num_latent, sampler=sampler
            )

        start = time.perf_counter()
        fn = jax.jit(sample).lower(params, inputs, jax.random.PRNGKey(0)).compile()
        out[f"sample_compile_{name}_s"] = time.perf_counter() - start
        fn(params, inputs, jax.random.PRNGKey(0)).block_until_ready()
        start = time.perf_counter()
        audio = fn(params, inputs, jax.random.PRNGKey(1))
        audio.block_until_ready()
        out[f"sample_8s_{name}_s"] = time.perf_counter() - start
        assert audio.shape == (1, 2, int(SAMPLE_SECONDS * task.seq.sample_rate))
        nfes[name] = samplers.EVALUATIONS_PER_STEP[sampler.method] * sampler.num_steps
    slope, intercept = np.polyfit(list(nfes.values()), [out[f"sample_8s_{name}_s"] for name in nfes], 1)
    out["sample_per_nfe_s"], out["sample_fixed_s"] = float(slope), float(intercept)
    out["nfe_gflop"] = network_evaluation_flops(task, params, inputs, num_latent) / 1e9
    return out


def network_evaluation_flops(task: GeneratorTask, params, inputs: dict, num_latent: int) -> float:
    """FLOPs of one guided network evaluation as sampling runs it (`sampling.guided_field`: the audio input
    projections once, the rest of the velocity network on the conditional and unconditional halves, batch 2 B),
    counted as `model_flops` counts: XLA's count of the lowered program with every stack unrolled."""
    batch = next(iter(inputs.values())).shape[0]

    def encode(p, drop):
        return task.model.apply({"params": p}, inputs, drop, drop, num_latent, method=Generator.encode)

    cond = jax.eval_shape(lambda p: encode(p, jnp.zeros((batch,), bool)), params)
    uncond = jax.eval_shape(lambda p: encode(p, jnp.ones((batch,), bool)), params)
    # Lowered for the CPU, as model_flops is (accelerator backends give no count before compilation).
    cpu = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
    on_cpu = lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=cpu)  # noqa: E731
    x = jax.ShapeDtypeStruct((batch, 2, num_latent, task.codec.latent_dim), jnp.float32, sharding=cpu)
    t = jax.ShapeDtypeStruct((batch,), jnp.float32, sharding=cpu)
    model = Generator(dataclasses.replace(task.model.config, scan_layers=False))
    guided = jax.jit(lambda p, x, t, c, u: sampling.guided_field(model, p, c, u, 4.5)(x, t))
    on_cpu_tree = functools.partial(jax.tree.map, on_cpu)
    return lowered_flops(guided.lower(on_cpu_tree(params), x, t, on_cpu_tree(cond), on_cpu_tree(uncond)))


def sampling_line(speed: dict) -> str:
    """The sampling figures of one size, for the printout."""
    times = ", ".join(f"{name} {speed[f'sample_8s_{name}_s']:.2f} s" for name in SAMPLERS)
    nfe_rate = speed["nfe_gflop"] / speed["sample_per_nfe_s"]
    return (
        f"  8 s of audio (CFG): {times}; per network evaluation {speed['sample_per_nfe_s']:.3f} s "
        f"({speed['nfe_gflop']:.1f} GFLOP = {100 * nfe_rate / speed['matmul_gflop_per_s']:.0f} % of the matmul rate), "
        f"fixed (encoders + decoder) {speed['sample_fixed_s']:.2f} s"
    )


def initial_params(variant: str, dtype: str) -> tuple[GeneratorTask, dict]:
    """The task and freshly initialised parameters of `variant` (for --notrain)."""
    config = bench_config(variant, dtype)
    task = GeneratorTask(config)
    batch = synthetic_batch(task, 1, config.data.duration_s, np.random.default_rng(0))
    return task, jax.jit(task.init)(jax.random.PRNGKey(0), batch)


def main(argv):
    del argv
    allocator = "mimalloc" if host_allocator.active() else "system malloc"
    results = {"device": jax.devices()[0].device_kind, "dtype": _DTYPE.value, "host_allocator": allocator}
    results.update(params={}, speed={})
    print(f"device: {results['device']}, compute dtype {_DTYPE.value}, host allocator {allocator}")
    print("parameter counts (latent_dim 20):")
    for size in generator.SIZES:
        for model in generator.MODELS:
            variant = f"{model}-{size}"
            results["params"][variant] = param_count(variant)
            print(f"  {variant:20s} {results['params'][variant] / 1e6:9.2f} M")
    for size in _SIZES.value:
        variant = f"visaudio-{size}"
        if not _TRAIN.value:
            speed = sampling_time(*initial_params(variant, _DTYPE.value))
            speed["matmul_gflop_per_s"] = matmul_flops_per_s(_MATMUL_SIZE.value, _DTYPE.value) / 1e9
            results["speed"][variant] = speed
            print(
                f"{variant}: sampling only (--notrain), beside a {speed['matmul_gflop_per_s']:.0f} GFLOP/s matmul\n"
                f"{sampling_line(speed)}",
                flush=True,
            )
            continue
        batch = _BATCH_TINY.value if size == "tiny" else _BATCH_SMALL.value
        speed, task, train_state = train_speed(variant, batch, _STEPS.value, _DTYPE.value)
        speed.update(sampling_time(task, train_state.ema_params))
        speed["matmul_gflop_per_s"] = matmul_flops_per_s(_MATMUL_SIZE.value, _DTYPE.value) / 1e9
        speed["mfu_vs_matmul"] = speed["model_gflop_per_s"] / speed["matmul_gflop_per_s"]
        results["speed"][variant] = speed
        print(
            f"{variant}: batch {batch}, remat {speed['remat']}, {speed['step_s']:.3f} s/step, "
            f"{speed['examples_per_s']:.2f} examples/s, {speed['step_gflop']:.1f} GFLOP/step, "
            f"{speed['model_gflop_per_s']:.1f} GFLOP/s = "
            f"{100 * speed['mfu_vs_matmul']:.1f} % of a {speed['matmul_gflop_per_s']:.0f} GFLOP/s matmul; "
            f"compile {speed['compile_s']:.0f} s; peak memory {speed.get('peak_memory_gib', float('nan')):.1f} GiB",
            flush=True,
        )
        print(sampling_line(speed), flush=True)
        parts = ", ".join(f"{name} {seconds:.3f} s" for name, seconds in speed["breakdown_s"].items())
        print(f"  breakdown (forward + backward of each part alone): {parts}", flush=True)
        if "profile" in speed:
            profile = speed["profile"]
            parts = ", ".join(f"{name} {s:.3f} s" for name, s in profile["components_s"].items())
            print(f"  op time per step {profile['total_op_s']:.3f} s (summed over threads): {parts}")
            print("  slowest ops:")
            for row in profile["top"]:
                print(f"    {row['s']:7.4f} s {100 * row['share']:5.1f} %  {row['op']:28s} {row['source']}")
    if _OUT.value:
        with open(_OUT.value, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    cli.run(main)

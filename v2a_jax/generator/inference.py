"""Loading a trained generator for sampling, and generating binaural audio for videos of any length.

    gen = load_generator("runs/gen_visaudio_tiny")            # newest checkpoint, EMA params
    audio = generate_audio(gen, frames, fps=30.0)              # frames uint8 [T, H, W, 3] -> float32 [2, N]

Loading needs only the workdir (its config.json and checkpoints) and the codec the config names, never the
training data: the params' shapes come from `jax.eval_shape` of the task's initialisation on a zero batch shaped
by the config, and only `params` or `ema_params` is read from the checkpoint's train state.

Generation (`generate_clips`): each clip's frames are brought to the model's frame rate and frame size
(v2a_jax.video.io) and covered by windows of the trained clip duration (v2a_jax.sampling.windows; frames past the
clip's end that the last window needs repeat its last frame, and their audio is cut). All windows of all clips
and variants are batched through one jitted sampler on the config's device mesh (one process), and each clip's
windows are crossfaded back into [2, N] with N = num_frames * sample_rate / fps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath

from v2a_jax import cli
from v2a_jax.generator import samplers, text_encoder
from v2a_jax.generator.task import GeneratorTask
from v2a_jax.sampling import windows
from v2a_jax.train import checkpointing, partitioning, run_config
from v2a_jax.train.checkpointing import CheckpointError
from v2a_jax.train import state as state_lib
from v2a_jax.video import io


@dataclasses.dataclass
class LoadedGenerator:
    """A generator ready to sample: its run config and task, params (compute dtype, sharded on `mesh`)."""

    workdir: epath.Path
    step: int
    config: ml_collections.ConfigDict
    task: GeneratorTask
    params: object
    mesh: jax.sharding.Mesh
    rules: partitioning.LogicalRules

    @property
    def fps(self) -> float:
        return float(self.task.seq.video_fps)

    @property
    def sample_rate(self) -> int:
        return int(self.task.seq.sample_rate)

    @property
    def window_frames(self) -> int:
        return self.task.seq.num_video_frames

    @property
    def frame_size(self) -> int:
        """Side of the square frames the model reads: the benchmark's stored frame size
        (config.model.video.frame_size), which the video encoder pools to model.video.image_size."""
        return self.task.model_config.video.frame_size

    @property
    def batch_shards(self) -> int:
        sharding = partitioning.batch_sharding(self.mesh, self.rules)
        spec = sharding.spec[0] if len(sharding.spec) else None
        axes = () if spec is None else (spec if isinstance(spec, tuple) else (spec,))
        return math.prod(self.mesh.shape[a] for a in axes)


def split_checkpoint_path(path: epath.PathLike) -> tuple[epath.Path, int]:
    """WORKDIR/checkpoints/STEP -> (WORKDIR, STEP)."""
    path = epath.Path(path)
    if not path.name.isdigit() or path.parent.name != "checkpoints":
        raise CheckpointError(f"{path}: not a checkpoint directory (expected WORKDIR/checkpoints/STEP)")
    return path.parent.parent, int(path.name)


def _synthetic_batch(task: GeneratorTask, frame_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """Shapes of a one-clip batch of the trained duration: all that task.init reads."""
    seq = task.seq
    batch = {"audio": jax.ShapeDtypeStruct((1, 2, seq.num_samples), jnp.float32),
             "video": jax.ShapeDtypeStruct((1, seq.num_video_frames, frame_size, frame_size, 3), jnp.float32)}
    if task.model_config.text.enabled:
        batch["caption_ids"] = jax.ShapeDtypeStruct((1, task.model_config.text.max_len), jnp.int32)
    return batch


def _abstract_params(task: GeneratorTask, frame_size: int, mesh, rules):
    """Unboxed params as ShapeDtypeStructs carrying their NamedSharding on `mesh`."""
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    return state_lib.abstract_tree(task.init, mesh, rules, key, _synthetic_batch(task, frame_size))


def load_generator(workdir: epath.PathLike, step: int | None = None, use_ema: bool = True,
                   devices: Sequence[jax.Device] | None = None) -> LoadedGenerator:
    """The generator of the run in `workdir` at checkpoint `step` (default: the newest), with its EMA params (or
    the raw params), on the config's mesh over `devices` (default: all). Raises FileNotFoundError (missing
    workdir, config or checkpoint) and CheckpointError (a checkpoint that does not match the config or cannot be
    read), each naming the path."""
    workdir = epath.Path(workdir)
    if not workdir.is_dir():
        raise cli.NotFoundError(f"{workdir}: {'is a file, not a workdir' if workdir.exists() else 'no such workdir'}")
    config = run_config.load(workdir)
    if config.get("task") != "v2a_jax.generator.task:GeneratorTask":
        raise CheckpointError(f"{workdir}: config.task={config.get('task')!r} is not the generator task")
    task = GeneratorTask(config)
    if task.model_config.video.features != "pixels":
        raise CheckpointError(f"{workdir}: model.video.features={task.model_config.video.features!r}; sampling from "
                              f"video files needs a model that reads pixels")
    directory = workdir / "checkpoints"
    steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()) if directory.is_dir() else []
    if step is None:
        if not steps:
            raise cli.NotFoundError(f"{directory}: no checkpoint")
        step = steps[-1]
    path = directory / str(step) / "state"
    if not path.is_dir():
        raise cli.NotFoundError(f"{directory / str(step)}: no such checkpoint (saved steps: {steps or 'none'})")

    mesh = partitioning.make_mesh(config.mesh, devices)
    rules = partitioning.logical_axis_rules(config)
    frame_size = task.model_config.video.frame_size
    try:
        abstract = _abstract_params(task, frame_size, mesh, rules)
    except ValueError as e:  # a model the config cannot build, e.g. frames that do not pool to image_size
        raise CheckpointError(f"{workdir / run_config.CONFIG_FILE}: {e}") from e
    params = checkpointing.restore_params(path, "ema_params" if use_ema else "params", abstract)
    dtype = jnp.dtype(config.compute_dtype)
    params = jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
    return LoadedGenerator(workdir, step, config, task, params, mesh, rules)


@dataclasses.dataclass(frozen=True)
class SamplingOptions:
    """num_steps, method (samplers.METHODS), cfg_strength, shift: the flow sampler (None: the config's `sampler.*`).
    seed: base of all noise. num_variants: independent samples per clip. overlap_s: overlap of neighbouring
    windows, rounded to video frames (None: a quarter of a window; at most half). fade: window crossfade
    (windows.FADES). batch_size: windows per jitted call (None: config.batch_size, or fewer when there are fewer
    windows; rounded up to a multiple of the mesh's batch shards)."""

    num_steps: int | None = None
    method: str | None = None
    cfg_strength: float | None = None
    shift: float | None = None
    seed: int = 0
    num_variants: int = 1
    overlap_s: float | None = None
    fade: str = "equal_power"
    batch_size: int | None = None


@dataclasses.dataclass(frozen=True)
class Clip:
    """frames uint8 [T, H, W, 3] at `fps` (any size and rate), and an optional caption (used when the model has
    text conditioning; None or "" is the no-caption condition)."""

    frames: np.ndarray
    fps: float
    caption: str | None = None


def prepare_frames(gen: LoadedGenerator, frames: np.ndarray, fps: float) -> np.ndarray:
    """uint8 [T, H, W, 3] at `fps` -> uint8 [T', S, S, 3] at the model's rate and frame size."""
    if not fps > 0:
        raise ValueError(f"fps={fps}: must be positive")
    if frames.ndim != 4 or frames.shape[0] < 1:
        raise ValueError(f"frames: expected [T >= 1, H, W, 3], got {list(frames.shape)}")
    frames = io.resize_frames(frames, gen.frame_size)
    times = np.arange(frames.shape[0]) / fps
    return io.conform(frames, times, frames.shape[0] / fps, gen.fps)


# Jitted samplers by (run config, sampler settings): loading the same run again reuses the compiled function.
_SAMPLERS: dict[tuple, Callable] = {}


def _sampler(gen: LoadedGenerator, num_steps: int, method: str, cfg_strength: float, shift: float) -> Callable:
    key = (gen.config.to_json(sort_keys=True), num_steps, method, cfg_strength, shift)
    if key not in _SAMPLERS:
        task = gen.task

        def sample(params, inputs, rng):
            latents = task.sample_latents(params, inputs, rng, num_latent_frames=task.seq.num_latent_frames,
                                          num_steps=num_steps, method=method, cfg_strength=cfg_strength,
                                          shift=shift)
            return task.codec.decode(latents).astype(jnp.float32)

        _SAMPLERS[key] = jax.jit(sample)
    return _SAMPLERS[key]


def generate_clips(gen: LoadedGenerator, clips: Sequence[Clip], options: SamplingOptions = SamplingOptions(),
                   progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Audio float32 [num_variants, 2, N_i] for each clip, N_i = (its frame count at the model's rate) *
    sample_rate / fps. `progress(done, total)` is called after every batch of windows. Deterministic given the
    clips, the options and the batch size (which rounds up to the device count)."""
    sampler_config = gen.config.sampler
    num_steps = options.num_steps or sampler_config.num_steps
    method = options.method or sampler_config.method
    cfg = sampler_config.cfg_strength if options.cfg_strength is None else options.cfg_strength
    shift = sampler_config.get("shift", 1.0) if options.shift is None else options.shift
    samplers.check_sampler(method, num_steps, shift)
    if options.num_variants < 1:
        raise ValueError(f"num_variants={options.num_variants}: must be >= 1")
    if options.fade not in windows.FADES:
        raise ValueError(f"fade={options.fade!r}: expected one of {windows.FADES}")
    window = gen.window_frames
    overlap = window // 4 if options.overlap_s is None else int(round(options.overlap_s * gen.fps))
    if not 0 <= overlap <= window // 2:
        raise ValueError(f"overlap_s={options.overlap_s}: must be between 0 and half a window "
                         f"({window / 2 / gen.fps:g} s)")
    spf = gen.task.seq.samples_per_video_frame
    text = gen.task.model_config.text
    tokenizer = text_encoder.Tokenizer(text.vocabulary, text.max_len) if text.enabled else None

    # Every (clip, variant, window) as one row (frames, caption ids) of the batched generation, in that order.
    rows, layouts = [], []
    for clip in clips:
        frames = prepare_frames(gen, clip.frames, clip.fps)
        starts = windows.window_starts(len(frames), window, overlap)
        padded = np.concatenate([frames, np.repeat(frames[-1:], starts[-1] + window - len(frames), axis=0)])
        ids = tokenizer([clip.caption or ""])[0] if tokenizer else None
        layouts.append((len(frames), starts))
        for _ in range(options.num_variants):
            rows += [(padded[s:s + window], ids) for s in starts]

    shards = gen.batch_shards
    batch = options.batch_size or min(gen.config.batch_size, len(rows))
    batch = shards * math.ceil(batch / shards)
    sample = _sampler(gen, num_steps, method, cfg, shift)
    sharding = partitioning.batch_sharding(gen.mesh, gen.rules)
    base_key = jax.random.PRNGKey(options.seed)
    outputs = []
    num_batches = math.ceil(len(rows) / batch)
    with jax.set_mesh(gen.mesh), nn.logical_axis_rules(gen.rules):
        for b in range(num_batches):
            chunk = rows[b * batch:(b + 1) * batch]
            video = np.zeros((batch, window, gen.frame_size, gen.frame_size, 3), np.float32)
            video[:len(chunk)] = np.stack([r[0] for r in chunk]).astype(np.float32) * np.float32(2 / 255) - 1
            inputs = {"video": video}
            if tokenizer:
                inputs["caption_ids"] = np.zeros((batch, tokenizer.max_len), np.int32)
                inputs["caption_ids"][:len(chunk)] = np.stack([r[1] for r in chunk])
            audio = sample(gen.params, partitioning.global_batch(inputs, sharding), jax.random.fold_in(base_key, b))
            outputs.append(np.asarray(jax.device_get(audio))[:len(chunk)])
            if progress:
                progress(b + 1, num_batches)
    generated = np.concatenate(outputs)

    results, row = [], 0
    for num_frames, starts in layouts:
        variants = []
        for _ in range(options.num_variants):
            variants.append(windows.crossfade(generated[row:row + len(starts)], starts * spf, num_frames * spf,
                                              options.fade))
            row += len(starts)
        results.append(np.stack(variants))
    return results


def generate_audio(gen: LoadedGenerator, frames: np.ndarray, fps: float, caption: str | None = None,
                   options: SamplingOptions = SamplingOptions()) -> np.ndarray:
    """Binaural audio float32 [2, N] (channel 0 = left ear) for frames uint8 [T, H, W, 3] at `fps`, lasting the
    frames' duration at the model's frame rate (first variant when options.num_variants > 1)."""
    return generate_clips(gen, [Clip(frames, fps, caption)], options)[0][0]

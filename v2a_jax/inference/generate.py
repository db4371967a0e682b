"""Loading a trained generator for sampling, and generating binaural audio for videos of any length.

    gen = load_generator("runs/gen_visaudio_tiny")            # newest checkpoint, EMA params
    audio = generate_audio(gen, frames, fps=30.0)              # frames uint8 [T, H, W, 3] -> float32 [2, N]

Loading needs only the workdir (its config.json and checkpoints) and the codec the config names, never the
training data: train/checkpointing.load_params shapes the params by the task's initialisation on an abstract batch
shaped by the config, and reads only `params` or `ema_params` of the checkpoint's train state.

Generation (`generate_clips`): each clip's frames are brought to the model's frame rate and frame size
(v2a_jax.video.io) and covered by windows of the trained clip duration (windows.py; frames past the
clip's end that the last window needs repeat its last frame, and their audio is cut). All windows of all clips
and variants are batched through one jitted sampler on the config's device mesh (one process), and each clip's
windows are crossfaded back into [2, N] with N = num_frames * sample_rate / fps. Sampling itself is
sampling.sample_audio, with the config's sampler (`config.sampler`) unless the options name another, over the
model with its stacks unrolled (`load_generator`).
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

from v2a_jax.generator import samplers
from v2a_jax.generator.task import GeneratorTask
from v2a_jax.inference import sampling, windows
from v2a_jax.train import checkpointing, partitioning, run_config
from v2a_jax.train.checkpointing import CheckpointError
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
    def sampler(self) -> samplers.Sampler:
        """The run's own sampler settings (config.sampler)."""
        return samplers.Sampler.from_config(self.config.sampler)

    @property
    def batch_sharding(self) -> jax.sharding.NamedSharding:
        return partitioning.batch_sharding(self.mesh, self.rules)


def _synthetic_batch(task: GeneratorTask) -> dict[str, jax.ShapeDtypeStruct]:
    """Shapes of a one-clip batch of the trained duration at the stored frame size: all that task.init reads."""
    seq, frame_size = task.seq, task.model_config.video.frame_size
    batch = {
        "audio": jax.ShapeDtypeStruct((1, 2, seq.num_samples), jnp.float32),
        "video": jax.ShapeDtypeStruct((1, seq.num_video_frames, frame_size, frame_size, 3), jnp.float32),
    }
    if task.model_config.text.enabled:
        batch["caption_ids"] = jax.ShapeDtypeStruct((1, task.model_config.text.max_len), jnp.int32)
    return batch


def load_generator_config(workdir: epath.PathLike) -> ml_collections.ConfigDict:
    """The saved config of the generator run in `workdir`. Raises cli.NotFoundError (missing workdir or config)
    and CheckpointError (the run is not a generator's), naming the path."""
    config = run_config.load(workdir)
    if config.get("task") != "v2a_jax.generator.task:GeneratorTask":
        raise CheckpointError(f"{workdir}: config.task={config.get('task')!r} is not the generator task")
    return config


def load_generator(
    workdir: epath.PathLike, step: int | None = None, use_ema: bool = True, devices: Sequence[jax.Device] | None = None
) -> LoadedGenerator:
    """The generator of the run in `workdir` at checkpoint `step` (default: the newest), with its EMA params (or
    the raw params), on the config's mesh over `devices` (default: all). Raises cli.NotFoundError (missing
    workdir, config or checkpoint), cli.ConfigError (a config that builds no model) and CheckpointError (not a
    generator run, or a checkpoint that does not match the config or cannot be read), each naming the path."""
    workdir = epath.Path(workdir)
    config = load_generator_config(workdir)
    # Sampling runs every stack of blocks unrolled, whatever the run trained with: the same params and outputs,
    # without slicing each layer's params out of the stacks at every sampler step (experiments/RESULTS.md).
    config.model.scan_layers = False
    task = GeneratorTask(config)
    if task.model_config.video.features != "pixels":
        raise CheckpointError(
            f"{workdir}: model.video.features={task.model_config.video.features!r}; sampling from "
            f"video files needs a model that reads pixels"
        )
    mesh = partitioning.make_mesh(config.mesh, devices)
    rules = partitioning.logical_axis_rules(config)
    batch = _synthetic_batch(task)
    params, step = checkpointing.load_params(
        workdir, task.init, batch, mesh=mesh, rules=rules, step=step, use_ema=use_ema
    )
    params = partitioning.cast_floating(params, jnp.dtype(config.compute_dtype))
    return LoadedGenerator(workdir, step, config, task, params, mesh, rules)


@dataclasses.dataclass(frozen=True)
class SamplingOptions:
    """sampler: the flow sampler (None: the run's config.sampler). seed: base of all noise. num_variants:
    independent samples per clip. overlap_s: overlap of neighbouring windows, rounded to video frames (None: a
    quarter of a window; at most half). fade: window crossfade (windows.FADES). batch_size: windows per jitted
    call (None: config.batch_size, or fewer when there are fewer windows; rounded up to a multiple of the mesh's
    batch shards)."""

    sampler: samplers.Sampler | None = None
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


# Jitted samplers by (run config, sampler): loading the same run again reuses the compiled function.
_SAMPLERS: dict[tuple, Callable] = {}


def _sampler(gen: LoadedGenerator, sampler: samplers.Sampler) -> Callable:
    key = (gen.config.to_json(sort_keys=True), sampler)
    if key not in _SAMPLERS:
        task = gen.task
        _SAMPLERS[key] = jax.jit(
            lambda params, inputs, rng: sampling.sample_audio(
                task.model,
                task.codec,
                params,
                inputs,
                rng,
                num_latent_frames=task.seq.num_latent_frames,
                sampler=sampler,
            )
        )
    return _SAMPLERS[key]


def generate_clips(
    gen: LoadedGenerator,
    clips: Sequence[Clip],
    options: SamplingOptions = SamplingOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Audio float32 [num_variants, 2, N_i] for each clip, N_i = (its frame count at the model's rate) *
    sample_rate / fps. `progress(done, total)` is called after every batch of windows. Deterministic given the
    clips, the options and the batch size (which rounds up to the device count)."""
    if options.num_variants < 1:
        raise ValueError(f"num_variants={options.num_variants}: must be >= 1")
    if options.fade not in windows.FADES:
        raise ValueError(f"fade={options.fade!r}: expected one of {windows.FADES}")
    window = gen.window_frames
    overlap = window // 4 if options.overlap_s is None else int(round(options.overlap_s * gen.fps))
    if not 0 <= overlap <= window // 2:
        raise ValueError(
            f"overlap_s={options.overlap_s}: must be between 0 and half a window ({window / 2 / gen.fps:g} s)"
        )
    spf = gen.task.seq.samples_per_video_frame
    tokenizer = gen.task.tokenizer

    # Every (clip, variant, window) as one row (frames, caption ids) of the batched generation, in that order.
    rows, layouts = [], []
    for clip in clips:
        frames = prepare_frames(gen, clip.frames, clip.fps)
        starts = windows.window_starts(len(frames), window, overlap)
        padded = np.concatenate([frames, np.repeat(frames[-1:], starts[-1] + window - len(frames), axis=0)])
        ids = tokenizer([clip.caption or ""])[0] if tokenizer is not None else None
        layouts.append((len(frames), starts))
        for _ in range(options.num_variants):
            rows += [(padded[s : s + window], ids) for s in starts]

    sharding = gen.batch_sharding
    shards = partitioning.batch_shards(sharding)
    batch = options.batch_size or min(gen.config.batch_size, len(rows))
    batch = shards * math.ceil(batch / shards)
    sample = _sampler(gen, options.sampler or gen.sampler)
    base_key = jax.random.PRNGKey(options.seed)
    outputs = []
    num_batches = math.ceil(len(rows) / batch)
    with jax.set_mesh(gen.mesh), nn.logical_axis_rules(gen.rules):
        for b in range(num_batches):
            chunk = rows[b * batch : (b + 1) * batch]
            video = np.zeros((batch, window, gen.frame_size, gen.frame_size, 3), np.float32)
            video[: len(chunk)] = np.stack([r[0] for r in chunk]).astype(np.float32) * np.float32(2 / 255) - 1
            inputs = {"video": video}
            if tokenizer is not None:
                inputs["caption_ids"] = np.zeros((batch, tokenizer.max_len), np.int32)
                inputs["caption_ids"][: len(chunk)] = np.stack([r[1] for r in chunk])
            audio = sample(gen.params, partitioning.global_batch(inputs, sharding), jax.random.fold_in(base_key, b))
            outputs.append(np.asarray(jax.device_get(audio))[: len(chunk)])
            if progress:
                progress(b + 1, num_batches)
    generated = np.concatenate(outputs)

    results, row = [], 0
    for num_frames, starts in layouts:
        variants = []
        for _ in range(options.num_variants):
            variants.append(
                windows.crossfade(generated[row : row + len(starts)], starts * spf, num_frames * spf, options.fade)
            )
            row += len(starts)
        results.append(np.stack(variants))
    return results


def generate_audio(
    gen: LoadedGenerator,
    frames: np.ndarray,
    fps: float,
    caption: str | None = None,
    options: SamplingOptions = SamplingOptions(),
) -> np.ndarray:
    """Binaural audio float32 [2, N] (channel 0 = left ear) for frames uint8 [T, H, W, 3] at `fps`, lasting the
    frames' duration at the model's frame rate (first variant when options.num_variants > 1)."""
    return generate_clips(gen, [Clip(frames, fps, caption)], options)[0][0]

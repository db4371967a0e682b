"""Restores a generator run and generates audio for every clip of a dataset split, caching each finished batch.

The model rows generated on the device (MODEL_ROWS):
  generated    the model on the clip's video (and caption);
  flipped      the model on the horizontally flipped video (same noise), to be scored against the mirrored truth;
               only for models that read pixels (precomputed features cannot be flipped here);
  autoencoder  codec.decode(codec.encode(reference audio)): the ceiling the codec leaves the generator.
Each finished batch of a row is written to CACHE/<row>/batch_XXXX.npz ("audio" [b, 2, N] float32) and read back
instead of regenerated on a rerun; CACHE/settings.json records what produced them, and a cache made with other
settings is refused rather than mixed in. Generation noise depends only on `Settings.seed` and the batch index, so
checkpoints evaluated with one seed see the same noise. A partial last batch is padded with copies of its last
clip to the run's batch size (the mesh needs full batches) and the padding is dropped.

Evaluation runs in one process (all its local devices).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator

import flax.linen as nn
import grain
import jax
import numpy as np
from etils import epath

from v2a_jax import cli
from v2a_jax.evaluation import localiser
from v2a_jax.generator import samplers
from v2a_jax.generator.task import CaptionIds
from v2a_jax.inference import sampling
from v2a_jax.inference.generate import LoadedGenerator
from v2a_jax.input_pipeline import loader
from v2a_jax.train import partitioning

MODEL_ROWS = ("generated", "flipped", "autoencoder")
# What a row is scored against: the reference audio always; the ground truth the scores and the localiser's check
# use, where the dataset stores it (loader.ClipFormat.truth); the builder's loudness gain, where stored.
REFERENCE_KEYS = ("audio",)
TRUTH_KEYS = ("relative_azimuth_deg", "elevation_deg", "sounding", "visible", "onset_s")
LEVEL_KEYS = ("gain_db",)


# The papers' evaluation sampler (MMAudio: 25 Euler steps, guidance 4.5, uniform grid).
DEFAULT_SAMPLER = samplers.Sampler(method="euler", num_steps=25, cfg_strength=4.5, shift=1.0)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What to evaluate: `step` None = the newest checkpoint; `ema` the EMA params instead of the raw ones;
    `sampler` how to sample (the evaluation's own, whatever the run's config.sampler says); `max_clips` > 0
    evaluates only the split's first max_clips clips."""

    split: str = "test"
    step: int | None = None
    ema: bool = True
    sampler: samplers.Sampler = DEFAULT_SAMPLER
    seed: int = 0
    max_clips: int = 0


@dataclasses.dataclass
class Clips:
    """Every clip of the split: rows {name: [B, 2, N]} (MODEL_ROWS present), what they are scored against (the
    loader's keys: audio [B, 2, N] always; relative_azimuth_deg / elevation_deg / sounding / visible [B, T, S] and
    onset_s [B, S, E] where the dataset has them; gain_db [B] where stored), the visual localiser's azimuth [B, T]
    (SOFA degrees), clip indices [B], how many batches were generated / read, and the dataset's ClipFormat."""

    rows: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    localised_azimuth_deg: np.ndarray
    clip_index: np.ndarray
    batches_generated: int
    batches_cached: int
    clip: loader.ClipFormat


def scored_keys(clip: loader.ClipFormat) -> tuple[str, ...]:
    """The features of a dataset of `clip` that `Clips.truth` collects (REFERENCE_KEYS, and those of TRUTH_KEYS
    and LEVEL_KEYS it stores)."""
    truth = (k for k in TRUTH_KEYS if k in clip.truth)
    return (*REFERENCE_KEYS, *truth, *(k for k in LEVEL_KEYS if k in clip.features))


def _batches(run: LoadedGenerator, split: str) -> tuple[int, loader.ClipFormat, Iterator[dict[str, np.ndarray]]]:
    """(number of clips, their ClipFormat, batches of run.config.batch_size in order) of `split`, with the model's
    inputs, the video and what the rows are scored against (`scored_keys`)."""
    task = run.task
    source, clip = task.open_split(split)
    keys = tuple(dict.fromkeys((*task.batch_keys(clip), "video", *scored_keys(clip))))
    ds = loader.make_dataset(
        source,
        clip,
        task.seq,
        train=False,
        batch_size=run.config.batch_size,
        seed=0,
        shard_options=grain.sharding.NoSharding(),
        keys=keys,
    )
    if task.tokenizer is not None:
        ds = ds.map(CaptionIds(task.tokenizer))
    return len(source), clip, iter(ds)


def _pad(batch: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Repeats the last clip until every array has `size` clips."""
    return {k: np.concatenate([v, np.repeat(v[-1:], size - v.shape[0], axis=0)]) for k, v in batch.items()}


class _Cache:
    """CACHE/<row>/batch_XXXX.npz files of one set of settings (module docstring)."""

    def __init__(self, directory: epath.Path, settings: dict):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        settings = json.loads(json.dumps(settings))  # as stored: tuples become lists
        path = directory / "settings.json"
        if path.exists():
            stored = json.loads(path.read_text())
            # A cache older than the guidance interval was guided at every step.
            stored.get("sampler", {}).setdefault("guidance_interval", list(samplers.FULL_INTERVAL))
            if stored != settings:
                raise cli.ConfigError(
                    f"{path}: the cached audio was generated with other settings "
                    f"({path.read_text().strip()}, now {json.dumps(settings)}); use another out_dir "
                    f"or delete {directory}"
                )
        else:
            path.write_text(json.dumps(settings))

    def path(self, row: str, index: int) -> epath.Path:
        return self.directory / row / f"batch_{index:04d}.npz"

    def load(self, row: str, index: int) -> np.ndarray | None:
        path = self.path(row, index)
        if not path.exists():
            return None
        with path.open("rb") as f:
            return np.load(f)["audio"]

    def save(self, row: str, index: int, audio: np.ndarray) -> None:
        path = self.path(row, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / (path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(f, audio=audio)
        tmp.rename(path)  # a killed run leaves no half-written batch behind


def model_rows(run: LoadedGenerator) -> tuple[str, ...]:
    """The MODEL_ROWS this run can produce (the flipped row needs pixel video)."""
    flippable = run.task.model_config.video.features == "pixels"
    return tuple(r for r in MODEL_ROWS if r != "flipped" or flippable)


def generate(
    run: LoadedGenerator, settings: Settings, cache_dir: epath.PathLike, progress: Callable[[str], None] = print
) -> Clips:
    """Generates (or reads from the cache) every model row for every clip of `settings.split`; see `Clips`."""
    if jax.process_count() > 1:
        raise ValueError(f"evaluation runs in one process, not {jax.process_count()} (module docstring)")
    task, config = run.task, run.config
    rows = model_rows(run)
    cache = _Cache(
        epath.Path(cache_dir),
        {**dataclasses.asdict(settings), "step": run.step, "workdir": str(run.workdir.absolute()), "rows": list(rows)},
    )
    mesh, rules, sharding = run.mesh, run.rules, run.batch_sharding

    @jax.jit
    def generate_fn(params, inputs, key):
        model_inputs = {k: v for k, v in inputs.items() if k != "audio"}
        return sampling.sample_audio(
            task.model,
            task.codec,
            params,
            model_inputs,
            key,
            sampler=settings.sampler,
            num_latent_frames=inputs["audio"].shape[2] // task.codec.samples_per_latent,
        )

    reconstruct_fn = jax.jit(lambda audio: task.codec.decode(task.codec.encode(audio)))
    base_key = jax.random.PRNGKey(settings.seed)

    def on_device(name: str, batch: dict[str, np.ndarray], index: int) -> np.ndarray:
        if name == "flipped":
            batch = {**batch, "video": batch["video"][:, :, :, ::-1]}
        inputs = partitioning.global_batch({**task.model_inputs(batch), "audio": batch["audio"]}, sharding)
        if name == "autoencoder":
            out = reconstruct_fn(inputs["audio"])
        else:
            out = generate_fn(run.params, inputs, jax.random.fold_in(base_key, index))
        return np.asarray(jax.device_get(out), np.float32)

    num_clips, clip, batches = _batches(run, settings.split)
    num_clips = min(num_clips, settings.max_clips or num_clips)
    truth_keys = scored_keys(clip)
    collected: dict[str, list[np.ndarray]] = {k: [] for k in (*rows, *truth_keys, "localised", "index")}
    generated = cached = done = 0
    start = time.monotonic()
    with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
        for index, local in enumerate(batches):
            if settings.max_clips:
                if done >= settings.max_clips:
                    break
                local = {k: v[: settings.max_clips - done] for k, v in local.items()}
            size = local["audio"].shape[0]
            padded = None
            for name in rows:
                audio = cache.load(name, index)
                if audio is None:
                    padded = padded if padded is not None else _pad(local, config.batch_size)
                    audio = on_device(name, padded, index)[:size]
                    cache.save(name, index, audio)
                    generated += 1
                else:
                    cached += 1
                collected[name].append(audio)
            for key in truth_keys:
                collected[key].append(local[key])
            collected["localised"].append(localiser.azimuth_deg(local["video"], clip.field_of_view_deg))
            collected["index"].append(done + np.arange(size))
            done += size
            progress(
                f"{run.workdir}: {done}/{num_clips} clips, {time.monotonic() - start:.1f} s "
                f"(batch {index}: {'generated' if padded is not None else 'cached'})"
            )
    if not done:
        raise ValueError(f"split {settings.split!r} of {config.data.name} in {config.data.data_dir} has no clips")
    data = {k: np.concatenate(v) for k, v in collected.items()}
    return Clips(
        rows={r: data[r] for r in rows},
        truth={k: data[k] for k in truth_keys},
        localised_azimuth_deg=data["localised"],
        clip_index=data["index"],
        batches_generated=generated,
        batches_cached=cached,
        clip=clip,
    )

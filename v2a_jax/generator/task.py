"""The generator as a trainer task (v2a_jax/train/task.py): flow matching on per-ear codec latents.

`config.task = "v2a_jax.generator.task:GeneratorTask"`. The task reads clips in the stored layout (loader.py: the
benchmark or recordings), turns the audio into normalised per-ear latents with an `AudioCodec` inside the jitted
step, and trains `Generator` with the flow-matching loss of flow_matching.py (+ the optional ground-truth
supervision of the encoder's patch read-out and of the spatialisation heatmap).

Ground truth is optional: the task reads the truth features the dataset stores (loader.ClipFormat.truth) and
needs none. Asking for ground-truth supervision (model.video.localisation_weight > 0, or the spatialisation
branch with model.spatialisation.aux_weight > 0) on a dataset without the source positions stops at dataset open
with one line naming the config field; without truth the heatmap / patch metrics are left out and the summary
images show no true direction. Captions are optional too: a dataset without them stores '' (the empty caption,
the same condition as a dropped caption); model.text.enabled=false leaves the text condition out altogether.

The codec is resolved from the config: `config.codec.factory` is the import path "package.module:function" of a
function called with `**config.codec.kwargs` that returns an AudioCodec (v2a_jax/autoencoder/codec.py); e.g.
the trained autoencoder's `v2a_jax.autoencoder.codec:load_codec` with kwargs {workdir: ...}, or the fixed
framing codec of the tests. Its sample rate and latent rate must match the sequence config.

Config fields read (see experiments/generator.py for the values and their meaning): data.*, model.*, codec.*,
flow.*, sampler.*, summary.*, compute_dtype.
"""

from __future__ import annotations

import math

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from v2a_jax import cli
from v2a_jax.autoencoder.codec import AudioCodec
from v2a_jax.generator import flow_matching as fm
from v2a_jax.generator import layers, plots, samplers, spatialisation, text_encoder
from v2a_jax.generator.model import PRECOMPUTED_KEYS, Conditions, Generator, ModelConfig, tie_ears
from v2a_jax.inference import sampling
from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig
from v2a_jax.spatial import audio_targets, itd_map
from v2a_jax.train import partitioning
from v2a_jax.train.summaries import Audio
from v2a_jax.train.task import import_object

# Ground truth the task reads when the dataset has it: the localisation targets, and the direction the summary
# images draw.
LOCALISATION_KEYS = ("screen_x", "screen_y", "visible", "sounding")
DIRECTION_KEYS = ("relative_azimuth_deg", "elevation_deg", "sounding")
SPLITS = ("train", "val")
TARGET_SOURCES = ("auto", "ground_truth", "audio")


def load_codec(codec_config: ml_collections.ConfigDict) -> AudioCodec:
    """Calls the function named by `codec_config.factory` ("package.module:function") with its kwargs."""
    codec = import_object(codec_config.factory, "config.codec.factory")(**codec_config.get("kwargs", {}))
    for attr in ("sample_rate", "samples_per_latent", "latent_dim", "encode", "decode"):
        if not hasattr(codec, attr):
            raise ValueError(
                f"config.codec.factory={codec_config.factory!r} returned {type(codec).__name__}, which "
                f"lacks AudioCodec.{attr}"
            )
    return codec


def sequence_config(data: ml_collections.ConfigDict) -> SequenceConfig:
    return SequenceConfig(
        duration_s=data.duration_s,
        sample_rate=data.sample_rate,
        video_fps=data.video_fps,
        semantic_fps=data.semantic_fps,
        latent_fps=data.latent_fps,
    )


class CaptionIds(grain.transforms.Map):
    """Batched 'caption' [B] bytes -> 'caption_ids' [B, max_len] int32 (text_encoder.Tokenizer)."""

    def __init__(self, tokenizer: text_encoder.Tokenizer):
        self._tokenizer = tokenizer

    def map(self, batch: dict) -> dict:
        out = {k: v for k, v in batch.items() if k != "caption"}
        out["caption_ids"] = self._tokenizer(list(batch["caption"]))
        return out


class GeneratorTask:
    """Implements v2a_jax.train.task.TaskWithSummaries for the binaural generator."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        self.seq = sequence_config(config.data)
        self.codec = load_codec(config.codec)
        if (
            self.codec.sample_rate != self.seq.sample_rate
            or self.codec.samples_per_latent != self.seq.samples_per_latent_frame
        ):
            raise ValueError(
                f"config.codec: the codec works at {self.codec.sample_rate} Hz with {self.codec.samples_per_latent} "
                f"samples per latent, the data config at {self.seq.sample_rate} Hz with "
                f"{self.seq.samples_per_latent_frame} (config.data.latent_fps={config.data.latent_fps})"
            )
        if config.flow.itd_weight and self.codec.delay_channel is None:
            raise cli.ConfigError(
                f"config.flow.itd_weight={config.flow.itd_weight}: the codec ({config.codec.factory}) has no measured "
                f"delay channel to weigh"
            )
        self.model_config = ModelConfig.from_config(
            config.model,
            latent_dim=self.codec.latent_dim,
            semantic_frames_per_video_frame=self.seq.semantic_fps / self.seq.video_fps,
            dtype=config.compute_dtype,
        )
        self.model = Generator(self.model_config)
        text = self.model_config.text
        # Caption text -> token ids, for every consumer (training data, evaluation, sampling); None without text.
        self.tokenizer = text_encoder.Tokenizer(text.vocabulary, text.max_len) if text.enabled else None
        # The step's stage that writes the localisation targets from the batch's own audio (spatial/audio_targets.py),
        # set by open_split when they come from the audio (the dataset says the camera's view and the head).
        self.audio_targets: audio_targets.LocalisationTargets | None = None
        self._summary_fn = None

    # ---- Data.

    def supervision(self) -> dict[str, float]:
        """{config field: weight} of the ground-truth supervision the config asks for (weights > 0 only)."""
        model = self.model_config
        asked = {"model.video.localisation_weight": float(model.video.localisation_weight)}
        if model.spatialisation.enabled:
            asked["model.spatialisation.aux_weight"] = float(model.spatialisation.aux_weight)
        return {k: v for k, v in asked.items() if v > 0}

    def check_dataset(self, clip: loader.ClipFormat) -> None:
        """Raises cli.ConfigError (one line naming the config field to change) when the config needs what the dataset
        of `clip` lacks: ground-truth source positions for supervision, or captions."""
        name, asked = self.config.data.name, self.supervision()
        if asked and self.localisation_source(clip) == "ground_truth" and not clip.has_truth(LOCALISATION_KEYS):
            field, weight = next(iter(asked.items()))
            raise cli.ConfigError(
                f"config.{field}={weight:g} asks for ground-truth localisation supervision, but {name} "
                f"stores no ground-truth source positions: set --config.{field}=0 or "
                f"--config.data.localisation_targets=audio"
            )
        if self.model_config.text.enabled and "caption" not in clip.features:
            raise cli.ConfigError(
                f"config.model.text.enabled=True, but {name} stores no 'caption' feature: set "
                f"--config.model.text.enabled=false"
            )

    def localisation_source(self, clip: loader.ClipFormat) -> str:
        """Where the localisation targets come from (config.data.localisation_targets): 'ground_truth' (the
        benchmark's source positions) or 'audio' (the clip's own recording, audio_targets.py); 'auto' is
        'ground_truth' where the dataset stores the positions and 'audio' elsewhere."""
        source = self.config.data.localisation_targets
        if source not in TARGET_SOURCES:
            raise cli.ConfigError(f"config.data.localisation_targets={source!r}: expected one of {TARGET_SOURCES}")
        if source == "auto":
            return "ground_truth" if clip.has_truth(LOCALISATION_KEYS) else "audio"
        return source

    def batch_keys(self, clip: loader.ClipFormat) -> tuple[str, ...]:
        """Dataset features the task reads from a dataset of `clip` ('caption' becomes 'caption_ids' in the
        pipeline): audio, video (or its precomputed features), caption, and whatever of the ground truth the
        localisation metrics and the summaries use that the dataset stores."""
        video = ("video",) if self.model_config.video.features == "pixels" else PRECOMPUTED_KEYS
        text = ("caption",) if self.model_config.text.enabled else ()
        truth = tuple(k for k in dict.fromkeys(LOCALISATION_KEYS + DIRECTION_KEYS) if k in clip.truth)
        if self.localisation_source(clip) == "audio":
            truth = ()  # no source position reaches training: the targets come from the audio
        return ("audio", *video, *text, *truth)

    def open_split(self, split_name: str):
        """(source, ClipFormat) of one split of config.data (any TFDS split name), checked against the config
        (`check_dataset`); sets `self.audio_targets` for its clips (None unless their targets come from the audio)."""
        data = self.config.data
        source, clip = loader.open_split(data.data_dir, data.name, split_name)
        self.check_dataset(clip)
        self.audio_targets = None
        if self.localisation_source(clip) == "audio":
            video = self.model_config.video
            self.audio_targets = audio_targets.LocalisationTargets(
                self.seq.num_video_frames,
                self.seq.video_fps,
                self.seq.sample_rate,
                clip.field_of_view_deg,
                None if video.features == "pixels" else video.frame_size,
                itd_map.dataset_map(clip.hrtf, self.seq.sample_rate),  # the dataset's head
            )
        return source, clip

    def make_dataset(
        self, split: str, *, seed: int, shard_options: grain.sharding.ShardOptions, batch_size: int
    ) -> grain.IterDataset:
        if split not in SPLITS:
            raise ValueError(f"GeneratorTask.make_dataset: split={split!r}, expected one of {sorted(SPLITS)}")
        data = self.config.data
        source, clip = self.open_split(data[f"{split}_split"])
        ds = loader.make_dataset(
            source,
            clip,
            self.seq,
            train=split == "train",
            batch_size=batch_size,
            seed=seed,
            shard_options=shard_options,
            keys=self.batch_keys(clip),
            num_workers=data.num_workers,
            mirror_prob=data.mirror_prob,
        )
        if self.tokenizer is not None:
            ds = ds.map(CaptionIds(self.tokenizer))
        return ds

    def model_inputs(self, batch) -> dict[str, jax.Array]:
        """The batch entries the generator reads (video or precomputed features, caption ids)."""
        keys = ("video",) if self.model_config.video.features == "pixels" else PRECOMPUTED_KEYS
        keys = keys + (("caption_ids",) if self.model_config.text.enabled else ())
        return {k: batch[k] for k in keys}

    def latents(self, batch) -> jax.Array:
        """Normalised per-ear latents x1 [B, 2, T, C] of the batch's audio (mono layout: of the downmix)."""
        audio = batch["audio"]
        if self.model_config.layout == "mono":
            audio = jnp.broadcast_to(audio.mean(axis=1, keepdims=True), audio.shape)
        x1 = jax.lax.stop_gradient(self.codec.encode(audio)).astype(jnp.float32)
        expected = (audio.shape[0], 2, self.seq.num_latent_frames, self.codec.latent_dim)
        if x1.shape != expected:
            raise ValueError(f"GeneratorTask: codec.encode gave latents {x1.shape}, expected {expected}")
        return tie_ears(x1, self.model_config.layout)

    # ---- Training and validation.

    def init(self, rng, batch):
        x = jnp.zeros((batch["audio"].shape[0], 2, self.seq.num_latent_frames, self.codec.latent_dim), jnp.float32)
        no_drop = jnp.zeros((x.shape[0],), bool)
        t = jnp.zeros((x.shape[0],), jnp.float32)
        return self.model.init(rng, x, t, self.model_inputs(batch), no_drop, no_drop)["params"]

    def _localisation_metrics(self, logits: jax.Array, batch, keep: jax.Array, name: str) -> dict[str, jax.Array]:
        """BCE of per-patch logits [B, K, P] against the ground-truth sounding regions ("{name}_bce"), and the hit
        rate ("{name}_hit_rate"): the share of frames with a visible sounding source whose hottest patch holds
        one. Averaged over examples where `keep`."""
        if self.model_config.video.features == "pixels":
            frame_hw = batch["video"].shape[2:4]
        else:
            frame_hw = (self.model_config.video.frame_size,) * 2
        target = spatialisation.heatmap_targets(
            batch["screen_x"],
            batch["screen_y"],
            batch["visible"],
            batch["sounding"],
            frame_hw,
            self.model_config.grid,
            logits.shape[1],
        )
        # Frames whose target can be trusted (all of them for ground truth; confident ones for audio targets).
        confident = batch.get("target_confident")
        frames = (
            jnp.ones(logits.shape[:2], jnp.float32)
            if confident is None
            else confident[:, layers.nearest_indices(logits.shape[1], confident.shape[1])].astype(jnp.float32)
        )
        per_frame = jnp.mean(jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits))), axis=2)
        bce = jnp.sum(per_frame * frames, axis=1) / jnp.maximum(jnp.sum(frames, axis=1), 1.0)
        weight = keep.astype(jnp.float32)
        has_source = jnp.max(target, axis=-1) * weight[:, None] * frames  # [B, K]
        hit = jnp.take_along_axis(target, jnp.argmax(logits, axis=-1)[..., None], axis=-1)[..., 0]
        return {
            f"{name}_bce": jnp.sum(bce * weight) / jnp.maximum(jnp.sum(weight), 1.0),
            f"{name}_hit_rate": jnp.sum(hit * has_source) / jnp.maximum(jnp.sum(has_source), 1.0),
        }

    def _localisation_losses(self, cond: Conditions, batch, keep: jax.Array) -> tuple[jax.Array, dict]:
        """(weighted supervision loss, metrics) of the spatialisation heatmap and the encoder's patch read-out,
        for those the model has; their weights are model.spatialisation.aux_weight and
        model.video.localisation_weight. The targets are the batch's ground-truth positions, or, with audio targets,
        computed here from its audio (`self.audio_targets`). Nothing without either (a dataset without positions was
        refused at open if a weight asks for ground-truth supervision: `check_dataset`)."""
        loss, metrics = jnp.zeros((), jnp.float32), {}
        model = self.model_config
        heads = [
            (logits, name, weight)
            for logits, name, weight in (
                (cond.heatmap_logits, "heatmap", model.spatialisation.aux_weight),
                (cond.patch_logits, "patch", model.video.localisation_weight),
            )
            if logits is not None
        ]
        if heads and self.audio_targets is not None:
            batch = self.audio_targets(batch)
        if not all(k in batch for k in LOCALISATION_KEYS):
            if self.supervision():
                # Supervision asked for and no targets: silently training without it would be worse.
                raise ValueError(
                    f"GeneratorTask: {sorted(self.supervision())} ask for localisation targets, but the batch has "
                    f"no {list(LOCALISATION_KEYS)} and no audio-target stage is set (open the data with "
                    f"task.open_split / task.make_dataset first)"
                )
            return loss, metrics
        for logits, name, weight in heads:
            metrics.update(self._localisation_metrics(logits, batch, keep, name))
            loss = loss + weight * metrics[f"{name}_bce"]
        return loss, metrics

    def loss(self, params, batch, rng, step):
        del step
        flow = self.config.flow
        x1 = self.latents(batch)
        b = x1.shape[0]
        k_t, k_x0, k_drop = jax.random.split(rng, 3)
        t = fm.logit_normal_times(k_t, b, flow.t_mean, flow.t_std)
        x0 = tie_ears(jax.random.normal(k_x0, x1.shape, jnp.float32), self.model_config.layout)
        drop_video, drop_text = fm.drop_masks(k_drop, b, flow.video_dropout, flow.text_dropout)
        v, cond = self.model.apply(
            {"params": params}, fm.interpolate(x0, x1, t), t, self.model_inputs(batch), drop_video, drop_text
        )
        target = fm.target_velocity(x0, x1)
        per_ear = fm.per_ear_loss(v, target)
        flow_loss, side = fm.flow_loss(per_ear), fm.interaural_loss(v, target).mean()
        loss = flow_loss + 2.0 * flow.interaural_weight * side
        metrics = {
            "flow_loss": flow_loss,
            "loss_left": per_ear[:, 0].mean(),
            "loss_right": per_ear[:, 1].mean(),
            "interaural_loss": side,
        }
        channel = self.codec.delay_channel
        if channel is not None:
            # The delay channel's interaural part is the ITD (autoencoder/delay.py), here over the channel's std.
            delay = slice(channel, channel + 1)
            metrics["itd_loss"] = fm.interaural_loss(v[..., delay], target[..., delay]).mean()
            loss = loss + 2.0 * flow.itd_weight * metrics["itd_loss"]
        aux_loss, aux_metrics = self._localisation_losses(cond, batch, ~drop_video)
        metrics.update(aux_metrics)
        return loss + aux_loss, metrics

    def eval_step(self, params, batch, rng):
        """Flow loss at the centre of each of `flow.num_val_buckets` time buckets (same noise for all), their
        mean as "loss", and the heatmap metrics when the spatialisation branch is on."""
        x1 = self.latents(batch)
        b = x1.shape[0]
        x0 = tie_ears(jax.random.normal(rng, x1.shape, jnp.float32), self.model_config.layout)
        no_drop = jnp.zeros((b,), bool)
        variables = {"params": params}
        cond = self.model.apply(
            variables, self.model_inputs(batch), no_drop, no_drop, x1.shape[2], method=Generator.encode
        )

        def loss_at(t_value):
            t = jnp.full((b,), t_value, jnp.float32)
            v = self.model.apply(variables, fm.interpolate(x0, x1, t), t, cond, method=Generator.velocity)
            return fm.flow_loss(fm.per_ear_loss(v, fm.target_velocity(x0, x1)))

        num_buckets = self.config.flow.num_val_buckets
        losses = jax.lax.map(loss_at, fm.bucket_times(num_buckets))
        metrics = dict(zip(fm.bucket_names(num_buckets), losses))
        metrics["loss"] = jnp.mean(losses)
        metrics.update(self._localisation_losses(cond, batch, ~no_drop)[1])
        return metrics

    # ---- Summaries.

    def summaries(self, params, batch, rng, step):
        """Generated and reference audio of the first `summary.num_clips` validation clips, and per clip a PNG
        of the generated left/right spectrograms with ITD/ILD over time against the reference's and (where the
        dataset has it) the true source direction."""
        del step
        num = min(self.config.summary.num_clips, batch["audio"].shape[0])
        if self._summary_fn is None:
            self._summary_fn = self._make_summary_fn(batch, num)
        out = jax.device_get(self._summary_fn(params, batch, rng))
        media = {}
        for i in range(num):
            generated, reference = out["generated"][i], out["audio"][i]
            media[f"clip{i}/generated"] = Audio(np.clip(generated, -1.0, 1.0), self.seq.sample_rate)
            media[f"clip{i}/reference"] = Audio(reference, self.seq.sample_rate)
            media[f"clip{i}/binaural_cues"] = plots.binaural_cues_image(
                generated,
                reference,
                *self._direction_truth(out, i),
                fps=self.seq.video_fps,
                sample_rate=self.seq.sample_rate,
            )
        return media

    def _direction_truth(self, out: dict, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip i's true (azimuth, elevation, sounding) [T, S] for the cue image; without the ground truth no
        source slots ([T, 0]), so the image shows the generated against the reference alone."""
        if all(k in out for k in DIRECTION_KEYS):
            return tuple(out[k][i] for k in DIRECTION_KEYS)
        empty = np.zeros((self.seq.num_video_frames, 0), np.float32)
        return empty, empty, empty.astype(bool)

    def _make_summary_fn(self, batch, num: int):
        """Jitted (params, batch, key) -> replicated host-ready arrays for the first `num` clips, sampled with
        config.sampler. Generation runs on the smallest leading slice of the batch that still splits evenly over
        the batch's shards."""
        sharding = batch["audio"].sharding
        shards = partitioning.batch_shards(sharding)
        replicated = (
            jax.sharding.NamedSharding(sharding.mesh, jax.P())
            if isinstance(sharding, jax.sharding.NamedSharding)
            else None
        )
        size = min(batch["audio"].shape[0], shards * math.ceil(num / shards))
        sampler = samplers.Sampler.from_config(self.config.sampler)

        def fn(params, batch, key):
            sub = jax.tree.map(lambda x: x[:size], batch)
            generated = sampling.sample_audio(
                self.model,
                self.codec,
                params,
                self.model_inputs(sub),
                key,
                num_latent_frames=self.seq.num_latent_frames,
                sampler=sampler,
            )
            keep = [k for k in ("audio", *DIRECTION_KEYS) if k in batch]
            return {"generated": generated[:num], **{k: batch[k][:num] for k in keep}}

        return jax.jit(fn, out_shardings=replicated)

"""The binaural flow-matching generator: encoders, conditions, and the multimodal transformer.

`Generator` predicts the flow velocity of per-ear audio latents x [B, 2, T, C] (0 = left ear) at flow time t,
given a clip's video and caption. It has two halves, so that sampling encodes each clip once:

  encode(inputs, drop_video, drop_text, num_latent_frames) -> Conditions   (no dependence on x or t)
  velocity(x, t, conditions) -> v [B, 2, T, C]

`__call__` chains them. `inputs` holds either 'video' [B, T_video, H, W, 3] in [-1, 1] (config video.features =
'pixels') or precomputed 'clip_features' [B, T_sem, Dc], 'sync_features' [B, T_sync, Dy] and 'patch_features'
[B, T_patch, P, Dp] ('precomputed'), plus 'caption_ids' [B, L] int32 when the text condition is on. The
drop masks [B] bool replace that example's video features by learned null features and its caption by the
empty caption (classifier-free guidance).

Layouts (`layout`):
  'dual'   ViSAudio/SpatialV2A: each ear its own token stream (branch), both in the joint blocks, then per-ear
           single blocks (shared weights + branch embedding, or separate weights: `branch_weights`).
  'stereo' joint-stereo baseline: the two ears' latents concatenated per frame into one stream ([T, 2C]).
  'mono'   mono baseline: one stream generated from the left-ear slot and copied to both ears; the task trains
           it on the mono downmix and ties the noise of the two ears (`tie_ears`).
Conditioning follows MMAudio: global c_g = MLP(proj(mean video tokens) + proj(mean text tokens)) + t-embedding;
frame-level c_f = c_g + sync features upsampled to the latent rate, per branch plus ViSAudio's spacetime
condition (`spacetime`), plus SpatialV2A's spatial condition (`spatialisation`), plus the branch embedding.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import struct

from v2a_jax import cli
from v2a_jax.generator import layers, spacetime, spatialisation, text_encoder, transformer
from v2a_jax.generator.video_encoder import PixelVideoEncoder, VideoFeatures
from v2a_jax.train import run_config

LAYOUTS = ("dual", "stereo", "mono")
BRANCH_WEIGHTS = ("shared", "separate")
VIDEO_FEATURES = ("pixels", "precomputed")
PRECOMPUTED_KEYS = ("clip_features", "sync_features", "patch_features")


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    """`config.model.video`: the visual features (from pixels or precomputed) and the localisation read-out."""

    features: str
    image_size: int
    patch_size: int
    tubelet_frames: int
    width: int
    depth: int
    num_heads: int
    patch_grid: tuple[int, int]
    frame_size: int
    localisation_weight: float

    def __post_init__(self):
        if self.features not in VIDEO_FEATURES:
            _bad("video.features", self.features, f"must be one of {VIDEO_FEATURES}")
        if self.features == "pixels":
            if self.image_size % self.patch_size:
                _bad("video.image_size", self.image_size, f"must be a multiple of video.patch_size={self.patch_size}")
            if self.width % self.num_heads:
                _bad("video.width", self.width, f"must be divisible by video.num_heads={self.num_heads}")


@dataclasses.dataclass(frozen=True)
class TextConfig:
    """`config.model.text`: the caption condition and its encoder."""

    enabled: bool
    vocabulary: tuple[str, ...]
    max_len: int
    width: int
    depth: int
    num_heads: int

    @property
    def vocab_size(self) -> int:
        """Token ids: the special tokens, then the caption words."""
        return text_encoder.NUM_SPECIAL + len(self.vocabulary)


@dataclasses.dataclass(frozen=True)
class SpatialisationConfig:
    """`config.model.spatialisation`: SpatialV2A's visual-guided spatialisation branch."""

    enabled: bool
    hidden: int
    aux_weight: float


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Static description of a generator (hashable: it is a flax module attribute).

    Mirrors the tree of `config.model` field for field (nested sections `video`, `text`, `spatialisation`), so a
    field has one name in the config, on the command line and here; experiments/generator.py sets every value
    and documents each field. `latent_dim` (the codec's), `semantic_frames_per_video_frame` (config.data's rates)
    and `dtype` (config.compute_dtype) do not come from config.model and are passed to `from_config`.
    Nothing has a default, so a value is set in one place: a config that lacks a field is refused with one line
    naming it. A saved run's config.json gets the fields added after it was trained through the one conversion
    of saved configs (train/run_config.ADDED_FIELDS, with the value it was trained with) before it gets here.
    """

    layout: str
    branch_weights: str
    hidden: int
    num_heads: int
    joint_depth: int
    single_depth: int
    mlp_ratio: float
    mlp_multiple_of: int
    aligned_rope: bool
    remat: str
    attention: str
    scan_layers: bool
    spacetime: bool
    spatialisation: SpatialisationConfig
    video: VideoConfig
    text: TextConfig
    latent_dim: int
    semantic_frames_per_video_frame: float
    dtype: str

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            _bad("layout", self.layout, f"must be one of {LAYOUTS}")
        if self.branch_weights not in BRANCH_WEIGHTS:
            _bad("branch_weights", self.branch_weights, f"must be one of {BRANCH_WEIGHTS}")
        if self.spacetime and self.layout != "dual":
            _bad(
                "spacetime", self.spacetime, "the spacetime module conditions each ear's branch: it needs layout='dual'"
            )
        if self.hidden % self.num_heads or (self.hidden // self.num_heads) % 2:
            _bad("hidden", self.hidden, f"must split into num_heads={self.num_heads} heads of even size (RoPE)")
        try:
            self.execution  # noqa: B018 -- layers.Execution checks the attention implementation and remat policy
        except ValueError as e:
            raise cli.ConfigError(f"config.model.{e}") from e
        if self.joint_depth < 1 or self.single_depth < 1:
            _bad(
                "joint_depth",
                self.joint_depth,
                f"joint_depth and single_depth must be >= 1 (got {self.joint_depth}, {self.single_depth})",
            )

    @property
    def num_branches(self) -> int:
        return 2 if self.layout == "dual" else 1

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid (rows, columns) of the patch features."""
        if self.video.features == "pixels":
            side = self.video.image_size // self.video.patch_size
            return side, side
        return self.video.patch_grid

    @property
    def patch_localiser(self) -> bool:
        """Whether the video encoder has the sounding-patch read-out (trained when video.localisation_weight > 0)."""
        return self.video.localisation_weight > 0

    @property
    def execution(self) -> layers.Execution:
        """How every block runs: attention implementation, remat policy, scanned or unrolled stacks (results are the
        same for all)."""
        return layers.Execution(attention=self.attention, remat=self.remat, scan_layers=self.scan_layers)

    @property
    def mlp_hidden(self) -> int:
        return layers.mlp_hidden(self.hidden, self.mlp_ratio, self.mlp_multiple_of)

    @property
    def compute_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.dtype)

    @classmethod
    def from_config(
        cls,
        model_cfg: ml_collections.ConfigDict,
        *,
        latent_dim: int,
        semantic_frames_per_video_frame: float,
        dtype: str,
    ) -> ModelConfig:
        """The ModelConfig of `config.model`; raises cli.ConfigError naming an unknown or a missing field."""
        return run_config.parse_section(
            cls,
            model_cfg,
            "config.model",
            latent_dim=latent_dim,
            semantic_frames_per_video_frame=semantic_frames_per_video_frame,
            dtype=dtype,
        )


def _bad(field: str, value: Any, why: str) -> typing.NoReturn:
    raise cli.ConfigError(f"config.model.{field}={value!r}: {why}")


class Conditions(struct.PyTreeNode):
    """Everything `velocity` needs from a clip, computed once by `encode`.

    video_tokens [B, T_sem, D]; text_tokens [B, L, D] and text_mask [B, L] (None without text);
    global_cond [B, D] (timestep-free); frame_cond [B, nb, T, D] (per-branch frame-level condition without
    the global part); heatmap_logits [B, T_patch, P] (None without the spatialisation branch);
    patch_logits [B, T_patch, P]: the video encoder's own sounding-patch logits (None unless `patch_localiser`),
    supervised by the task and, with the spacetime module, the saliency that steers its pooling.
    """

    video_tokens: jax.Array
    text_tokens: jax.Array | None
    text_mask: jax.Array | None
    global_cond: jax.Array
    frame_cond: jax.Array
    heatmap_logits: jax.Array | None
    patch_logits: jax.Array | None


def tie_ears(x: jax.Array, layout: str) -> jax.Array:
    """For the mono layout, both ears hold the left ear's values (one latent copied to both ears)."""
    return jnp.broadcast_to(x[:, :1], x.shape) if layout == "mono" else x


class NullFeatures(nn.Module):
    """Replaces the features of dropped examples by a learned null vector: x [B, ..., D], drop [B] bool."""

    @nn.compact
    def __call__(self, x: jax.Array, drop: jax.Array) -> jax.Array:
        null = self.param("null", layers.boxed(nn.initializers.normal(0.02), ("embed",)), (x.shape[-1],))
        drop = drop.reshape((-1,) + (1,) * (x.ndim - 1))
        return jnp.where(drop, null.astype(x.dtype), x)


class Generator(nn.Module):
    """See the module docstring."""

    config: ModelConfig

    def setup(self):
        cfg = self.config
        dt = cfg.compute_dtype
        d, mlp = cfg.hidden, cfg.mlp_hidden
        v = cfg.video
        if v.features == "pixels":
            self.video_encoder = PixelVideoEncoder(
                v.image_size,
                v.patch_size,
                v.tubelet_frames,
                v.width,
                v.depth,
                v.num_heads,
                cfg.semantic_frames_per_video_frame,
                dt,
                cfg.execution,
            )
        self.null_semantic, self.null_sync, self.null_patches = NullFeatures(), NullFeatures(), NullFeatures()
        if cfg.patch_localiser:
            self.patch_localiser_head = layers.dense(1, ("embed", None), dtype=dt)
        if cfg.text.enabled:
            self.text_encoder = text_encoder.TextEncoder(
                cfg.text.vocab_size,
                cfg.text.max_len,
                cfg.text.width,
                cfg.text.depth,
                cfg.text.num_heads,
                dt,
                cfg.execution,
            )
            self.text_in = layers.dense(d, (None, "embed"), dtype=dt)
            self.text_mlp = layers.ConvMLP(mlp, 1, dt)
            self.text_cond_proj = layers.dense(d, ("embed", "mlp"), dtype=dt)
        # MMAudio's input projections.
        self.video_in = layers.dense(d, (None, "embed"), dtype=dt)
        self.video_mlp = layers.ConvMLP(mlp, 3, dt)
        self.sync_in = layers.conv1d(d, 7, (None, "embed"), dtype=dt)
        self.sync_mlp = layers.ConvMLP(mlp, 3, dt)
        self.audio_in = layers.conv1d(d, 7, (None, "embed"), dtype=dt)
        self.audio_mlp = layers.ConvMLP(mlp, 7, dt)
        self.video_cond_proj = layers.dense(d, ("embed", "mlp"), dtype=dt)
        self.global_fc1 = layers.dense(4 * d, ("embed", "mlp"), dtype=dt)
        self.global_fc2 = layers.dense(d, ("mlp", "embed"), dtype=dt)
        self.t_embed = layers.TimestepEmbedding(d, dtype=dt)
        if cfg.num_branches > 1:
            self.branch_embedding = self.param(
                "branch_embedding",
                layers.boxed(nn.initializers.normal(0.02), ("channels", "embed")),
                (cfg.num_branches, d),
            )
        if cfg.spacetime:
            self.spacetime = spacetime.Spacetime(d, cfg.num_heads, mlp, cfg.grid, dt)
        if cfg.spatialisation.enabled:
            self.heatmap = spatialisation.HeatmapNet(cfg.spatialisation.hidden, dt)
            self.spatial_condition = spatialisation.SpatialCondition(d, mlp, dt)
        self.joint = transformer.JointStack(d, cfg.num_heads, mlp, cfg.joint_depth, cfg.aligned_rope, dt, cfg.execution)
        out_dim = 2 * cfg.latent_dim if cfg.layout == "stereo" else cfg.latent_dim
        self.branches = transformer.Branches(
            d, cfg.num_heads, mlp, cfg.single_depth, out_dim, cfg.branch_weights == "separate", dt, cfg.execution
        )

    def video_features(self, inputs: dict[str, jax.Array]) -> VideoFeatures:
        """The raw visual streams: from pixels or from the precomputed features in `inputs`."""
        if self.config.video.features == "pixels":
            return self.video_encoder(inputs["video"])
        missing = [k for k in PRECOMPUTED_KEYS if k not in inputs]
        if missing:
            raise KeyError(
                f"Generator: video.features='precomputed' needs {list(PRECOMPUTED_KEYS)} in the batch; "
                f"missing {missing}"
            )
        patches = inputs["patch_features"]
        if patches.shape[2] != self.config.grid[0] * self.config.grid[1]:
            raise ValueError(
                f"Generator: patch_features has {patches.shape[2]} patches, config.model.video."
                f"patch_grid={self.config.grid} needs {self.config.grid[0] * self.config.grid[1]}"
            )
        return VideoFeatures(inputs["clip_features"], inputs["sync_features"], patches)

    def encode(
        self, inputs: dict[str, jax.Array], drop_video: jax.Array, drop_text: jax.Array, num_latent_frames: int
    ) -> Conditions:
        cfg = self.config
        dt = cfg.compute_dtype
        feats = self.video_features(inputs)
        # A linear read-out keeps the localisation in the patch features themselves (what the spacetime module
        # and the spatialisation branch read), as a spatially tuned pretrained encoder would provide it; it reads
        # the features before a dropped video's are replaced, so the spacetime module masks it by drop_video.
        patch_logits = (
            self.patch_localiser_head(feats.patches.astype(dt))[..., 0].astype(jnp.float32)
            if cfg.patch_localiser
            else None
        )
        semantic = self.null_semantic(feats.semantic.astype(dt), drop_video)
        sync = self.null_sync(feats.sync.astype(dt), drop_video)
        patches = self.null_patches(feats.patches.astype(dt), drop_video)

        video = layers.constrain(self.video_mlp(self.video_in(semantic)), transformer.TOKENS)
        pooled = self.video_cond_proj(video.mean(axis=1))
        text = text_mask = None
        if cfg.text.enabled:
            ids = jnp.where(
                drop_text[:, None], text_encoder.empty_caption_ids(*inputs["caption_ids"].shape), inputs["caption_ids"]
            )
            text, text_mask = self.text_encoder(ids)
            text = layers.constrain(self.text_mlp(self.text_in(text)), transformer.TOKENS)
            weights = text_mask[..., None].astype(dt)
            pooled = pooled + self.text_cond_proj((text * weights).sum(axis=1) / weights.sum(axis=1))
        global_cond = self.global_fc2(nn.silu(self.global_fc1(pooled)))

        sync = self.sync_mlp(nn.selu(self.sync_in(sync)))
        sync = layers.resample_nearest(sync, num_latent_frames, axis=1)  # [B, T, D]
        frame = jnp.broadcast_to(sync[:, None], (sync.shape[0], cfg.num_branches, *sync.shape[1:]))
        if cfg.spacetime:
            # The tuned encoder's sounding-region logits steer where each branch looks; a dropped video has no
            # saliency, so the unconditional pass stays free of the picture.
            saliency = None if patch_logits is None else jnp.where(drop_video[:, None, None], 0.0, patch_logits)
            frame = frame + self.spacetime(patches, num_latent_frames, global_cond, saliency)
        heatmap_logits = None
        if cfg.spatialisation.enabled:
            heatmap_logits = self.heatmap(patches)
            stats = spatialisation.heatmap_statistics(jax.nn.sigmoid(heatmap_logits), cfg.grid)
            frame = frame + self.spatial_condition(stats, num_latent_frames)[:, None]
        if cfg.num_branches > 1:
            frame = frame + self.branch_embedding.astype(dt)[None, :, None, :]
        return Conditions(
            video_tokens=video,
            text_tokens=text,
            text_mask=text_mask,
            global_cond=global_cond,
            frame_cond=layers.constrain(frame, transformer.AUDIO),
            heatmap_logits=heatmap_logits,
            patch_logits=patch_logits,
        )

    def velocity(self, x: jax.Array, t: jax.Array, cond: Conditions) -> jax.Array:
        """x [B, 2, T, C] at flow times t [B] -> velocity [B, 2, T, C] (float32)."""
        return self.velocity_of_tokens(self.audio_tokens(x), t, cond)

    def audio_tokens(self, x: jax.Array) -> jax.Array:
        """x [B, 2, T, C] -> audio tokens [B, nb, T, D]: MMAudio's audio input projections plus the branch
        embedding, the part of `velocity` that reads x and nothing else (a guided evaluation, whose two halves share
        x, runs it once: samplers.guided_velocity)."""
        cfg = self.config
        dt = cfg.compute_dtype
        b, _, n, ch = x.shape
        if ch != cfg.latent_dim:
            raise ValueError(f"Generator: latents have {ch} channels, the model was built for {cfg.latent_dim}")
        x = x.astype(dt)
        if cfg.layout == "stereo":
            streams = x.transpose(0, 2, 1, 3).reshape(b, 1, n, 2 * ch)
        elif cfg.layout == "mono":
            streams = x[:, :1]
        else:
            streams = x
        audio = self.audio_mlp(nn.selu(self.audio_in(streams)))
        if cfg.num_branches > 1:
            audio = audio + self.branch_embedding.astype(dt)[None, :, None, :]
        return layers.constrain(audio, transformer.AUDIO)

    def velocity_of_tokens(self, audio: jax.Array, t: jax.Array, cond: Conditions) -> jax.Array:
        """Audio tokens [B, nb, T, D] (`audio_tokens`) at flow times t [B] -> velocity [B, 2, T, C] (float32)."""
        cfg = self.config
        b, _, n, _ = audio.shape
        c_g = cond.global_cond + self.t_embed(t)
        c_f = c_g[:, None, None, :] + cond.frame_cond
        audio = self.joint(audio, cond.video_tokens, cond.text_tokens, c_g, c_f, cond.text_mask)
        out = self.branches(audio, c_f).astype(jnp.float32)  # [B, nb, T, out]
        if cfg.layout == "stereo":
            return out.reshape(b, n, 2, cfg.latent_dim).transpose(0, 2, 1, 3)
        if cfg.layout == "mono":
            return jnp.broadcast_to(out, (b, 2, n, cfg.latent_dim))
        return out

    def __call__(
        self, x: jax.Array, t: jax.Array, inputs: dict[str, jax.Array], drop_video: jax.Array, drop_text: jax.Array
    ) -> tuple[jax.Array, Conditions]:
        """(velocity [B, 2, T, C], the conditions it used)."""
        cond = self.encode(inputs, drop_video, drop_text, x.shape[2])
        return self.velocity(x, t, cond), cond


def count_params(params: Any) -> int:
    """Number of scalar parameters in a (boxed or plain) params tree."""
    return int(sum(np.prod(np.shape(x)) for x in jax.tree.leaves(nn.meta.unbox(params))))

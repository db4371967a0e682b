r"""Binaural flow-matching generator (v2a_jax/generator): the two papers' models, the baselines, three sizes.

Run from the repo root, `--config=experiments/generator.py:MODEL-SIZE` (default `visaudio-tiny`):
  python -m v2a_jax.main --config=experiments/generator.py:visaudio-tiny --workdir=runs/gen_visaudio_tiny
Prerequisites: the benchmark (`python -m v2a_jax.quickstart --workdir=runs/quickstart` builds
binaural_synth/small into runs/quickstart/data, which `tiny` reads; `small`/`large` read binaural_synth/default:
`python -m data.binaural_synth.build --config=default --data_dir=runs/quickstart/data`) and a trained audio
autoencoder whose run directory is config.codec.kwargs.workdir (loaded by v2a_jax.autoencoder.codec.load_codec).
Without one, `--config.codec.factory=v2a_jax.autoencoder.frame_codec:load_codec` trains on a fixed orthonormal framing
"codec" (a linear stand-in, latent_dim 8: the pipeline runs end to end, the audio is a projection).

MODEL (every ablation is one flag away; experiments/sweeps/generator_ablations.py lists them):
  visaudio     ViSAudio: dual-branch per-ear latents, separate per-ear single blocks, conditional spacetime
               module (per-branch patch-feature condition with ear-relative left/right position embeddings),
               on a spatially tuned video encoder (model.video.localisation_weight 0.1).
  spatialv2a   SpatialV2A: dual-branch, separate per-ear branches, visual-guided spatialisation branch
               (heatmap -> 5 statistics -> spatial condition in every block); heatmap supervision off
               (model.spatialisation.aux_weight > 0 turns on the ground-truth BCE).
  joint_stereo baseline: both ears' latents concatenated per frame into one token stream, no spatial modules.
  mono         baseline: one stream trained on the mono downmix, copied to both ears (ViSAudio's "mono
               MMAudio" row), no spatial modules.
SIZE:
  tiny   hidden 64, 2 + 2 blocks, 32x32 video (pooled from 64x64), 1.28 s crops of binaural_synth/small,
         semantic 6.25 fps; trains on the 2-core CPU in minutes.
  small  MMAudio-S scale: hidden 448 (7 heads x 64), 4 joint + 8 single blocks; 8 s clips of
         binaural_synth/default at 64x64, semantic 8 fps; MMAudio's optimiser (AdamW 1e-4, betas 0.9/0.95, wd
         1e-6, 1K warmup, lr x0.1 at 80 % and 90 %, clip 1.0), bf16 compute.
  large  MMAudio-L scale: hidden 896 (14 heads), 7 + 14 blocks; otherwise as small.
Parameter counts: `python -m experiments.benchmarks.generator_speed` prints every model's.

Expected results. `python -m v2a_jax.evaluate --workdir=... --out_dir=...` reports direction error and
left/right agreement on held-out clips (with the binaural, sync and distribution metrics) against the flipped
video, the ground truth, the codec and the mono-copy / two-stage / random-direction baselines;
`python -m v2a_jax.evaluation.ablations` tabulates several runs. The papers' orderings to expect in the sweep:
mono worst, joint stereo below dual-branch, dual-branch + spacetime (ViSAudio) or + spatialisation (SpatialV2A)
best; aligned RoPE better timing than unaligned (MMAudio: DeSync 0.483 vs 0.509 s). What these configs measured
here is in experiments/RESULTS.md ("Generator: spatial results on binaural_synth", "Generator: speed").

Every field is documented by the comment above the line that sets it: in get_config (the same for every
model and size), in BY_MODEL (what makes each MODEL) or in BY_SIZE (what makes each SIZE); the trainer's
own fields are documented in experiments/trainer_defaults.py.
"""

import ml_collections

from data.binaural_synth import classes
from experiments.trainer_defaults import base_config

# Words of the binaural_synth captions ("Visible sound: a, b. Invisible sound: c."), for the caption tokeniser.
CAPTION_VOCABULARY = ("visible", "invisible", "sound", "none", ":", ",", ".", *classes.CLASS_NAMES)
MODELS = ("visaudio", "spatialv2a", "joint_stereo", "mono")
SIZES = ("tiny", "small", "large")


# The fields that make each MODEL: field -> (visaudio, spatialv2a, joint_stereo, mono).
BY_MODEL = {
    # 'dual' (each ear its own token stream) | 'stereo' (both ears' latents concatenated per frame, one stream) |
    # 'mono' (one stream trained on the mono downmix, copied to both ears).
    "model.layout": ("dual", "dual", "stereo", "mono"),
    # 'shared' (one set of single-block weights + a branch embedding) | 'separate' (per ear).
    "model.branch_weights": ("separate", "separate", "shared", "shared"),
    # ViSAudio's conditional spacetime module (per-branch patch-feature condition; needs layout 'dual').
    "model.spacetime": (True, False, False, False),
    # SpatialV2A's visual-guided spatialisation branch (heatmap -> 5 statistics -> spatial condition in every
    # block).
    "model.spatialisation.enabled": (False, True, False, False),
    # Weight of a BCE between a linear per-patch read-out of the video encoder's patch features and the true
    # sounding-source patches (0 = off): the from-scratch stand-in for ViSAudio's spatially tuned pretrained
    # encoder. With the spacetime module on, the read-out's logits also bias its attention pooling (where each
    # ear's branch looks); the generator's own loss stays the papers' flow loss. Its targets come from
    # data.localisation_targets.
    "model.video.localisation_weight": (0.1, 0.0, 0.0, 0.0),
}

# The fields that make each SIZE: field -> (tiny, small, large). Trainer fields: experiments/trainer_defaults.py.
BY_SIZE = {
    # TFDS dataset (the quickstart's small build for tiny, the default build for small / large).
    "data.name": ("binaural_synth/small", "binaural_synth/default", "binaural_synth/default"),
    # Crop length in seconds (the stream rates must divide it exactly).
    "data.duration_s": (1.28, 8.0, 8.0),
    # Rate of the semantic video features (frames/s).
    "data.semantic_fps": (6.25, 8.0, 8.0),
    # Transformer width D.
    "model.hidden": (64, 448, 896),
    # Attention heads, each of D / num_heads (even: RoPE) channels.
    "model.num_heads": (2, 7, 14),
    # Joint blocks N1 (audio, video and text tokens together).
    "model.joint_depth": (2, 4, 7),
    # Single blocks N2 (each branch alone).
    "model.single_depth": (2, 8, 14),
    # SwiGLU hidden width rounded up to a multiple of this.
    "model.mlp_multiple_of": (32, 256, 256),
    # What each stacked block keeps for the backward pass (v2a_jax/generator/layers.REMAT_POLICIES): 'none' all
    # activations, 'full' only its input (memory for the papers' batch sizes), 'dots' the weight matmuls' outputs.
    # It never changes results; experiments/RESULTS.md has its measured cost ('dots' is also the fastest at tiny
    # on CPU: it recomputes the cheap elementwise work instead of storing and re-reading it).
    "model.remat": ("dots", "full", "full"),
    # Width of the spatialisation heatmap net.
    "model.spatialisation.hidden": (64, 128, 128),
    # Side of the square frames the pixel encoder reads: it pools the stored frames (video.frame_size) to it.
    "model.video.image_size": (32, 64, 64),
    # The pixel encoder's width, blocks and attention heads.
    "model.video.width": (64, 384, 512),
    "model.video.depth": (1, 4, 6),
    "model.video.num_heads": (2, 6, 8),
    # The caption encoder's width, blocks and attention heads.
    "model.text.width": (64, 256, 512),
    "model.text.depth": (1, 2, 4),
    "model.text.num_heads": (2, 4, 8),
    # Trainer fields: small / large use MMAudio's optimiser (AdamW 1e-4, betas 0.9 / 0.95, wd 1e-6, 1K warmup,
    # lr x0.1 at 80 % and 90 %) and bf16 compute.
    "batch_size": (16, 64, 64),
    "num_train_steps": (4000, 300_000, 300_000),
    "optimizer.learning_rate": (5e-4, 1e-4, 1e-4),
    "optimizer.warmup_steps": (200, 1000, 1000),
    "optimizer.schedule": ("cosine", "step", "step"),
    "optimizer.decay_boundaries": ((), (240_000, 270_000), (240_000, 270_000)),
    "optimizer.b2": (0.999, 0.95, 0.95),
    "optimizer.weight_decay": (1e-4, 1e-6, 1e-6),
    "ema_decay": (0.999, 0.9995, 0.9995),
    "compute_dtype": ("float32", "bfloat16", "bfloat16"),
    "eval_every_steps": (500, 5000, 5000),
    "checkpoint_every_steps": (500, 5000, 5000),
    "summary_every_steps": (1000, 10_000, 10_000),
}


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "visaudio-tiny"
    name, _, size = variant.partition("-")
    if name not in MODELS or size not in SIZES:
        raise ValueError(
            f"experiments/generator.py: variant {variant!r} is not MODEL-SIZE with MODEL in {MODELS} "
            f"and SIZE in {SIZES}"
        )
    config = base_config("v2a_jax.generator.task:GeneratorTask")
    # MMAudio's x0.1 at each boundary of the 'step' schedule (small / large).
    config.optimizer.decay_factor = 0.1

    config.data = ml_collections.ConfigDict()
    # TFDS data directory and the splits trained and validated on.
    config.data.data_dir = "runs/quickstart/data"
    config.data.train_split = "train"
    config.data.val_split = "validation"
    # Stream rates (v2a_jax.input_pipeline.sequence.SequenceConfig, each of which must divide the crop exactly).
    config.data.sample_rate = 16000
    config.data.video_fps = 25.0
    config.data.latent_fps = 31.25
    # Grain worker processes (0 = the main process).
    config.data.num_workers = 0
    # Share of training examples reflected left/right (video flipped, ears swapped, azimuths negated:
    # v2a_jax.input_pipeline.loader.mirror), so the side of the sound is learnt from the side of the picture rather than
    # as a dataset bias (0 = off).
    config.data.mirror_prob = 0.5
    # Targets of every localisation supervision (model.video.localisation_weight, model.spatialisation.aux_weight):
    # 'ground_truth' (the benchmark's source positions), 'audio' (the sounding side and screen column from the
    # clip's own ITD, v2a_jax/spatial/audio_targets.py: any binaural recording) or 'auto' (ground truth where the
    # dataset stores source positions, else audio). Audio targets are a weaker signal: visaudio-tiny needed 4,800
    # steps, not 2,400, to follow the picture with them (experiments/RESULTS.md, issue 18's section).
    config.data.localisation_targets = "auto"

    config.codec = ml_collections.ConfigDict()
    # "module:function" returning an AudioCodec, called with **codec.kwargs.
    config.codec.factory = "v2a_jax.autoencoder.codec:load_codec"
    config.codec.kwargs = ml_collections.ConfigDict({"workdir": "runs/ae_cpu"})

    config.model = ml_collections.ConfigDict()
    # SwiGLU hidden width / block width (before the rounding to mlp_multiple_of).
    config.model.mlp_ratio = 4.0
    # Video RoPE positions aligned in time with the audio's (MMAudio's aligned RoPE).
    config.model.aligned_rope = True
    # jax.nn.dot_product_attention's implementation: 'xla' (any backend) or 'cudnn' (GPU flash attention; needs
    # compute_dtype bfloat16). It never changes results beyond float rounding.
    config.model.attention = "xla"
    # Each stack of blocks as one scanned body (True: compiles once whatever the depth) or unrolled (False: longer
    # compiles, the same parameters and results; the speed benchmark counts FLOPs this way) in training and its
    # summaries; the sampling commands always unroll (inference/generate.load_generator). Measured effect:
    # experiments/RESULTS.md.
    config.model.scan_layers = True
    config.model.spatialisation = ml_collections.ConfigDict()
    # Weight of the ground-truth heatmap BCE (0 = off, the SpatialV2A default); a dataset without ground truth
    # needs 0 unless data.localisation_targets gives audio targets (the task refuses otherwise).
    config.model.spatialisation.aux_weight = 0.0
    config.model.video = ml_collections.ConfigDict()
    # 'pixels' (trainable encoder) | 'precomputed' (the batch carries clip_features [B, T_sem, Dc], sync_features
    # [B, T_sync, Dy], patch_features [B, T_sem, P, Dp]).
    config.model.video.features = "pixels"
    # The pixel encoder's patch side and tubelet length (frames per token).
    config.model.video.patch_size = 8
    config.model.video.tubelet_frames = 3
    # Patch layout (rows, columns) of precomputed patch features.
    config.model.video.patch_grid = (4, 4)
    # Pixels across the frames the dataset stores (and precomputed features were computed on).
    config.model.video.frame_size = 64
    config.model.text = ml_collections.ConfigDict()
    # The caption condition (false drops it; a dataset without captions stores '', the no-caption condition).
    config.model.text.enabled = True
    # Caption words (others map to UNK) and the token count incl. BOS.
    config.model.text.vocabulary = CAPTION_VOCABULARY
    config.model.text.max_len = 16

    config.flow = ml_collections.ConfigDict()
    # Logit-normal training times.
    config.flow.t_mean = 0.0
    config.flow.t_std = 1.0
    # Condition dropout for classifier-free guidance.
    config.flow.video_dropout = 0.1
    config.flow.text_dropout = 0.1
    # Extra weight on the ears' difference: the loss is per-ear MSE summed + 2 x interaural_weight x MSE of
    # (left - right) / 2 (0 = the papers' loss).
    config.flow.interaural_weight = 0.0
    # Extra weight on the ITD: + 2 x itd_weight x MSE of the interaural part of the codec's measured delay channel
    # (the ITD over the channel's std; needs a codec with one; 0 = the papers' loss, where it weighs 2 / latent_dim).
    config.flow.itd_weight = 0.0
    # Validation loss per timestep bucket.
    config.flow.num_val_buckets = 4

    config.sampler = ml_collections.ConfigDict()
    # Sampling for summaries and evaluation (v2a_jax/generator/samplers.py): 'euler' | 'heun' | 'midpoint' | 'ab2'.
    config.sampler.method = "euler"
    config.sampler.num_steps = 25
    config.sampler.cfg_strength = 4.5
    # Time-grid shift towards the noise end (samplers.time_grid; 1 = uniform).
    config.sampler.shift = 1.0
    # Flow times [lo, hi) whose steps are guided (the rest use the conditional field; (0, 1): every step, MMAudio's).
    config.sampler.guidance_interval = (0.0, 1.0)

    config.summary = ml_collections.ConfigDict()
    # Validation clips rendered to TensorBoard (audio + binaural-cue image).
    config.summary.num_clips = 2

    config.update_from_flattened_dict({field: values[MODELS.index(name)] for field, values in BY_MODEL.items()})
    config.update_from_flattened_dict({field: values[SIZES.index(size)] for field, values in BY_SIZE.items()})
    return config

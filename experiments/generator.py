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

Fields beyond the trainer's (experiments/trainer_defaults.py documents those):
  data.data_dir, name, train_split, val_split: the TFDS dataset and splits; duration_s: crop length;
    sample_rate, video_fps, semantic_fps, latent_fps: stream rates (v2a_jax.pipeline.sequence.SequenceConfig,
    which must divide the crop exactly); num_workers: grain worker processes; mirror_prob: share of training
    examples reflected left/right (video flipped, ears swapped, azimuths negated: v2a_jax.pipeline.loader.mirror),
    so the side of the sound is learnt from the side of the picture rather than as a dataset bias (0 = off).
    localisation_targets: 'ground_truth' | 'audio' | 'auto': where the localisation supervision
    (model.video.localisation_weight, model.spatialisation.aux_weight) gets its targets; 'audio' reads the
    sounding side and screen column from the clip's own ITD (v2a_jax/pipeline/audio_targets.py), so it works on
    any binaural recording; 'auto' = 'ground_truth' where the dataset stores source positions, else 'audio'.
  codec.factory: "module:function" returning an AudioCodec, called with **codec.kwargs.
  model.layout: 'dual' | 'stereo' | 'mono'; branch_weights: 'shared' (one set + branch embedding) |
    'separate' (per ear); hidden, num_heads, joint_depth (N1), single_depth (N2), mlp_ratio, mlp_multiple_of
    (SwiGLU width rounding); aligned_rope: video RoPE positions aligned in time with audio; remat: recompute
    each scanned block's activations in the backward pass (on for small/large: memory for the papers' batch
    sizes; off for tiny, where memory is no concern); spacetime: ViSAudio module; spatialisation.enabled /
    hidden (heatmap net width) / aux_weight (ground-truth heatmap BCE weight).
  model.video.features: 'pixels' (trainable encoder) | 'precomputed' (batch carries clip_features [B, T_sem, Dc],
    sync_features [B, T_sync, Dy], patch_features [B, T_sem, P, Dp]); image_size, patch_size, tubelet_frames,
    width, depth, num_heads: the pixel encoder; patch_grid (rows, cols) and frame_size (pixels across the frames
    the features were computed on): the precomputed patch layout; localisation_weight: weight of a BCE between
    a linear per-patch read-out of the encoder's patch features and the benchmark's true sounding-source patches
    (0 = off; 0.1 for visaudio, 0 for the others; a dataset without ground truth, e.g. recordings, needs 0, and
    so does spatialisation.aux_weight: the task refuses otherwise): the from-scratch stand-in for ViSAudio's
    spatially tuned pretrained encoder. With the spacetime module on, the read-out's logits also bias its attention pooling
    (where each ear's branch looks); the generator's own loss stays the papers' flow loss.
  model.text.enabled (false drops the caption condition; a dataset without captions stores '', the no-caption
    condition); vocabulary (caption words; others map to UNK), max_len (tokens incl. BOS), width, depth,
    num_heads: the caption encoder.
  flow.t_mean, t_std: logit-normal training times; video_dropout, text_dropout: condition dropout for
    guidance; interaural_weight: extra weight on the ears' difference in the training loss (the loss is
    per-ear MSE summed + 2 x interaural_weight x MSE of (left - right) / 2; 0 = the papers' loss);
    num_val_buckets: validation loss per timestep bucket.
  sampler.method ('euler' | 'heun' | 'midpoint' | 'ab2'), num_steps, cfg_strength, shift (time grid, 1 = uniform):
    sampling for summaries and evaluation (v2a_jax/generator/samplers.py).
  summary.num_clips: validation clips rendered to TensorBoard (audio + binaural-cue image).
"""

import ml_collections

from data.binaural_synth import classes
from experiments.trainer_defaults import base_config

# Words of the binaural_synth captions ("Visible sound: a, b. Invisible sound: c."), for the caption tokeniser.
CAPTION_VOCABULARY = ("visible", "invisible", "sound", "none", ":", ",", ".", *classes.CLASS_NAMES)
MODELS = ("visaudio", "spatialv2a", "joint_stereo", "mono")
SIZES = ("tiny", "small", "large")


def _model_variant(model: ml_collections.ConfigDict, name: str) -> None:
    # ViSAudio reads a spatially tuned encoder's patch features; its stand-in here is the pixel encoder trained to
    # mark the sounding patches (localisation), whose logits also steer the spacetime module's pooling.
    settings = {
        "visaudio": dict(layout="dual", branch_weights="separate", spacetime=True, spatial=False, localisation=0.1),
        "spatialv2a": dict(layout="dual", branch_weights="separate", spacetime=False, spatial=True, localisation=0.0),
        "joint_stereo": dict(layout="stereo", branch_weights="shared", spacetime=False, spatial=False,
                             localisation=0.0),
        "mono": dict(layout="mono", branch_weights="shared", spacetime=False, spatial=False, localisation=0.0),
    }[name]
    model.layout = settings["layout"]
    model.branch_weights = settings["branch_weights"]
    model.spacetime = settings["spacetime"]
    model.spatialisation.enabled = settings["spatial"]
    model.video.localisation_weight = settings["localisation"]


def _size(config: ml_collections.ConfigDict, size: str) -> None:
    model, video, text, data, opt = config.model, config.model.video, config.model.text, config.data, config.optimizer
    if size == "tiny":
        model.hidden, model.num_heads, model.joint_depth, model.single_depth = 64, 2, 2, 2
        model.mlp_multiple_of = 32
        video.image_size, video.patch_size, video.width, video.depth, video.num_heads = 32, 8, 64, 1, 2
        text.width, text.depth, text.num_heads = 64, 1, 2
        model.spatialisation.hidden = 64
        data.name, data.duration_s, data.semantic_fps = "binaural_synth/small", 1.28, 6.25
        config.batch_size, config.num_train_steps = 16, 4000
        opt.learning_rate, opt.warmup_steps, opt.schedule = 5e-4, 200, "cosine"
        config.ema_decay = 0.999
        config.compute_dtype = "float32"
        config.eval_every_steps, config.checkpoint_every_steps, config.summary_every_steps = 500, 500, 1000
        return
    big = size == "large"
    model.hidden, model.num_heads = (896, 14) if big else (448, 7)
    model.joint_depth, model.single_depth = (7, 14) if big else (4, 8)
    model.mlp_multiple_of = 256
    model.remat = True
    video.image_size, video.patch_size = 64, 8
    video.width, video.depth, video.num_heads = (512, 6, 8) if big else (384, 4, 6)
    text.width, text.depth, text.num_heads = (512, 4, 8) if big else (256, 2, 4)
    model.spatialisation.hidden = 128
    data.name, data.duration_s, data.semantic_fps = "binaural_synth/default", 8.0, 8.0
    config.batch_size, config.num_train_steps = 64, 300_000
    opt.learning_rate, opt.warmup_steps, opt.schedule = 1e-4, 1000, "step"
    opt.decay_boundaries, opt.decay_factor = (240_000, 270_000), 0.1
    opt.b2, opt.weight_decay = 0.95, 1e-6
    config.ema_decay = 0.9995
    config.compute_dtype = "bfloat16"
    config.eval_every_steps, config.checkpoint_every_steps, config.summary_every_steps = 5000, 5000, 10_000


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "visaudio-tiny"
    name, _, size = variant.partition("-")
    if name not in MODELS or size not in SIZES:
        raise ValueError(f"experiments/generator.py: variant {variant!r} is not MODEL-SIZE with MODEL in {MODELS} "
                         f"and SIZE in {SIZES}")
    config = base_config("v2a_jax.generator.task:GeneratorTask")
    config.num_train_steps = 4000
    config.optimizer.learning_rate = 5e-4
    config.optimizer.warmup_steps = 200

    config.data = ml_collections.ConfigDict()
    config.data.data_dir = "runs/quickstart/data"
    config.data.name = "binaural_synth/small"
    config.data.train_split = "train"
    config.data.val_split = "validation"
    config.data.duration_s = 1.28
    config.data.sample_rate = 16000
    config.data.video_fps = 25.0
    config.data.semantic_fps = 6.25
    config.data.latent_fps = 31.25
    config.data.num_workers = 0
    config.data.mirror_prob = 0.5
    # Targets of every localisation supervision: 'ground_truth' (the benchmark's source positions), 'audio' (the
    # clip's own interaural cues, any binaural dataset) or 'auto' (ground truth where the dataset stores it).
    config.data.localisation_targets = "auto"

    config.codec = ml_collections.ConfigDict()
    config.codec.factory = "v2a_jax.autoencoder.codec:load_codec"
    config.codec.kwargs = ml_collections.ConfigDict({"workdir": "runs/ae_cpu"})

    config.model = ml_collections.ConfigDict()
    config.model.layout = "dual"
    config.model.branch_weights = "separate"
    config.model.hidden = 64
    config.model.num_heads = 2
    config.model.joint_depth = 2
    config.model.single_depth = 2
    config.model.mlp_ratio = 4.0
    config.model.mlp_multiple_of = 32
    config.model.aligned_rope = True
    config.model.remat = False
    config.model.spacetime = True
    config.model.spatialisation = ml_collections.ConfigDict({"enabled": False, "hidden": 64, "aux_weight": 0.0})
    config.model.video = ml_collections.ConfigDict()
    config.model.video.features = "pixels"
    config.model.video.image_size = 32
    config.model.video.patch_size = 8
    config.model.video.tubelet_frames = 3
    config.model.video.width = 64
    config.model.video.depth = 1
    config.model.video.num_heads = 2
    config.model.video.patch_grid = (4, 4)
    config.model.video.frame_size = 64
    config.model.video.localisation_weight = 0.0
    config.model.text = ml_collections.ConfigDict()
    config.model.text.enabled = True
    config.model.text.vocabulary = CAPTION_VOCABULARY
    config.model.text.max_len = 16
    config.model.text.width = 64
    config.model.text.depth = 1
    config.model.text.num_heads = 2

    config.flow = ml_collections.ConfigDict()
    config.flow.t_mean = 0.0
    config.flow.t_std = 1.0
    config.flow.video_dropout = 0.1
    config.flow.text_dropout = 0.1
    config.flow.interaural_weight = 0.0
    config.flow.num_val_buckets = 4

    config.sampler = ml_collections.ConfigDict()
    config.sampler.method = "euler"
    config.sampler.num_steps = 25
    config.sampler.cfg_strength = 4.5
    # Time-grid shift towards the noise end (samplers.time_grid; 1 = uniform).
    config.sampler.shift = 1.0

    config.summary = ml_collections.ConfigDict()
    config.summary.num_clips = 2

    _model_variant(config.model, name)
    _size(config, size)
    return config

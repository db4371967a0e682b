r"""Binaural audio autoencoder (v2a_jax/autoencoder): per-ear latents [B, 2, T, C] that keep interaural cues.

Run from the repo root (CPU, the `small` dataset built by the quickstart into runs/quickstart/data):
  python -m v2a_jax.main --config=experiments/autoencoder.py:cpu --workdir=runs/ae_cpu
  python -m v2a_jax.autoencoder.latent_stats --config=experiments/autoencoder.py:cpu --workdir=runs/ae_cpu
  python -m experiments.tools.evaluate_autoencoder --workdir=runs/ae_cpu --references   # held-out test metrics
Expected: the level difference kept within 1 dB and the per-frame ITD within about 50 us on held-out clips;
the measured rows (and the reference's plain GCC-PHAT figure, which this design cannot reach on reverberant
clips) are in experiments/RESULTS.md ("Binaural autoencoder").

Variants, `--config=experiments/autoencoder.py:VARIANT`:
  tiny     tests: 64K parameters, 0.32 s crops, seconds per run.
  cpu      (default) the CPU run: 2.6M parameters, batch 16 of 0.64 s crops, 3000 steps.
  mmaudio  MMAudio-sized: the latent layout of MMAudio's 16 kHz VAE (31.25 frames/s x 20 channels), widths
           512 (STFT rate) / 1024 (latent rate), 4 + 8 + 8 + 4 ConvNeXt blocks, 119M parameters; batch 64 of
           2.56 s crops of binaural_synth/default (8 s clips) for 300K steps, bfloat16 (accelerators).

Fields besides the trainer's (experiments/trainer_defaults.py documents those):
  model.*: v2a_jax.autoencoder.model.AutoencoderConfig (samples_per_latent 512 = 31.25 frames/s at 16 kHz,
    latent_dim 20, n_fft, stft_frames_per_latent, widths, block counts, mlp_ratio, kernel_size; interaural_delay
    (default on): the last latent channel is each ear's measured delay (v2a_jax/autoencoder/delay.py),
    max_delay_samples its search range).
  loss.resolutions: (n_fft, hop) pairs of the multi-resolution STFT loss; loss.log_floor its power floor
    (mean square; 1e-9 = -90 dBFS); loss.mrstft_weight weighs log-magnitude L1 + spectral convergence.
  loss.spectrum_weight: the same log-magnitude error between the decoder's own predicted STFT (before its
    iSTFT) and the target's (losses.py says why). Off by default: at 3,000 steps weight 1 lowered the LSD
    4.96 -> 4.75 dB, but at the main job's 800 steps the gain was 0.17 dB with STFT and ILD errors slightly up
    (experiments/RESULTS.md, "Binaural autoencoder"), and the main job's headline was not re-measured with it.
  loss.complex_resolutions, loss.complex_weight: compressed complex STFT loss (phase-sensitive).
  loss.interaural_n_fft/_hop: STFT of the interaural terms; loss.ipd_weight, .ipd_band_hz (low, high),
    .ipd_weight_power (bin weight = |L conj(R)|^power of the target); loss.ild_weight (per dB), .ild_num_bands.
  loss.kl_weight: KL of the posterior from N(0, I), per latent element.
  data.data_dir, data.name: the TFDS dataset (loader.open_split); data.sample_rate must match it;
    data.crop_s: training crop (multiple of 0.16 s for 25 fps video and 512-sample latents);
    data.val_crop_s: validation crop from each clip's start.
"""

import ml_collections

from experiments.trainer_defaults import base_config

VARIANTS = ("tiny", "cpu", "mmaudio")


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    variant = variant or "cpu"
    if variant not in VARIANTS:
        raise ValueError(f"experiments/autoencoder.py: variant {variant!r} is not one of {VARIANTS}")
    config = base_config("v2a_jax.autoencoder.task:AutoencoderTask")
    config.num_train_steps = 3000
    config.optimizer.warmup_steps = 100
    config.optimizer.b2 = 0.99
    config.ema_decay = 0.998
    config.eval_steps = 6

    config.data = ml_collections.ConfigDict()
    config.data.data_dir = "runs/quickstart/data"
    config.data.name = "binaural_synth/small"
    config.data.sample_rate = 16000
    config.data.crop_s = 0.64
    config.data.val_crop_s = 1.92

    config.model = ml_collections.ConfigDict()
    config.model.samples_per_latent = 512
    config.model.latent_dim = 20
    config.model.n_fft = 512
    config.model.stft_frames_per_latent = 4
    config.model.stft_dim = 128
    config.model.latent_rate_dim = 256
    config.model.encoder_stft_blocks = 2
    config.model.encoder_latent_blocks = 2
    config.model.decoder_latent_blocks = 2
    config.model.decoder_stft_blocks = 2
    config.model.mlp_ratio = 3
    config.model.kernel_size = 7
    config.model.interaural_delay = True
    config.model.max_delay_samples = 11.0

    config.loss = ml_collections.ConfigDict()
    config.loss.resolutions = ((256, 64), (512, 128), (1024, 256), (2048, 512))
    config.loss.log_floor = 1e-8
    config.loss.mrstft_weight = 1.0
    config.loss.spectrum_weight = 0.0
    config.loss.complex_resolutions = ((512, 128), (1024, 256))
    config.loss.complex_weight = 5.0
    config.loss.interaural_n_fft = 1024
    config.loss.interaural_hop = 256
    config.loss.ipd_weight = 1.0
    config.loss.ipd_band_hz = (50.0, 7200.0)
    config.loss.ipd_weight_power = 0.25
    config.loss.ild_weight = 0.05
    config.loss.ild_num_bands = 16
    config.loss.kl_weight = 1e-5

    if variant == "tiny":
        config.batch_size = 8
        config.num_train_steps = 20
        config.optimizer.warmup_steps = 2
        config.ema_decay = 0.9
        config.log_every_steps = 5
        config.eval_every_steps = 10
        config.eval_steps = 1
        config.summary_every_steps = 20
        config.checkpoint_every_steps = 10
        config.data.crop_s = 0.32
        config.data.val_crop_s = 0.32
        config.model.stft_dim = 16
        config.model.latent_rate_dim = 32
        for name in ("encoder_stft_blocks", "encoder_latent_blocks", "decoder_latent_blocks", "decoder_stft_blocks"):
            config.model[name] = 1
        config.model.mlp_ratio = 2
        config.model.kernel_size = 3
        config.loss.resolutions = ((256, 64), (512, 128))
        config.loss.complex_resolutions = ((512, 128),)
        config.loss.interaural_n_fft = 512
        config.loss.interaural_hop = 128
    elif variant == "mmaudio":
        config.batch_size = 64
        config.num_train_steps = 300_000
        config.optimizer.learning_rate = 3e-4
        config.optimizer.warmup_steps = 1000
        config.ema_decay = 0.9999
        config.compute_dtype = "bfloat16"
        config.log_every_steps = 100
        config.eval_every_steps = 5000
        config.summary_every_steps = 10_000
        config.checkpoint_every_steps = 5000
        config.data.data_dir = "runs/data"
        config.data.name = "binaural_synth/default"  # 8 s clips
        config.data.crop_s = 2.56
        config.data.val_crop_s = 7.68
        config.model.stft_dim = 512
        config.model.latent_rate_dim = 1024
        config.model.encoder_stft_blocks = 4
        config.model.encoder_latent_blocks = 8
        config.model.decoder_latent_blocks = 8
        config.model.decoder_stft_blocks = 4
    return config

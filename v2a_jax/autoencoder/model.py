"""The binaural autoencoder: a per-ear STFT-domain VAE with shared weights, an iSTFT (Vocos-style) decoder and a
measured delay channel per ear.

    waveform [B, 2, N] -> ITD per latent frame (spatial/itd.py: PHAT-beta cross-correlation) -> per-ear delay d_ear
      (left -ITD/2, right +ITD/2: each ear's arrival time relative to the head centre)
    each ear alone, shared weights: STFT (n_fft, hop h = samples_per_latent / K), advanced by d_ear
      -> features [B*2, N/h, 3F]: log magnitude and the power-law compressed real/imag parts (phase included)
      -> Dense + ConvNeXt at the STFT rate -> merge K frames -> ConvNeXt at the latent rate
      -> posterior mean / log-variance of C - 1 learned channels; channel C is d_ear (not sampled)
                                                                          -> latents [B, 2, T, C]
    latents [B, 2, T, C] --(each ear alone, shared weights)--> Dense + ConvNeXt at the latent rate (learned channels)
      -> phase prior per latent frame and bin: phase at the frame centre + advance per STFT hop
      -> split each frame into K STFT frames -> ConvNeXt at the STFT rate
      -> per bin: log magnitude m and a residual phase r; S = exp(m) e^{i (prior phase + r)}
      -> delayed by the ear's d_ear (a linear phase, interpolated between latent frames) -> iSTFT
      -> waveform [B, 2, N], clipped to [-1, 1]

Why this design (the measurements behind each point are in experiments/RESULTS.md, "Binaural autoencoder"):
- Interaural time differences are phase, and GCC-PHAT ITDs move with small per-ear phase errors. So the encoder
  sees the phase (compressed real/imag parts, not a mel spectrogram) at a hop of a quarter latent frame, and the
  decoder predicts phase explicitly (no Griffin-Lim, no pretrained vocoder). The delays to keep (|ITD| <= 0.66 ms
  = 10.5 samples) are far below one latent frame (512 samples), and learned channels alone lost them, hence the
  measured delay channel; the complex (phase-sensitive) loss and the interaural phase loss (losses.py) keep the
  two ears' decoded fine structure alike so that the delay is all that differs.
- Predicting a magnitude and a phase per bin and inverting with an iSTFT (Vocos, Siuzdenko et al. 2023) costs a
  few dense layers per STFT frame; a waveform decoder (HiFi-GAN/BigVGAN-style upsampling convs) would run its
  convolutions at 16 kHz, many times the cost on a CPU. The magnitude is exp of an unbounded prediction (started
  near -70 dB, below the loss floor), so silence (much of binaural_synth) is reachable.
- Phase prior: the K = 4 STFT frames of a latent frame overlap by 75 %, so unless their phases advance
  coherently (by 2 pi f hop / sr for a partial at f) they cancel in the overlap-add. The decoder therefore
  predicts, per latent frame and bin, one phase (at the frame centre) and one advance per hop (the bin-centre
  advance 2 pi b hop / n_fft plus a learnt deviation of up to +-2 bins, zero at initialisation), and the STFT-rate
  stack only adds a residual phase per frame (zero at initialisation): a stationary partial at a bin centre is
  coherent within a latent frame from the first step.
- Weights are shared between the ears and each ear is decoded alone, so a latent describes one ear's signal (its
  spectrum and its arrival time) and the generator's per-ear latents `[B, 2, T, C]` decode without the other
  ear. Only the delay channel is measured with both ears in view (delay.py says why). The STFT frame count is
  exactly K per latent frame (frames centred on samples 0, h, 2h, ...), so T latent frames decode to exactly
  T * samples_per_latent samples, for any T.

Params carry logical axis names ('channels' for the STFT feature and latent axes, 'embed', 'mlp',
'conv_kernel'), so the trainer shards them by its rules.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from v2a_jax.autoencoder import delay as delay_lib
from v2a_jax.autoencoder import stft as stft_lib
from v2a_jax.spatial import itd as itd_lib
from v2a_jax.train import run_config

LOG_MAGNITUDE_OFFSET = -8.0  # the decoder starts near -70 dBFS per bin, not at a full-scale noise (log|S| = 0)
MAX_LOG_MAGNITUDE = 6.0  # exp(6) ~ 400 bounds one bin (a full-scale sine gives n_fft / 4 = 128 at n_fft 512)
FEATURE_POWER = 0.3  # compression of the encoder's complex features: |S|^0.3 e^{i phase}
FEATURE_LOG_FLOOR = 1e-5  # log(|S| + floor) for the encoder's log-magnitude feature
DELAY_LOG_VAR = -30.0  # the delay channel's "posterior": std 3e-7, i.e. the measured value


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig:
    """Sizes of the autoencoder (`config.model` in experiments/autoencoder.py).

    Attributes:
      samples_per_latent: audio samples per latent frame (512 at 16 kHz = 31.25 frames/s).
      latent_dim: C, channels of one latent frame.
      n_fft: STFT size of the encoder input and the decoder output.
      stft_frames_per_latent: K; the STFT hop is samples_per_latent / K.
      stft_dim / latent_rate_dim: widths of the ConvNeXt stacks at the STFT rate and at the latent rate.
      encoder_stft_blocks / encoder_latent_blocks / decoder_latent_blocks / decoder_stft_blocks: ConvNeXt blocks.
      mlp_ratio: ConvNeXt hidden width / block width.
      kernel_size: depthwise convolution length (frames).
      interaural_delay: the last latent channel is each ear's measured delay (delay.py), not learned.
      max_delay_samples: range of the ITD search (11 samples = 0.69 ms at 16 kHz; the head gives <= 0.66 ms,
        and a wider search only admits spurious peaks).
      sample_rate: of the audio (from config.data, not config.model).
    """

    samples_per_latent: int = 512
    latent_dim: int = 20
    n_fft: int = 512
    stft_frames_per_latent: int = 4
    stft_dim: int = 128
    latent_rate_dim: int = 256
    encoder_stft_blocks: int = 2
    encoder_latent_blocks: int = 2
    decoder_latent_blocks: int = 2
    decoder_stft_blocks: int = 2
    mlp_ratio: int = 3
    kernel_size: int = 7
    interaural_delay: bool = False
    max_delay_samples: float = 11.0
    sample_rate: int = 16000

    def __post_init__(self):
        if self.samples_per_latent % self.stft_frames_per_latent:
            raise ValueError(
                f"AutoencoderConfig: stft_frames_per_latent={self.stft_frames_per_latent} must divide "
                f"samples_per_latent={self.samples_per_latent}"
            )
        if (self.n_fft // 2) % self.hop or self.n_fft % 2:
            raise ValueError(f"AutoencoderConfig: the hop {self.hop} must divide n_fft / 2 (n_fft={self.n_fft})")

    @property
    def hop(self) -> int:
        return self.samples_per_latent // self.stft_frames_per_latent

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def learned_dim(self) -> int:
        """Latent channels the encoder learns (all but the delay channel)."""
        return self.latent_dim - 1 if self.interaural_delay else self.latent_dim


def model_config(config: ml_collections.ConfigDict) -> AutoencoderConfig:
    """The AutoencoderConfig of a training config's `config.model` (run_config.parse_section: fields it lacks keep
    their defaults, unknown ones are refused)."""
    return run_config.parse_section(
        AutoencoderConfig, config.model, "config.model", sample_rate=config.data.sample_rate
    )


def _dense(features: int, names: tuple[str, str], dtype, name: str | None = None, zero: bool = False) -> nn.Dense:
    kernel_init = nn.initializers.zeros_init() if zero else nn.initializers.lecun_normal()
    return nn.Dense(
        features,
        dtype=dtype,
        name=name,
        kernel_init=nn.with_logical_partitioning(kernel_init, names),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), names[1:]),
    )


def _layer_norm(dtype, name: str | None = None) -> nn.LayerNorm:
    return nn.LayerNorm(
        dtype=dtype,
        name=name,
        scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), ("embed",)),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("embed",)),
    )


class ConvNeXtBlock(nn.Module):
    """1-D ConvNeXt block (as in Vocos): depthwise conv, LayerNorm, MLP, layer scale, residual. [B, T, D] -> same.

    The depthwise convolution ('SAME' zero padding) is written as a sum of `kernel_size` shifted, per-channel
    scaled copies: on CPU its gradient is much faster than XLA's grouped convolution (experiments/RESULTS.md).
    """

    mlp_ratio: int
    kernel_size: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim, length, k = x.shape[-1], x.shape[-2], self.kernel_size
        kernel = self.param(
            "depthwise_kernel",
            nn.with_logical_partitioning(
                nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal", in_axis=0, out_axis=1),
                ("conv_kernel", "embed"),
            ),
            (k, dim),
            jnp.float32,
        ).astype(self.dtype)
        bias = self.param(
            "depthwise_bias",
            nn.with_logical_partitioning(nn.initializers.zeros_init(), ("embed",)),
            (dim,),
            jnp.float32,
        ).astype(self.dtype)
        padded = jnp.pad(x.astype(self.dtype), [(0, 0)] * (x.ndim - 2) + [((k - 1) // 2, k // 2), (0, 0)])
        h = sum(padded[..., i : i + length, :] * kernel[i] for i in range(k)) + bias
        h = _layer_norm(self.dtype)(h)
        h = nn.gelu(_dense(self.mlp_ratio * dim, ("embed", "mlp"), self.dtype)(h))
        h = _dense(dim, ("mlp", "embed"), self.dtype)(h)
        scale = self.param(
            "layer_scale", nn.with_logical_partitioning(nn.initializers.constant(0.1), ("embed",)), (dim,), jnp.float32
        )
        return x + scale.astype(h.dtype) * h


def _stack(x: jax.Array, num_blocks: int, config: AutoencoderConfig, dtype, prefix: str) -> jax.Array:
    for i in range(num_blocks):
        x = ConvNeXtBlock(config.mlp_ratio, config.kernel_size, dtype, name=f"{prefix}_{i}")(x)
    return x


class Encoder(nn.Module):
    """One ear's waveform -> posterior (mean, log-variance) of its learned latent channels.

    `__call__`: waveform `[E, N]` (E ear-signals, N a multiple of samples_per_latent) and optionally the ear's
    delay channel `[E, T]` (delay.py; the encoder sees the ear advanced by it) -> two `[E, T, L]` float32,
    L = config.learned_dim.
    """

    config: AutoencoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, waveform: jax.Array, delay: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        cfg = self.config
        num_frames = waveform.shape[-1] // cfg.hop
        spec = stft_lib.stft(waveform, cfg.n_fft, cfg.hop, num_frames=num_frames)  # [E, T*K, F]
        if delay is not None:
            # Undo the ear's measured delay: both ears then show the head-centre signal's fine structure, so the
            # learned channels of a lateral source agree between the ears and the decoder's phase does too.
            spec = delay_lib.apply_delay(spec, -delay, cfg.samples_per_latent, cfg.hop, cfg.n_fft)
        magnitude = jnp.abs(spec)
        # |S|^p e^{i phase} = S |S|^(p - 1); silent bins (|S| = 0) stay 0 instead of 0 * inf.
        compressed = spec * jnp.where(magnitude > 0, magnitude, 1.0) ** (FEATURE_POWER - 1.0)
        features = jnp.concatenate([jnp.log(magnitude + FEATURE_LOG_FLOOR), compressed.real, compressed.imag], axis=-1)
        h = _dense(cfg.stft_dim, ("channels", "embed"), self.dtype, "stft_in")(features.astype(self.dtype))
        h = _stack(h, cfg.encoder_stft_blocks, cfg, self.dtype, "stft_block")
        h = _layer_norm(self.dtype, "merge_norm")(h)
        # K consecutive STFT frames become one latent frame (a strided, non-overlapping patch merge).
        h = h.reshape(h.shape[0], -1, cfg.stft_frames_per_latent * cfg.stft_dim)
        h = _dense(cfg.latent_rate_dim, ("embed", "mlp"), self.dtype, "merge")(h)
        h = _stack(h, cfg.encoder_latent_blocks, cfg, self.dtype, "latent_block")
        h = _layer_norm(self.dtype, "out_norm")(h)
        out = _dense(2 * cfg.learned_dim, ("embed", "channels"), self.dtype, "posterior")(h).astype(jnp.float32)
        mean, log_var = jnp.split(out, 2, axis=-1)
        return mean, jnp.clip(log_var, -30.0, 20.0)


class Decoder(nn.Module):
    """One ear's latents -> its waveform (the learned channels give the spectrum, the delay channel shifts it).

    `__call__`: latents `[E, T, C]` -> (waveform `[E, T * samples_per_latent]` float32 in [-1, 1],
    log magnitude `[E, T*K, F]` float32 of the predicted STFT, before the iSTFT).
    """

    config: AutoencoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, latents: jax.Array) -> tuple[jax.Array, jax.Array]:
        cfg = self.config
        k, bins = cfg.stft_frames_per_latent, cfg.num_bins
        learned = latents[..., : cfg.learned_dim]
        h = _dense(cfg.latent_rate_dim, ("channels", "embed"), self.dtype, "latent_in")(learned.astype(self.dtype))
        h = _stack(h, cfg.decoder_latent_blocks, cfg, self.dtype, "latent_block")
        h = _layer_norm(self.dtype, "split_norm")(h)
        # Phase prior, per latent frame and bin: the phase at the latent frame's centre and its advance per STFT
        # hop, the bin-centre advance 2 pi b hop / n_fft plus a deviation of up to +-pi (+-2 bins at hop n_fft/4).
        # A stationary partial then stays coherent across the K overlapping frames from the first step on.
        base = _dense(2 * bins, ("embed", "channels"), self.dtype, "phase_out")(h).astype(jnp.float32)
        base_x, base_y = jnp.split(base, 2, axis=-1)  # [E, T, F]
        # Zero-initialised: training starts from the bin-centre advance.
        deviation = _dense(bins, ("embed", "channels"), self.dtype, "advance_out", zero=True)(h).astype(jnp.float32)
        advance = 2.0 * np.pi * cfg.hop / cfg.n_fft * np.arange(bins) + np.pi * jnp.tanh(deviation)
        offsets = np.arange(k) - (k - 1) / 2.0  # STFT frames relative to the latent frame's centre
        angle = jnp.arctan2(base_y, base_x)[..., None, :] + offsets[:, None] * advance[..., None, :]
        angle = angle.reshape(angle.shape[0], -1, bins)  # [E, T*K, F]
        # One latent frame unfolds into its K STFT frames (the inverse of the encoder's patch merge).
        h = _dense(k * cfg.stft_dim, ("embed", "mlp"), self.dtype, "split")(h)
        h = h.reshape(h.shape[0], -1, cfg.stft_dim)
        h = _stack(h, cfg.decoder_stft_blocks, cfg, self.dtype, "stft_block")
        h = _layer_norm(self.dtype, "out_norm")(h)
        log_mag = _dense(bins, ("embed", "channels"), self.dtype, "magnitude_out")(h).astype(jnp.float32)
        log_mag = jnp.minimum(log_mag + LOG_MAGNITUDE_OFFSET, MAX_LOG_MAGNITUDE)
        # Per STFT frame, a residual phase (for what is not stationary within a latent frame: onsets, chirps);
        # zero-initialised, so that training starts from the prior.
        residual = _dense(bins, ("embed", "channels"), self.dtype, "phase_residual_out", zero=True)(h)
        residual = residual.astype(jnp.float32)
        spec = jnp.exp(log_mag) * jnp.exp(1j * (angle + residual))
        if cfg.interaural_delay:
            spec = delay_lib.apply_delay(
                spec, latents[..., -1].astype(jnp.float32), cfg.samples_per_latent, cfg.hop, cfg.n_fft
            )
        num_samples = latents.shape[-2] * cfg.samples_per_latent
        waveform = stft_lib.istft(spec, cfg.n_fft, cfg.hop, num_samples)
        return jnp.clip(waveform, -1.0, 1.0), log_mag


class BinauralAutoencoder(nn.Module):
    """Encoder and decoder applied to each ear with shared weights.

    Methods (select with `apply(..., method=...)`):
      encode: audio `[B, 2, N]` -> (mean, log_var), each `[B, 2, N // samples_per_latent, C]` float32 (with
        config.interaural_delay the last channel is the measured delay of delay.py, log_var DELAY_LOG_VAR).
      decode: latents `[B, 2, T, C]` -> waveform `[B, 2, T * samples_per_latent]` float32 in [-1, 1].
      __call__: (audio, rng or None) -> dict with mean, log_var, latents (a posterior sample, or the mean when
        rng is None), reconstruction `[B, 2, N]` and log_magnitude `[B, 2, N / hop, F]`.
    """

    config: AutoencoderConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.encoder = Encoder(self.config, self.dtype)
        self.decoder = Decoder(self.config, self.dtype)

    def _check_audio(self, audio: jax.Array) -> None:
        if audio.ndim != 3 or audio.shape[1] != 2 or audio.shape[2] % self.config.samples_per_latent:
            raise ValueError(
                f"BinauralAutoencoder: expected audio [B, 2, N] with N a multiple of "
                f"{self.config.samples_per_latent}, got shape {audio.shape}"
            )

    def encode(self, audio: jax.Array) -> tuple[jax.Array, jax.Array]:
        self._check_audio(audio)
        b, cfg = audio.shape[0], self.config
        delays = None
        if cfg.interaural_delay:
            itd = itd_lib.frame_itd(
                audio, cfg.samples_per_latent, cfg.max_delay_samples, cfg.sample_rate, n_fft=cfg.n_fft, hop=cfg.hop
            )
            delays = delay_lib.ear_delays(itd)  # [B, 2, T]
        mean, log_var = self.encoder(
            audio.reshape(b * 2, audio.shape[-1]), None if delays is None else delays.reshape(b * 2, -1)
        )
        mean, log_var = mean.reshape(b, 2, *mean.shape[1:]), log_var.reshape(b, 2, *log_var.shape[1:])
        if cfg.interaural_delay:
            mean = jnp.concatenate([mean, delays[..., None]], axis=-1)
            # Measured, not sampled: a log-variance at the clip floor makes the posterior sample the value itself.
            log_var = jnp.concatenate([log_var, jnp.full(mean.shape[:-1] + (1,), DELAY_LOG_VAR)], axis=-1)
        return mean, log_var

    def decode_with_spectrum(self, latents: jax.Array) -> tuple[jax.Array, jax.Array]:
        if latents.ndim != 4 or latents.shape[1] != 2 or latents.shape[3] != self.config.latent_dim:
            raise ValueError(
                f"BinauralAutoencoder: expected latents [B, 2, T, {self.config.latent_dim}], got shape {latents.shape}"
            )
        b = latents.shape[0]
        waveform, log_mag = self.decoder(latents.reshape(b * 2, *latents.shape[2:]))
        return waveform.reshape(b, 2, -1), log_mag.reshape(b, 2, *log_mag.shape[1:])

    def decode(self, latents: jax.Array) -> jax.Array:
        return self.decode_with_spectrum(latents)[0]

    def __call__(self, audio: jax.Array, rng: jax.Array | None = None) -> dict[str, jax.Array]:
        mean, log_var = self.encode(audio)
        latents = mean
        if rng is not None:
            latents = mean + jnp.exp(0.5 * log_var) * jax.random.normal(rng, mean.shape, mean.dtype)
        reconstruction, log_mag = self.decode_with_spectrum(latents)
        return {
            "mean": mean,
            "log_var": log_var,
            "latents": latents,
            "reconstruction": reconstruction,
            "log_magnitude": log_mag,
        }

"""The trainer task of the binaural autoencoder (v2a_jax.train.task.TaskWithSummaries).

Config fields it reads (experiments/autoencoder.py documents them): `config.model` (AutoencoderConfig fields),
`config.loss` (weights and STFT settings of losses.py), `config.data.{data_dir, name, sample_rate, crop_s,
val_crop_s}`, `config.compute_dtype`.

Batches: {"audio": [B, 2, N] float32 in [-1, 1]}, random `crop_s` crops of the 'train' split for training and
the first `val_crop_s` seconds of each 'validation' clip for validation (aligned starts, loader.py).
"""

from __future__ import annotations

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.experimental import multihost_utils
from matplotlib import colormaps

from v2a_jax.autoencoder import losses
from v2a_jax.autoencoder import stft as stft_lib
from v2a_jax.autoencoder.model import BinauralAutoencoder, model_config
from v2a_jax.input_pipeline import loader
from v2a_jax.input_pipeline.sequence import SequenceConfig
from v2a_jax.metrics import binaural as binaural_metrics
from v2a_jax.train.summaries import Audio

SPLITS = {"train": "train", "val": "validation"}
SPECTROGRAM_FLOOR_DB = -100.0  # dBFS (mean square per bin) at the bottom of the summary colour map


def sequence_config(duration_s: float, sample_rate: int, fps: float, samples_per_latent: int) -> SequenceConfig:
    """Lengths of an audio crop: the semantic rate is irrelevant to the autoencoder and is set to the video rate,
    so any multiple of lcm(1 / fps, samples_per_latent / sample_rate) is a valid duration."""
    return SequenceConfig(
        duration_s=duration_s,
        sample_rate=sample_rate,
        video_fps=fps,
        semantic_fps=fps,
        latent_fps=sample_rate / samples_per_latent,
    )


def log_spectrogram_db(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """`[N]` -> `[n_fft // 2 + 1, frames]` mean-square power per bin in dBFS (low frequencies first); numpy, as
    summaries are rendered on the host."""
    power = np.abs(binaural_metrics.stft(x, n_fft, hop, n_fft)) ** 2
    power = power / np.sum(stft_lib.hann_window(n_fft).astype(np.float64) ** 2)
    return 10.0 * np.log10(power + 1e-12)


class AutoencoderTask:
    """Implements v2a_jax.train.task.TaskWithSummaries for `BinauralAutoencoder`."""

    def __init__(self, config: ml_collections.ConfigDict):
        self.config = config
        self.model_config = model_config(config)
        self.model = BinauralAutoencoder(self.model_config, jnp.dtype(config.compute_dtype))
        # summaries() runs outside the trainer's jitted steps, and eager op-by-op apply is much slower.
        self._reconstruct = jax.jit(lambda params, audio: self.model.apply({"params": params}, audio)["reconstruction"])

    # ---- data

    def make_dataset(
        self, split: str, *, seed: int, shard_options: grain.sharding.ShardOptions, batch_size: int
    ) -> grain.IterDataset:
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: expected one of {sorted(SPLITS)}")
        data = self.config.data
        source, clip = loader.open_split(data.data_dir, data.name, SPLITS[split])
        if clip.sample_rate != data.sample_rate:
            raise ValueError(
                f"config.data.sample_rate={data.sample_rate}: the clips of {data.name} are at {clip.sample_rate} Hz"
            )
        train = split == "train"
        seq = sequence_config(
            data.crop_s if train else data.val_crop_s, clip.sample_rate, clip.fps, self.model_config.samples_per_latent
        )
        return loader.make_dataset(
            source,
            clip,
            seq,
            train=train,
            batch_size=batch_size,
            seed=seed,
            shard_options=shard_options,
            keys=("audio",),
        )

    # ---- model

    def init(self, rng, batch):
        return self.model.init(rng, batch["audio"])["params"]

    def _losses(self, out: dict, audio: jax.Array) -> dict[str, jax.Array]:
        cfg, sr = self.config.loss, self.config.data.sample_rate
        learned = self.model_config.learned_dim
        pred = out["reconstruction"].astype(jnp.float32)
        log_mag, spectral_convergence = losses.multi_resolution_stft_loss(pred, audio, cfg.resolutions, cfg.log_floor)
        return {
            "log_magnitude": log_mag,
            "spectral_convergence": spectral_convergence,
            "decoder_spectrum": losses.decoder_spectrum_loss(
                out["log_magnitude"], audio, self.model_config.n_fft, self.model_config.hop, cfg.log_floor
            ),
            "complex": losses.complex_stft_loss(pred, audio, cfg.complex_resolutions),
            "ipd": losses.interaural_phase_loss(
                pred,
                audio,
                n_fft=cfg.interaural_n_fft,
                hop=cfg.interaural_hop,
                sample_rate=sr,
                band_hz=tuple(cfg.ipd_band_hz),
                weight_power=cfg.ipd_weight_power,
            ),
            "ild_db": losses.interaural_level_loss(
                pred,
                audio,
                n_fft=cfg.interaural_n_fft,
                hop=cfg.interaural_hop,
                sample_rate=sr,
                num_bands=cfg.ild_num_bands,
            ),
            # The measured delay channel (model.py) is not a posterior: only the learned channels have a KL.
            "kl": losses.kl_divergence(out["mean"][..., :learned], out["log_var"][..., :learned]),
        }

    def _total(self, terms: dict[str, jax.Array]) -> jax.Array:
        w = self.config.loss
        return (
            w.mrstft_weight * (terms["log_magnitude"] + terms["spectral_convergence"])
            + w.spectrum_weight * terms["decoder_spectrum"]
            + w.complex_weight * terms["complex"]
            + w.ipd_weight * terms["ipd"]
            + w.ild_weight * terms["ild_db"]
            + w.kl_weight * terms["kl"]
        )

    def loss(self, params, batch, rng, step):
        del step
        audio = batch["audio"]
        out = self.model.apply({"params": params}, audio, rng)
        terms = self._losses(out, audio)
        terms["posterior_std"] = jnp.mean(jnp.exp(0.5 * out["log_var"][..., : self.model_config.learned_dim]))
        return self._total(terms), terms

    def eval_step(self, params, batch, rng):
        del rng  # validation decodes the posterior mean
        audio = batch["audio"]
        out = self.model.apply({"params": params}, audio)
        terms = self._losses(out, audio)
        pred = out["reconstruction"].astype(jnp.float32)
        terms["loss"] = self._total(terms)
        terms["waveform_snr_db"] = jnp.mean(
            10.0
            * jnp.log10((jnp.mean(audio**2, axis=(1, 2)) + 1e-4) / (jnp.mean((pred - audio) ** 2, axis=(1, 2)) + 1e-4))
        )
        return terms

    def summaries(self, params, batch, rng, step):
        del rng, step
        audio = batch["audio"]
        pred = self._reconstruct(params, audio)
        audio, pred = multihost_utils.process_allgather((audio, pred), tiled=True)
        audio, pred = np.asarray(audio[0], np.float32), np.asarray(pred[0], np.float32)
        # Rows (top to bottom): left input, left reconstruction, right input, right reconstruction.
        rows = [log_spectrogram_db(x) for x in (audio[0], pred[0], audio[1], pred[1])]
        image = np.concatenate([r[::-1] for r in rows], axis=0)
        image = np.clip((image - SPECTROGRAM_FLOOR_DB) / -SPECTROGRAM_FLOOR_DB, 0.0, 1.0)
        image = (255 * colormaps["magma"](image)[..., :3]).astype(np.uint8)
        sr = self.config.data.sample_rate
        return {
            "spectrograms": image,
            "input": Audio(np.clip(audio, -1, 1), sr),
            "reconstruction": Audio(np.clip(pred, -1, 1), sr),
        }

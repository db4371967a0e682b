r"""Held-out evaluation of a trained binaural autoencoder: interaural cues, reconstruction quality, speed.

    python -m experiments.tools.evaluate_autoencoder --workdir=runs/ae_cpu [--split=test]

Needs `workdir/latent_stats.json` (python -m v2a_jax.autoencoder.latent_stats --config=... --workdir=...).
Every clip of the split (binaural_synth/small: 100 two-second test clips) is zero-padded to a whole number of
latent frames, encoded, decoded and cut back to its length; metrics come from
v2a_jax.metrics.binaural.binaural_metrics (GCC-PHAT ITD over frames with energy in both signals, broadband ILD,
multi-resolution log-spectral distance, 2.5D-Visual-Sound STFT distance, ...), plus delta_itd_frame_us: the mean
|ITD_pred - ITD_gt| of v2a_jax.spatial.itd.frame_itd per 32 ms frame with energy in both (the reverberation-robust
estimator of the direction metric: plain GCC-PHAT per frame mostly measures the ears' independent reverberant
tails, which no codec of a few channels reproduces). Rows:
  per_ear       both ears decoded from their own latents (the autoencoder);
  left_latent   both ears decoded from the LEFT ear's latent (baseline: what a mono latent would give);
  left_input    the input's left ear copied to the right, no codec (reference for ITD = 0 / ILD = 0);
and, with --references, how sensitive the metrics are to small errors (no codec):
  noise_80db    the input plus independent white noise at -80 dBFS (RMS 1e-4) in each ear;
  phase_0.3rad  the input with each ear's STFT phase (n_fft 512, hop 128) perturbed independently by
                N(0, 0.3^2) rad, magnitudes kept;
  itd_only      the ceiling of the delay-channel design: both ears aligned by their frame_itd delays, averaged
                (one fine structure, as the shared-weight decoder gives) and delayed again: the measured ITD of
                every 32 ms frame kept exactly, the interaural incoherence of the reverberant tail lost;
and where the reconstruction's error lies, magnitude or phase (at the decoder's own STFT, n_fft / hop):
  decoder_magnitude_input_phase  the decoder's predicted magnitudes (before its iSTFT) with the input's phase;
  input_magnitude_codec_phase    the input's magnitudes with the phase of the reconstruction's STFT;
  input_magnitude_random_phase   the input's magnitudes with uniformly random phase (what no phase model gives).
Then encode/decode speed (codec.measure_speed, as experiments/benchmarks/autoencoder_speed.py) and the latent
size. Writes everything to `workdir/eval_<split>.json`.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from v2a_jax import cli
from v2a_jax.autoencoder import codec as codec_lib
from v2a_jax.autoencoder import delay as delay_lib
from v2a_jax.autoencoder import stft as stft_lib
from v2a_jax.input_pipeline import loader
from v2a_jax.metrics import binaural as bm
from v2a_jax.spatial import itd as itd_lib

SAMPLE_RATE = 16000
REPORTED = (
    "delta_ild_db",
    "delta_itd_us",
    "delta_itd_frame_us",
    "itd_valid_frames",
    "lsd_db",
    "stft",
    "delta_band_ild_db",
    "delta_iacc",
    "phs",
    "env",
    "snr_db",
)


def reconstruct(codec: codec_lib.AudioCodec, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-ear reconstruction, left-latent baseline), both `[B, 2, N]` like `audio`."""
    n = audio.shape[-1]
    pad = -n % codec.samples_per_latent
    latents = codec.encode(np.pad(audio, [(0, 0), (0, 0), (0, pad)]))
    per_ear = np.asarray(codec.decode(latents))[..., :n]
    left = np.asarray(codec.decode(latents[:, :1].repeat(2, axis=1)))[..., :n]
    return per_ear, left


def reference_rows(gt: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The --references rows of the module docstring for inputs `gt` [B, 2, N]."""
    rng = np.random.default_rng(seed)
    spec = stft_lib.stft(jnp.asarray(gt), 512, 128)
    noisy_phase = spec * jnp.exp(1j * 0.3 * rng.standard_normal(spec.shape).astype(np.float32))
    return {
        "noise_80db": gt + 1e-4 * rng.standard_normal(gt.shape).astype(np.float32),
        "phase_0.3rad": np.asarray(stft_lib.istft(noisy_phase, 512, 128, gt.shape[-1])),
        "itd_only": itd_only(gt),
    }


def spectrum_oracles(
    gt: np.ndarray, reconstruction: np.ndarray, log_magnitude: np.ndarray, n_fft: int, hop: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """The magnitude / phase rows of the module docstring.

    Args:
      gt, reconstruction: `[B, 2, N]`, N a multiple of hop.
      log_magnitude: `[B, 2, N // hop, n_fft // 2 + 1]` the decoder's natural-log |S|, frame t centred on t * hop.
    """
    n = gt.shape[-1]
    num_frames = n // hop
    target = stft_lib.stft(jnp.asarray(gt), n_fft, hop, num_frames=num_frames)
    codec = stft_lib.stft(jnp.asarray(reconstruction), n_fft, hop, num_frames=num_frames)

    def unit(spec):
        return spec / (jnp.abs(spec) + 1e-12)

    def inverse(spec):
        return np.asarray(stft_lib.istft(spec, n_fft, hop, n))

    random_phase = np.exp(2j * np.pi * np.random.default_rng(seed).random(target.shape)).astype(np.complex64)
    return {
        "decoder_magnitude_input_phase": inverse(jnp.exp(jnp.asarray(log_magnitude)) * unit(target)),
        "input_magnitude_codec_phase": inverse(jnp.abs(target) * unit(codec)),
        "input_magnitude_random_phase": inverse(jnp.abs(target) * random_phase),
    }


def itd_only(gt: np.ndarray, frame_len: int = 512, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """The itd_only reference row of the module docstring for `gt` [B, 2, N]."""
    b, _, n = gt.shape
    padded = jnp.asarray(np.pad(gt, [(0, 0), (0, 0), (0, -n % frame_len)]))
    num_stft = padded.shape[-1] // hop
    lag = itd_lib.frame_itd(padded, frame_len, itd_lib.HEAD_MAX_LAG_S * SAMPLE_RATE, SAMPLE_RATE)
    delays = delay_lib.ear_delays(lag).reshape(b * 2, -1)
    spec = stft_lib.stft(padded.reshape(b * 2, -1), n_fft, hop, num_frames=num_stft)
    aligned = delay_lib.apply_delay(spec, -delays, frame_len, hop, n_fft).reshape(b, 2, num_stft, -1)
    mid = jnp.repeat(aligned.mean(axis=1), 2, axis=0)  # [B * 2, K, F], ears of a clip adjacent
    out = stft_lib.istft(delay_lib.apply_delay(mid, delays, frame_len, hop, n_fft), n_fft, hop, n)
    return np.asarray(out).reshape(b, 2, n)


def delta_itd_frame_us(pred: np.ndarray, gt: np.ndarray, frame_len: int = 512) -> float:
    """Mean |frame_itd(pred) - frame_itd(gt)| in microseconds over frame_len frames with energy in both."""
    num_frames = gt.shape[-1] // frame_len
    est = [
        np.asarray(
            itd_lib.frame_itd(
                jnp.asarray(x), frame_len, itd_lib.HEAD_MAX_LAG_S * SAMPLE_RATE, SAMPLE_RATE, num_frames=num_frames
            )
        )
        for x in (pred, gt)
    ]
    valid = [bm.frame_validity(bm.frame(x[..., : num_frames * frame_len], frame_len, frame_len)) for x in (pred, gt)]
    both = valid[0] & valid[1]
    return float(1e6 * np.abs(est[0] - est[1])[both].mean() / SAMPLE_RATE)


def evaluate(
    codec: codec_lib.AudioCodec, data_dir: str, name: str, split: str, batch_size: int, references: bool = False
) -> dict:
    """{row: {metric: value}} over every clip of `split` (rows and metrics as in the module docstring)."""
    source, clip = loader.open_split(data_dir, name, split)
    if clip.sample_rate != SAMPLE_RATE:
        raise cli.ConfigError(
            f"{clip.path}: the stored clips are at {clip.sample_rate} Hz, the autoencoder configs use {SAMPLE_RATE}"
        )
    inputs, per_ear, left, oracles = [], [], [], []
    if references:
        model = codec.model  # the oracle rows need the decoder's own spectrum: an AutoencoderCodec
        forward = jax.jit(lambda params, audio: model.apply({"params": params}, audio))
    for start in range(0, len(source), batch_size):
        batch = np.stack([source[i]["audio"] for i in range(start, min(start + batch_size, len(source)))])
        audio = batch.astype(np.float32) * np.float32(clip.audio_scale)
        rec, base = reconstruct(codec, audio)
        inputs.append(audio)
        per_ear.append(rec)
        left.append(base)
        if references:
            n, cfg = audio.shape[-1], model.config
            padded = np.pad(audio, [(0, 0), (0, 0), (0, -n % cfg.samples_per_latent)])
            out = forward(codec.params, padded)
            rows = spectrum_oracles(padded, np.asarray(out["reconstruction"]), out["log_magnitude"], cfg.n_fft, cfg.hop)
            oracles.append({k: v[..., :n] for k, v in rows.items()})
    gt = np.concatenate(inputs)
    rows = {
        "per_ear": np.concatenate(per_ear),
        "left_latent": np.concatenate(left),
        "left_input": gt[:, :1].repeat(2, axis=1),
    }
    if references:
        rows.update(reference_rows(gt))
        rows.update({k: np.concatenate([o[k] for o in oracles]) for k in oracles[0]})
    result = {
        row: {**bm.binaural_metrics(pred, gt, clip.sample_rate), "delta_itd_frame_us": delta_itd_frame_us(pred, gt)}
        for row, pred in rows.items()
    }
    result["num_clips"] = int(gt.shape[0])
    result["clip_s"] = gt.shape[-1] / clip.sample_rate
    return result


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    opts = flags.FLAGS
    if opts.workdir is None:
        raise app.UsageError("--workdir is required")
    stats = codec_lib.read_latent_stats(opts.workdir)
    codec = codec_lib.load_codec(opts.workdir)
    data = stats["config"].data
    result = evaluate(codec, data.data_dir, data.name, opts.split, opts.batch_size, opts.references)
    result["step"] = stats["step"]
    print(
        f"{data.name} {opts.split}: {result['num_clips']} clips of {result['clip_s']:g} s, checkpoint step "
        f"{stats['step']}"
    )
    print(f"{'row':30s} " + " ".join(f"{k:>17s}" for k in REPORTED))
    for row in [r for r in result if isinstance(result[r], dict)]:
        print(f"{row:30s} " + " ".join(f"{result[row][k]:17.4f}" for k in REPORTED))
    if opts.speed:
        result["speed"] = codec_lib.measure_speed(codec, 2.048, 8, 5)
        print(
            f"{jax.devices()[0].platform}: encode {result['speed']['encode_x_realtime']:.1f} s/s, decode "
            f"{result['speed']['decode_x_realtime']:.1f} s/s (batch 8 x 2.048 s); latents "
            f"{result['speed']['latent_floats_per_s']:g} floats per second of binaural audio"
        )
    path = os.path.join(opts.workdir, f"eval_{opts.split}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    # Defined here, not at import: the tests import this module's functions next to other flag-defining modules.
    flags.DEFINE_string("workdir", None, "Trained autoencoder with exported latent statistics.")
    flags.DEFINE_string("split", "test", "Split of the codec's dataset to reconstruct.")
    flags.DEFINE_integer("batch_size", 10, "Clips per codec call.")
    flags.DEFINE_bool("speed", True, "Also time encode/decode.")
    flags.DEFINE_bool("references", False, "Also the metric-sensitivity reference rows.")
    cli.run(main)

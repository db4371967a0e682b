r"""How well candidate per-latent-frame ITD estimators of the autoencoder's delay channel find the true ITD.

    python -m experiments.tools.delay_estimators [--data_dir=runs/quickstart/data] [--split=validation] [--clips=100]

On `binaural_synth` clips (built by the quickstart, or `python -m data.binaural_synth.build`), for every latent
frame (32 ms) whose centre falls in a video frame with exactly one sounding source at least 5 degrees off the
median plane, compares the estimate of `v2a_jax.spatial.itd.frame_itd` (with the settings of each row) against
Woodworth's ITD of the source's true lateral angle: the share of frames with the right sign, and the correlation,
one row per setting of ROWS (results: experiments/RESULTS.md, "Spatial rendering and cue estimation").
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from absl import flags

from v2a_jax import cli
from v2a_jax.input_pipeline import loader
from v2a_jax.metrics import direction
from v2a_jax.spatial import geometry, itd

_DATA_DIR = flags.DEFINE_string("data_dir", "runs/quickstart/data", "TFDS data dir holding binaural_synth.")
_NAME = flags.DEFINE_string("dataset", "binaural_synth/small", "Dataset name.")
_SPLIT = flags.DEFINE_string("split", "validation", "Split to measure on.")
_CLIPS = flags.DEFINE_integer("clips", 100, "Clips to use.")

SAMPLES_PER_LATENT = 512
ROWS = (
    ("one frame, PHAT, lags +-16 samples (1 ms)", dict(max_lag=16.0, context=0, beta=1.0)),
    ("one frame, PHAT, lags +-0.69 ms (the head)", dict(context=0, beta=1.0)),
    ("+-2 frames, PHAT", dict(beta=1.0)),
    ("+-2 frames, PHAT-beta 0.7 (the default)", dict()),
)


def true_itd_samples(examples: list[dict], num_latent: int, fps: float, sample_rate: int):
    """(Woodworth ITD in samples [B, T_latent], mask of single-source frames >= 5 degrees off the median)."""
    azimuth, sounding, elevation = (
        np.stack([e[k] for e in examples]) for k in ("relative_azimuth_deg", "sounding", "elevation_deg")
    )
    video_frame = ((np.arange(num_latent) + 0.5) * SAMPLES_PER_LATENT * fps / sample_rate).astype(int)
    lateral, one_source = (x[:, video_frame] for x in direction.single_source_lateral_deg(azimuth, sounding, elevation))
    mask = one_source & (np.abs(lateral) >= direction.MIN_LATERAL_DEG)
    return np.sign(lateral) * geometry.woodworth_itd(np.abs(lateral)) * sample_rate, mask


def main(argv):
    del argv
    source, clip = loader.open_split(_DATA_DIR.value, _NAME.value, _SPLIT.value)
    examples = [source[i] for i in range(min(_CLIPS.value, len(source)))]
    audio = np.stack([e["audio"] for e in examples]).astype(np.float32) * np.float32(clip.audio_scale)
    num_latent = audio.shape[-1] // SAMPLES_PER_LATENT
    audio = jnp.asarray(audio[..., : num_latent * SAMPLES_PER_LATENT])
    truth, mask = true_itd_samples(examples, num_latent, clip.fps, clip.sample_rate)
    print(f"{mask.sum()} latent frames of {len(examples)} clips")
    print(f"{'row':44s} {'sign':>6s} {'corr':>6s}")
    for name, kwargs in ROWS:
        kwargs = {"max_lag": itd.HEAD_MAX_LAG_S * clip.sample_rate, **kwargs}
        est = np.asarray(itd.frame_itd(audio, SAMPLES_PER_LATENT, sample_rate=clip.sample_rate, **kwargs))[mask]
        sign = np.mean(np.sign(est) == np.sign(truth[mask]))
        print(f"{name:44s} {sign:6.2f} {np.corrcoef(est, truth[mask])[0, 1]:6.2f}")


if __name__ == "__main__":
    cli.run(main)

r"""Measured ITD of the binaural renderer against Woodworth's formula, azimuth -90..90 degrees in 5 degree steps.

    python -m experiments.tools.plot_itd_vs_azimuth --out=/tmp/itd_vs_azimuth.png [--sofa=PATH] [--sample_rate=16000]

Renders 1 s of white noise (elevation 0, 1 m) through the spherical-head HRTF, and through the SOFA file given
by --sofa, measures each ITD from the rendered output by a 16x-upsampled cross-correlation with parabolic peak
refinement, plots measured against Woodworth ITD (with the error in a second panel) and prints the largest
relative error over nonzero azimuths (the spherical head's: experiments/RESULTS.md, "Spatial rendering and cue
estimation"). A measured SOFA set differs from Woodworth by the listener's head size and shape (and, between
measured directions, by the interpolation).
"""

import matplotlib

matplotlib.use("Agg")  # file output only; no display on the servers

import matplotlib.pyplot as plt
import numpy as np
from absl import flags

from v2a_jax import cli
from v2a_jax.spatial import geometry, hrtf, renderer

_OUT = flags.DEFINE_string("out", "/tmp/itd_vs_azimuth.png", "PNG written here.")
_SOFA = flags.DEFINE_string("sofa", "", "Optional SimpleFreeFieldHRIR SOFA file to measure as well.")
_SAMPLE_RATE = flags.DEFINE_integer("sample_rate", 16000, "Rendering rate, Hz.")


def cross_correlation_itd(
    left: np.ndarray, right: np.ndarray, sample_rate: int, upsample: int = 16, max_lag_s: float = 1.5e-3
) -> float:
    """ITD in seconds (> 0 when left leads) from the peak of the upsampled cross-correlation of [N] signals."""
    n_fft = 2 * left.size
    cc = np.fft.irfft(np.fft.rfft(left, n_fft) * np.conj(np.fft.rfft(right, n_fft)), n_fft * upsample)
    m = int(max_lag_s * sample_rate * upsample)
    cc = np.concatenate([cc[-m:], cc[: m + 1]])
    k = int(np.argmax(cc))
    y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
    return -(k - m + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)) / (sample_rate * upsample)


def measure(head, azimuths: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Measured ITD (s) per azimuth (degrees, elevation 0): [A]."""
    itds = []
    for az in azimuths:
        y = renderer.render_moving_source(noise, az, 0.0, 1.0, head).astype(np.float64)
        itds.append(cross_correlation_itd(y[0], y[1], head.sample_rate))
    return np.array(itds)


def main(argv):
    del argv
    rate = _SAMPLE_RATE.value
    azimuths = np.arange(-90.0, 90.1, 5.0)
    noise = np.random.default_rng(0).standard_normal(rate)
    woodworth = geometry.woodworth_itd(azimuths)
    heads = {"spherical head": hrtf.make_hrtf("spherical", rate)}
    if _SOFA.value:
        heads[f"SOFA {_SOFA.value.rsplit('/', 1)[-1]}"] = hrtf.make_hrtf("sofa", rate, path=_SOFA.value)

    fig, (ax_itd, ax_err) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, height_ratios=(2, 1))
    ax_itd.plot(azimuths, woodworth * 1e6, "k-", lw=2, label="Woodworth (a = 8.75 cm)")
    nonzero = azimuths != 0
    for (name, head), marker in zip(heads.items(), "o^"):
        itd = measure(head, azimuths, noise)
        rel_err = (itd[nonzero] / woodworth[nonzero] - 1) * 100
        print(
            f"{name}: max |relative error| {np.abs(rel_err).max():.3f} % "
            f"(at {azimuths[nonzero][np.argmax(np.abs(rel_err))]:+.0f} deg), "
            f"max |error| {np.abs(itd - woodworth).max() * 1e6:.2f} us"
        )
        ax_itd.plot(azimuths, itd * 1e6, marker, ms=4, mfc="none", label=f"measured, {name}")
        ax_err.plot(azimuths[nonzero], rel_err, marker + "-", ms=4, mfc="none", label=name)
    ax_itd.set_ylabel("ITD (us), > 0: left ear leads")
    ax_itd.set_title(f"Broadband ITD, cross-correlation of rendered noise at {rate} Hz")
    ax_itd.legend()
    ax_itd.grid(alpha=0.3)
    ax_err.axhline(0, color="k", lw=1)
    ax_err.set_xlabel("azimuth (deg), +90 = left")
    ax_err.set_ylabel("error vs Woodworth (%)")
    ax_err.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(_OUT.value, dpi=120)
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    cli.run(main)

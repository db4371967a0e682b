r"""The two papers' ablations as one sweep: every run is experiments/generator.py:BASE plus flag overrides.

    python -m experiments.sweeps.generator_ablations --size=tiny              # prints one command per run
    python -m experiments.sweeps.generator_ablations --size=tiny --run        # trains them one after another
    python -m v2a_jax.evaluation.ablations --workdirs=$(python -m experiments.sweeps.generator_ablations \
        --size=tiny --workdirs)                                               # one table over the sweep
    # on your data, every run with the same settings, a subset of the runs:
    python -m experiments.sweeps.generator_ablations --size=tiny --run --runs=mono,visaudio \
        --set=data.data_dir=DIR --set=data.name=NAME --set=num_train_steps=2400 --set=seed=1

Runs (ViSAudio Table 3 / SpatialV2A Table 2 / MMAudio Table 5 analogues):
  mono             mono MMAudio copied to both ears (no direction at all: the floor)
  joint_stereo     both ears as one token stream, no spatial modules
  dual             dual-branch, separate per-ear branches, no spacetime, no spatialisation
  dual_shared      dual-branch with one set of branch weights + a branch embedding
  visaudio         dual-branch + conditional spacetime module (the ViSAudio model)
  spatialv2a       dual-branch + visual-guided spatialisation branch (the SpatialV2A model)
  spatialv2a_aux   SpatialV2A with the heatmap supervised (targets: data.localisation_targets, the
                   benchmark's true source positions by default; --set=data.localisation_targets=audio takes
                   them from each clip's own recording, as on any binaural dataset)
  visaudio_no_rope_align   ViSAudio with video RoPE positions not aligned with the audio (MMAudio's ablation)
  visaudio_no_mirror       ViSAudio trained without the left/right mirror augmentation (data.mirror_prob 0)
  visaudio_untuned_encoder ViSAudio whose video encoder is not trained to mark the sounding source
                           (model.video.localisation_weight 0: no spatially tuned encoder, so no saliency steers
                           the spacetime module; everything is learnt from the flow loss alone)
  visaudio_interaural      ViSAudio with the ears' difference weighted x10 in the flow loss (flow.interaural_weight 9)
  visaudio_itd             ViSAudio with the ITD weighted in the flow loss (flow.itd_weight 0.5: the codec's delay
                           channel, x10 its weight in the papers' loss; needs the autoencoder codec)
  spatialv2a_aux_itd       spatialv2a_aux with the same ITD weight
Guidance strength and sampling steps are evaluation settings, not training runs
(v2a_jax.evaluation.ablations --cfg_strengths / --num_steps).
Expected ordering of direction error (the papers' claims, to be checked here): mono > joint_stereo > dual >
visaudio, spatialv2a.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from absl import app, flags

_SIZE = flags.DEFINE_enum("size", "tiny", ["tiny", "small", "large"], "Model size of every run.")
_ROOT = flags.DEFINE_string("root", "runs/ablations", "Parent directory of the runs' workdirs.")
_RUN = flags.DEFINE_bool("run", False, "Train the runs one after another (skipping none: training resumes).")
_WORKDIRS = flags.DEFINE_bool("workdirs", False, "Print the runs' workdirs, comma-separated, and exit.")
_RUNS = flags.DEFINE_list("runs", [], "Names of the runs to take (default: every run of RUNS).")
_SET = flags.DEFINE_multi_string(
    "set", [], "KEY=VALUE config override added to every run (after the run's own), e.g. data.data_dir=DIR."
)

# name -> (base model of experiments/generator.py, config overrides)
RUNS: dict[str, tuple[str, dict[str, object]]] = {
    "mono": ("mono", {}),
    "joint_stereo": ("joint_stereo", {}),
    "dual": ("visaudio", {"model.spacetime": False}),
    "dual_shared": ("visaudio", {"model.spacetime": False, "model.branch_weights": "shared"}),
    "visaudio": ("visaudio", {}),
    "spatialv2a": ("spatialv2a", {}),
    "spatialv2a_aux": ("spatialv2a", {"model.spatialisation.aux_weight": 0.1}),
    "visaudio_no_rope_align": ("visaudio", {"model.aligned_rope": False}),
    "visaudio_no_mirror": ("visaudio", {"data.mirror_prob": 0.0}),
    "visaudio_untuned_encoder": ("visaudio", {"model.video.localisation_weight": 0.0}),
    "visaudio_interaural": ("visaudio", {"flow.interaural_weight": 9.0}),
    "visaudio_itd": ("visaudio", {"flow.itd_weight": 0.5}),
    "spatialv2a_aux_itd": ("spatialv2a", {"model.spatialisation.aux_weight": 0.1, "flow.itd_weight": 0.5}),
}


def sweep(
    size: str, root: str, names: Sequence[str] | None = None, common: Sequence[str] = ()
) -> list[tuple[str, str, list[str]]]:
    """(name, workdir, `python -m v2a_jax.main` argv) of the runs `names` (None: every run), each with the
    "key=value" overrides `common` after its own."""
    unknown = sorted(set(names or ()) - set(RUNS))
    if unknown:
        raise ValueError(f"--runs: unknown run(s) {', '.join(unknown)}; the runs are {', '.join(RUNS)}")
    bad = [item for item in common if "=" not in item]
    if bad:
        raise ValueError(f"--set: expected KEY=VALUE, got {bad[0]!r}")
    out = []
    for name, (base, overrides) in RUNS.items():
        if names and name not in names:
            continue
        workdir = f"{root}/{name}-{size}"
        argv = [
            sys.executable,
            "-m",
            "v2a_jax.main",
            f"--config=experiments/generator.py:{base}-{size}",
            f"--workdir={workdir}",
            *(f"--config.{k}={v}" for k, v in overrides.items()),
            *(f"--config.{item}" for item in common),
        ]
        out.append((name, workdir, argv))
    return out


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        runs = sweep(_SIZE.value, _ROOT.value, _RUNS.value, _SET.value)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    if _WORKDIRS.value:
        print(",".join(workdir for _, workdir, _ in runs))
        return
    for i, (name, _, argv) in enumerate(runs, 1):
        print(f"[{i}/{len(runs)}] {name}: {' '.join(argv[1:])}", flush=True)
        if _RUN.value:
            subprocess.run(argv, check=True)


if __name__ == "__main__":
    app.run(main)

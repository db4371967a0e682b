r"""Evaluates a trained generator checkpoint: generates for a dataset split and scores it against the truth and
the reference systems (v2a_jax/evaluation/evaluator.py lists the rows and metrics).

    python -m v2a_jax.evaluate --workdir=runs/gen_visaudio_tiny --split=test --out_dir=runs/eval_visaudio \
        [--step=latest|N] [--ema=true] [--sampler=euler|heun --num_steps=25 --cfg_strength=4.5] \
        [--guidance_interval=0,1] [--num_wavs=4] [--classifier_workdir=runs/classifier] [--seed=0]

The run's config is read from WORKDIR/config.json. Writes OUT_DIR/report.json, report.md, wav/, png/ and
cache/ (the generated batches: a rerun with the same flags skips them; other flags need another --out_dir).
--classifier_workdir adds the FD/KL/IS columns (embeddings of that classifier run). Prints progress (clips done,
seconds) and the table. Mistakes (a workdir that is not a generator run, a --split its dataset lacks, an
--out_dir that cannot be made, a cache of other settings) are one line and exit status 2, with nothing written.
"""

from __future__ import annotations

import dataclasses
import functools

from absl import app, flags
from etils import epath

from v2a_jax import cli
from v2a_jax.evaluation import cli_flags, evaluator


@dataclasses.dataclass(frozen=True)
class Flags:
    shared: cli_flags.SharedFlags
    workdir: flags.FlagHolder
    cfg_strength: flags.FlagHolder


@functools.cache
def define_flags() -> Flags:
    """Defines this CLI's flags (once; see cli_flags for why not at import)."""
    return Flags(
        cli_flags.define(),
        flags.DEFINE_string("workdir", None, "Generator run directory (config.json and checkpoints/)."),
        flags.DEFINE_float("cfg_strength", 4.5, "Classifier-free guidance strength."),
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    f = define_flags()
    if not f.workdir.value or not f.shared.out_dir.value:
        raise app.UsageError("--workdir and --out_dir are required")
    num_steps = cli_flags.parse_list("num_steps", f.shared.num_steps.value, int)
    if len(num_steps) != 1:
        raise app.UsageError(
            f"--num_steps={f.shared.num_steps.value}: one value (several: python -m v2a_jax.evaluation.ablations)"
        )
    cli_flags.check_run(f.workdir.value, f.shared.split.value)
    cli.check_output_dir(f.shared.out_dir.value, "out_dir")
    result = evaluator.evaluate_checkpoint(
        f.workdir.value,
        f.shared.out_dir.value,
        f.shared.settings(num_steps[0], f.cfg_strength.value),
        num_wavs=f.shared.num_wavs.value,
        embedding=f.shared.embedding(),
    )
    print((epath.Path(f.shared.out_dir.value) / "report.md").read_text())
    print(f"{result['num_clips']} clips in {result['seconds']:.1f} s")


if __name__ == "__main__":
    define_flags()
    cli.run(main)

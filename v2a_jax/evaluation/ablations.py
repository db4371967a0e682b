r"""Evaluates a list of generator runs, each under one or more sampler settings, into one table.

    python -m v2a_jax.evaluation.ablations --workdirs=runs/gen_visaudio,runs/gen_mono --out=runs/ablations.md \
        [--sweep=FILE] [--split=test] [--sampler=euler] [--num_steps=25,50] [--cfg_strengths=1.0,4.5] \
        [--guidance_interval=0,0.5] [--step=latest] [--ema=true] [--num_wavs=4] [--classifier_workdir=...] \
        [--out_dir=DIR] [--seed=0]

--sweep names a text file with one workdir per line (blank lines and '#' comments ignored), added after
--workdirs. Every (workdir, num_steps, cfg_strength) is one call of evaluation.evaluator.evaluate_checkpoint into
OUT_DIR/NN_<workdir name>/<sampler>_steps<N>_cfg<C>[_t<LO>-<HI>]/ (default OUT_DIR: the --out path without its
suffix; the _t part for a --guidance_interval other than 0,1), so each keeps its own full report and cache and a
rerun skips finished generation. The table has one row per (workdir, setting): the model's `generated` row, plus
the left/right agreement of the flipped video against the mirrored truth and against the mirrored recording (which
needs no ground truth), labelled from the run's config (layout, spacetime, spatialisation, aligned_rope). --out
gets the markdown table and the JSON of all rows next to it (same name, .json). Mistakes are one line and exit
status 2 (v2a_jax.cli); every run and output is checked before the first evaluation.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence

from absl import app, flags
from etils import epath

from v2a_jax import cli
from v2a_jax.classifier.embedding import AudioEmbedding
from v2a_jax.evaluation import cli_flags, evaluator, report, runner
from v2a_jax.generator import samplers

COLUMNS = report.COLUMNS + (
    ("flipped_left_right_agreement", "flipped L/R agree"),
    ("flipped_ref_left_right_agreement", "flipped L/R agree vs rec"),
)


def read_sweep(path: epath.PathLike) -> list[str]:
    """Workdirs listed in a sweep file (module docstring)."""
    path = epath.Path(path)
    if not path.exists():
        raise cli.NotFoundError(f"{path}: no such sweep file")
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def setting_name(settings: runner.Settings) -> str:
    sampler = settings.sampler
    name = f"{sampler.method}_steps{sampler.num_steps}_cfg{sampler.cfg_strength:g}"
    if sampler.guidance_interval != samplers.FULL_INTERVAL:
        name += "_t{:g}-{:g}".format(*sampler.guidance_interval)
    return name


def run_ablations(
    workdirs: Sequence[str],
    base: runner.Settings,
    num_steps: Sequence[int],
    cfg_strengths: Sequence[float],
    out_dir: epath.PathLike,
    *,
    num_wavs: int = 0,
    embedding: AudioEmbedding | None = None,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """One entry per (workdir, num_steps, cfg_strength): {"workdir", "label", "label_text", "setting",
    "settings", "step", "num_clips", "report_dir", "metrics"} with the generated row's metrics and the flipped
    row's flipped_left_right_agreement (absent without a flipped row or without ground truth) and
    flipped_ref_left_right_agreement (absent without a flipped row)."""
    entries = []
    for i, workdir in enumerate(workdirs):
        for steps in num_steps:
            for cfg in cfg_strengths:
                settings = dataclasses.replace(base, sampler=base.sampler.replace(num_steps=steps, cfg_strength=cfg))
                directory = epath.Path(out_dir) / f"{i:02d}_{epath.Path(workdir).name}" / setting_name(settings)
                result = evaluator.evaluate_checkpoint(
                    workdir, directory, settings, num_wavs=num_wavs, embedding=embedding, progress=progress
                )
                metrics = dict(result["rows"]["generated"])
                flipped = result["rows"].get("flipped", {})
                for key in ("left_right_agreement", "ref_left_right_agreement"):  # the first needs ground truth
                    if key in flipped:
                        metrics[f"flipped_{key}"] = flipped[key]
                entries.append(
                    {
                        "workdir": str(workdir),
                        "label": result["label"],
                        "label_text": result["label_text"],
                        "setting": setting_name(settings),
                        "settings": result["settings"],
                        "step": result["step"],
                        "num_clips": result["num_clips"],
                        "report_dir": os.fspath(directory),
                        "metrics": metrics,
                    }
                )
    return entries


def write_table(entries: Sequence[dict], out: epath.PathLike) -> None:
    """The markdown table to `out` and the entries as JSON to `out` with suffix .json."""
    out = epath.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = {
        f"{e['label_text']} ({epath.Path(e['workdir']).name} @ {e['step']}), {e['setting']}": e["metrics"]
        for e in entries
    }
    out.write_text(report.markdown_table(rows, first_header="run", columns=COLUMNS))
    report.write_json(out.with_suffix(".json"), {"entries": list(entries)})


@dataclasses.dataclass(frozen=True)
class Flags:
    shared: cli_flags.SharedFlags
    workdirs: flags.FlagHolder
    sweep: flags.FlagHolder
    out: flags.FlagHolder
    cfg_strengths: flags.FlagHolder


@functools.cache
def define_flags() -> Flags:
    """Defines this CLI's flags (once; see cli_flags for why not at import)."""
    return Flags(
        cli_flags.define(),
        flags.DEFINE_list("workdirs", [], "Generator run directories."),
        flags.DEFINE_string("sweep", None, "Text file with more workdirs, one per line."),
        flags.DEFINE_string("out", None, "Markdown table to write (and its .json sibling)."),
        flags.DEFINE_list("cfg_strengths", ["4.5"], "Guidance strengths."),
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    f = define_flags()
    if not f.out.value:
        raise app.UsageError("--out is required")
    num_steps = cli_flags.parse_list("num_steps", f.shared.num_steps.value, int)
    cfg_strengths = cli_flags.parse_list("cfg_strengths", f.cfg_strengths.value, float)
    workdirs = list(f.workdirs.value) + (read_sweep(f.sweep.value) if f.sweep.value else [])
    if not workdirs:
        raise app.UsageError("no runs: give --workdirs and/or --sweep")
    for workdir in workdirs:
        cli_flags.check_run(workdir, f.shared.split.value)
    out_dir = f.shared.out_dir.value or os.fspath(epath.Path(f.out.value).with_suffix(""))
    cli.check_output_dir(out_dir, "out_dir" if f.shared.out_dir.value else "out")
    cli.check_output_dir(os.path.dirname(os.path.abspath(f.out.value)), "out")
    # num_steps and cfg_strength of the base settings are replaced per evaluation.
    entries = run_ablations(
        workdirs,
        f.shared.settings(num_steps[0], cfg_strengths[0]),
        num_steps,
        cfg_strengths,
        out_dir,
        num_wavs=f.shared.num_wavs.value,
        embedding=f.shared.embedding(),
    )
    write_table(entries, f.out.value)
    print(epath.Path(f.out.value).read_text())


if __name__ == "__main__":
    define_flags()
    cli.run(main)

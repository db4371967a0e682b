"""Command-line flags shared by `python -m v2a_jax.evaluate` and `python -m v2a_jax.evaluation.ablations`.

Flags are defined when a CLI starts (`define()`, idempotent), not when a module is imported: absl refuses a flag
name defined by two modules, and other modules of the project (e.g. experiments/sweeps/generator_ablations.py's
boolean --workdirs) are imported next to these ones in one test process.
"""

from __future__ import annotations

import dataclasses
import functools

from absl import app, flags

from v2a_jax import cli
from v2a_jax.classifier.embedding import ClassifierEmbedding
from v2a_jax.evaluation import runner
from v2a_jax.generator import samplers
from v2a_jax.input_pipeline import loader
from v2a_jax.train import run_config


@dataclasses.dataclass(frozen=True)
class SharedFlags:
    split: flags.FlagHolder
    step: flags.FlagHolder
    ema: flags.FlagHolder
    sampler: flags.FlagHolder
    num_steps: flags.FlagHolder
    shift: flags.FlagHolder
    guidance_interval: flags.FlagHolder
    seed: flags.FlagHolder
    max_clips: flags.FlagHolder
    num_wavs: flags.FlagHolder
    out_dir: flags.FlagHolder
    classifier_workdir: flags.FlagHolder

    def settings(self, num_steps: int, cfg_strength: float) -> runner.Settings:
        """The Settings these flags give, with the sampler steps and guidance strength of one evaluation."""
        try:
            interval = samplers.parse_guidance_interval(self.guidance_interval.value)
        except ValueError as e:
            raise cli.UserError(f"--guidance_interval={','.join(self.guidance_interval.value)}: {e}") from None
        sampler = samplers.Sampler(
            method=self.sampler.value,
            num_steps=num_steps,
            cfg_strength=cfg_strength,
            shift=self.shift.value,
            guidance_interval=interval,
        )
        return runner.Settings(
            split=self.split.value,
            step=parse_step(self.step.value),
            ema=self.ema.value,
            sampler=sampler,
            seed=self.seed.value,
            max_clips=self.max_clips.value,
        )

    def embedding(self) -> ClassifierEmbedding | None:
        """The --classifier_workdir run as an audio embedding (None without the flag). Raises FileNotFoundError
        naming a missing config or checkpoint."""
        path = self.classifier_workdir.value
        return ClassifierEmbedding.from_workdir(path) if path else None


@functools.cache
def define() -> SharedFlags:
    return SharedFlags(
        split=flags.DEFINE_string("split", "test", "Dataset split ('train', 'validation', 'test')."),
        step=flags.DEFINE_string("step", "latest", "Checkpoint step to evaluate, or 'latest'."),
        ema=flags.DEFINE_bool("ema", True, "Evaluate the EMA params (else the raw params)."),
        sampler=flags.DEFINE_enum("sampler", "euler", list(samplers.METHODS), "ODE sampler."),
        num_steps=flags.DEFINE_list("num_steps", ["25"], "Sampler steps (the ablation runner takes a list)."),
        shift=flags.DEFINE_float("sampler_shift", 1.0, "Sampler time-grid shift towards the noise end (1: uniform)."),
        guidance_interval=flags.DEFINE_list(
            "guidance_interval", ["0", "1"], "Flow times LO,HI whose sampler steps are guided (0,1: every step)."
        ),
        seed=flags.DEFINE_integer("seed", 0, "Seed of the generation noise and the random-direction baseline."),
        max_clips=flags.DEFINE_integer("max_clips", 0, "Evaluate only the split's first N clips (0: all)."),
        num_wavs=flags.DEFINE_integer("num_wavs", 4, "Clips written as WAV and PNG per evaluation."),
        out_dir=flags.DEFINE_string("out_dir", None, "Directory for the report, audio, plots and generation cache."),
        classifier_workdir=flags.DEFINE_string(
            "classifier_workdir", None, "Classifier run whose embeddings give FD/KL/IS."
        ),
    )


def check_run(workdir: str, split: str) -> None:
    """Raises UserError when the run config in `workdir` cannot be read or its dataset has no split `split`,
    before anything is loaded or written (the model and its checkpoint are checked when they are loaded)."""
    data = run_config.load(workdir).get("data") or {}
    if "data_dir" in data and "name" in data:
        try:
            loader.open_split(data.data_dir, data.name, split)
        except cli.ConfigError as e:
            raise cli.ConfigError(f"--split={split}: {e}") from e


def parse_step(value: str) -> int | None:
    """'latest' -> None, 'N' -> N; anything else is a UsageError."""
    if value == "latest":
        return None
    if not value.isdigit():
        raise app.UsageError(f"--step={value!r}: expected 'latest' or a step number")
    return int(value)


def parse_list(name: str, values: list[str], kind: type) -> list:
    """A non-empty list flag's values as `kind` (int or float), else a UsageError naming the flag."""
    try:
        parsed = [kind(v) for v in values]
    except ValueError:
        parsed = []
    if not parsed:
        raise app.UsageError(f"--{name}={','.join(values)}: expected one or more {kind.__name__} values")
    return parsed

"""The command line every recorded-video builder shares (`python -m data.<builder>.build ...`).

    --input_dir=DIR --data_dir=DIR --config=NAME [--num_workers=N] [--overwrite]
    [--set FIELD=VALUE ... --name=NEW_NAME] [--runner=DirectRunner|DataflowRunner|FlinkRunner|SparkRunner ...]

Flags this parser does not know are handed to Apache Beam as pipeline options (checked against Beam's own list,
so a typo is refused rather than dropped). A bad flag, folder or config value is one line on stderr and exit
status 2; a build that fails is one line and status 1. An already built version is never replaced without
--overwrite. Progress is one line per source file (from whichever worker handled it); at the end the splits'
sizes and the skip manifest are summarised.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import sys
import time
from collections.abc import Sequence

import tensorflow_datasets as tfds
from etils import epath

from data.video_folder import beam as beam_lib


class UsageError(ValueError):
    """A bad flag or flag value; the message is the one line shown to the user."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage block and exit; one line is the project's rule
        raise UsageError(message)


def _parser(prog: str, config_names: Sequence[str]) -> _Parser:
    p = _Parser(
        prog=prog, allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--input_dir", required=True, help="folder of source videos (the layout the config names)")
    p.add_argument("--data_dir", required=True, help="TFDS data directory to build into")
    p.add_argument(
        "--config",
        required=True,
        choices=list(config_names),
        metavar="NAME",
        help=f"builder config: {', '.join(config_names)}",
    )
    p.add_argument("--num_workers", type=int, default=2, help="DirectRunner worker processes")
    p.add_argument(
        "--runner",
        default="DirectRunner",
        choices=beam_lib.RUNNERS,
        metavar="RUNNER",
        help=f"Apache Beam runner: {', '.join(beam_lib.RUNNERS)}",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing built version")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (needs --name: a changed config is a different dataset)",
    )
    p.add_argument("--name", default="", help="config name for a config changed with --set")
    return p


def _parse_value(text: str, like):
    if isinstance(like, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() in ("true", "1")
    if isinstance(like, tuple):
        return tuple(type(like[0])(v) if like else v for v in text.split(",")) if text else ()
    return type(like)(text)


def override(config, assignments: Sequence[str], name: str):
    """`config` (a dataclass) with FIELD=VALUE `assignments` applied (values parsed as the field's current type)
    and renamed `name`. Raises UsageError naming the bad assignment."""
    if not assignments:
        return config
    if not name:
        raise UsageError("--set changes the config: also give it a new --name (it is built as a separate dataset)")
    fields = {f.name for f in dataclasses.fields(config)} - {
        "name",
        "version",
        "release_notes",
        "supported_versions",
        "description",
        "tags",
    }
    changes = {}
    for item in assignments:
        field, sep, text = item.partition("=")
        if not sep or field not in fields:
            raise UsageError(f"--set {item}: not FIELD=VALUE with FIELD one of {', '.join(sorted(fields))}")
        try:
            changes[field] = _parse_value(text, getattr(config, field))
        except ValueError as e:
            raise UsageError(f"--set {item}: {e}") from None
    changed = ", ".join(f"{k}={v}" for k, v in changes.items())
    return dataclasses.replace(
        config, name=name, description=f"{config.description or config.name} Changed: {changed}.", **changes
    )


def main(builder_cls, configs: Sequence, argv: Sequence[str], prog: str) -> int:
    """Runs the command line for `builder_cls` with its named `configs` (TFDS BuilderConfigs that may define
    `check()`, raising ValueError for an inconsistent config). Returns the exit status."""
    try:
        args, extra = _parser(prog, [c.name for c in configs]).parse_known_args(argv)
        if not os.path.isdir(args.input_dir):
            raise UsageError(f"--input_dir={args.input_dir}: no such directory")
        if os.path.exists(args.data_dir) and not os.path.isdir(args.data_dir):
            raise UsageError(f"--data_dir={args.data_dir}: exists and is not a directory")
        config = override(next(c for c in configs if c.name == args.config), args.set, args.name)
        if hasattr(config, "check"):
            try:
                config.check()
            except ValueError as e:
                raise UsageError(f"--config={config.name}: {e}") from None
        try:
            options = beam_lib.pipeline_options(args.runner, args.num_workers, extra)
        except ValueError as e:
            raise UsageError(str(e)) from None
    except UsageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    builder = builder_cls(config=config, data_dir=args.data_dir)
    try:
        builder.check_input(args.input_dir)
    except ValueError as e:
        print(f"{prog}: --input_dir={args.input_dir}: {e}", file=sys.stderr)
        return 2
    if builder.is_prepared() and not args.overwrite:
        print(
            f"{prog}: {builder.info.full_name} is already built at {builder.data_dir}; pass --overwrite to rebuild it"
        )
        return 0
    if args.runner == "DirectRunner":
        # The local runner logs a failing worker's whole traceback before raising; the one line below says it.
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    print(
        f"{prog}: building {builder.info.full_name} from {args.input_dir} ({args.runner}, {args.num_workers} workers)",
        file=sys.stderr,
    )
    start = time.perf_counter()
    try:
        builder = prepare(builder, args.input_dir, options, overwrite=args.overwrite)
    except Exception as e:  # noqa: BLE001 -- the user gets one line; nothing already built was touched
        print(f"{prog}: build failed: {_failure(e)}", file=sys.stderr)
        return 1
    print(summary(builder, time.perf_counter() - start))
    return 0


def _failure(e: Exception) -> str:
    # Beam wraps a worker's error in its traceback text: the last line is the error itself.
    last = next((line for line in reversed(str(e).splitlines()) if line.strip()), type(e).__name__).strip()
    empty = re.search(r"generated examples is 0 for split (\w+)", last)
    if empty:
        return f"split {empty.group(1)!r} has no usable clips: every one of its files was skipped (reasons above)"
    return last


def prepare(builder, input_dir: str, options, overwrite: bool = False):
    """Builds `builder` from the folder `input_dir` as ArrayRecord with Beam `options`
    (`beam.pipeline_options(...)`) and returns the prepared builder. An existing version is kept unless
    `overwrite`, which deletes it first (as TFDS's own overwrite does) and builds afresh."""
    if builder.is_prepared():
        if not overwrite:
            return builder
        # A builder opened on a prepared version carries that version's info: start from a fresh one.
        epath.Path(builder.data_dir).rmtree()
        builder = type(builder)(config=builder.builder_config, data_dir=os.fspath(builder.data_dir_root))
    builder.download_and_prepare(
        file_format="array_record",
        download_config=tfds.download.DownloadConfig(manual_dir=input_dir, beam_options=options),
    )
    return builder


def summary(builder, seconds: float | None = None) -> str:
    """Splits, sizes and the skip manifest of a prepared builder."""
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    splits = ", ".join(f"{k} {v.num_examples}" for k, v in builder.info.splits.items())
    records = beam_lib.read_manifest(os.path.join(os.fspath(builder.data_dir), beam_lib.MANIFEST))
    return f"built {builder.info.full_name} at {builder.data_dir}{took}: {splits} examples\n" + beam_lib.summarize(
        records
    )

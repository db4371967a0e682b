"""The Apache Beam side of the recorded-video builders: one pipeline stage that turns source files into examples
(or skip records), the skip manifest, and the pipeline options for the DirectRunner or a cluster runner.

  pipeline_options(runner, num_workers, extra_flags) -> beam PipelineOptions (DirectRunner: N worker processes).
  examples_and_skips(pipeline, label, sources, make_examples) -> (PCollection[(key, example)], PCollection[skip]).
  write_manifest(pipeline, skipped, listed, path): every skip record, as JSON lines sorted by file, at `path`.
  read_manifest(path) / summarize(records): read it back / a short human summary.

A builder's `_split_generators(self, dl_manager, pipeline)` receives TFDS's pipeline, calls `examples_and_skips`
once per split and returns the example PCollections; TFDS writes them as ArrayRecord shards. Each file is
handled by one worker from start to end and its examples depend on nothing else, and TFDS orders examples by a
hash of their key, so any runner and any number of workers write the same dataset.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence

import apache_beam as beam
from apache_beam.options import pipeline_options as beam_options
from etils import epath

from data.video_folder.clips import BadFile, SourceFile

SKIPPED = "skipped"
RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner", "PortableRunner", "PrismRunner")
MANIFEST = "skipped.jsonl"


def _beam_option_names() -> set[str]:
    return set(beam_options.PipelineOptions([]).get_all_options(retain_unknown_options=False))


def check_pipeline_flags(flags: Sequence[str]) -> None:
    """Raises ValueError naming the first of `flags` ('--name=value' or '--name value') that is not an Apache
    Beam pipeline option (a typo would otherwise be dropped with a warning)."""
    known = _beam_option_names()
    for flag in flags:
        if not flag.startswith("--"):
            continue
        name = flag[2:].split("=", 1)[0].replace("-", "_")
        if name not in known:
            raise ValueError(
                f"unknown flag --{flag[2:].split('=', 1)[0]} (neither a build flag nor an Apache Beam pipeline option)"
            )


def _export_import_path() -> None:
    # DirectRunner workers are fresh `python -m ...sdk_worker_main` processes: they must import this package to
    # unpickle the builder's functions, whatever the current directory.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *filter(None, paths)])


def pipeline_options(
    runner: str = "DirectRunner", num_workers: int = 2, extra_flags: Sequence[str] = ()
) -> beam_options.PipelineOptions:
    """Options for `runner`. DirectRunner: `num_workers` processes (`direct_running_mode='multi_processing'`;
    one worker runs in this process). DataflowRunner: `num_workers` is Dataflow's initial worker count. Other
    runners take their own options in `extra_flags` (e.g. Dataflow's --project, --region, --temp_location;
    Flink's --flink_master, --parallelism; Spark's --spark_master_url); a cluster runner must also be able to
    import this repository on its workers (--setup_file or a container image)."""
    if runner not in RUNNERS:
        raise ValueError(f"--runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    if num_workers < 1:
        raise ValueError(f"--num_workers must be >= 1, got {num_workers}")
    check_pipeline_flags(extra_flags)
    flags = [f"--runner={runner}"]
    if runner == "DirectRunner":
        mode = "multi_processing" if num_workers > 1 else "in_memory"
        # Quiet worker logs (start-up chatter, a failing bundle's logged traceback): the build reports errors.
        flags += [
            f"--direct_num_workers={num_workers}",
            f"--direct_running_mode={mode}",
            "--default_sdk_harness_log_level=CRITICAL",
        ]
        _export_import_path()
    elif runner == "DataflowRunner":
        flags.append(f"--num_workers={num_workers}")
    return beam_options.PipelineOptions(flags + list(extra_flags))


class _ProcessFile(beam.DoFn):
    """(index, SourceFile) -> its (key, example) pairs, or one skip record {file, reason} on the SKIPPED output."""

    def __init__(self, make_examples: Callable[[SourceFile], list[tuple[str, dict]]], total: int, label: str):
        self._make_examples, self._total, self._label = make_examples, total, label

    def process(self, element):
        index, source = element
        try:
            examples = self._make_examples(source)
        except BadFile as e:
            reason = str(e)
        except Exception as e:  # noqa: BLE001 -- one bad file must never abort a build of thousands
            reason = f"unexpected {type(e).__name__}: {' '.join(str(e).split())}"
        else:
            print(
                f"[{self._label} {index + 1}/{self._total}] {source.key}: {len(examples)} clips",
                file=sys.stderr,
                flush=True,
            )
            yield from examples
            return
        print(f"[{self._label} {index + 1}/{self._total}] {source.key}: skipped, {reason}", file=sys.stderr, flush=True)
        yield beam.pvalue.TaggedOutput(SKIPPED, {"file": source.video, "reason": reason})


def examples_and_skips(
    pipeline: beam.Pipeline,
    label: str,
    sources: Sequence[SourceFile],
    make_examples: Callable[[SourceFile], list[tuple[str, dict]]],
):
    """The stage of one split: `make_examples(source)` (picklable; raises BadFile for a bad file) runs once per
    source on whichever worker gets it. Returns (examples, skipped) PCollections."""
    results = (
        pipeline
        | f"{label}/ListFiles" >> beam.Create(list(enumerate(sources)))
        | f"{label}/Spread" >> beam.Reshuffle()  # one file per work item, spread over the workers
        | f"{label}/Decode"
        >> beam.ParDo(_ProcessFile(make_examples, len(sources), label)).with_outputs(SKIPPED, main="examples")
    )
    return results.examples, results[SKIPPED]


def _write_jsonl(records: list[dict], path: str) -> None:
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in sorted(records, key=lambda r: r["file"]))
    epath.Path(path).write_text(text)


def write_manifest(pipeline: beam.Pipeline, skipped: Iterable, listed: Sequence[dict], path: str) -> None:
    """Writes every skip record of `skipped` (PCollections) plus `listed` (records known before decoding, e.g. a
    split file naming a clip that is not there) to `path` as JSON lines {"file", "reason"}, sorted by file; an
    empty file when nothing was skipped."""
    pcolls = [*skipped, pipeline | "Manifest/Listed" >> beam.Create(list(listed))]
    _ = (
        pcolls
        | "Manifest/All" >> beam.Flatten()
        | "Manifest/Collect" >> beam.combiners.ToList()
        | "Manifest/Write" >> beam.Map(_write_jsonl, path=path)
    )


def read_manifest(path: str | os.PathLike) -> list[dict]:
    """The records `write_manifest` wrote at `path`."""
    return [json.loads(line) for line in epath.Path(path).read_text().splitlines() if line.strip()]


def summarize(records: Sequence[dict], limit: int = 20) -> str:
    """'N files skipped' and, for the first `limit`, 'file: reason' lines."""
    if not records:
        return "no files skipped"
    lines = [f"{len(records)} file(s) skipped:"]
    lines += [f"  {r['file']}: {r['reason']}" for r in records[:limit]]
    if len(records) > limit:
        lines.append(f"  ... and {len(records) - limit} more")
    return "\n".join(lines)

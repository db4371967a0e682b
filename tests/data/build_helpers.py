"""Building a recorded-video builder (data/video_folder) inside a test: the DirectRunner with N worker processes,
the examples read back by clip id, and the check that two builds wrote the same examples."""

from __future__ import annotations

import numpy as np

from data.video_folder import beam as beam_lib
from data.video_folder import cli


def build(builder_cls, config, input_dir: str, data_dir, num_workers: int):
    """A `builder_cls(config)` prepared from `input_dir` into `data_dir` with `num_workers` DirectRunner processes."""
    builder = builder_cls(config=config, data_dir=str(data_dir))
    cli.prepare(builder, input_dir, beam_lib.pipeline_options("DirectRunner", num_workers))
    return builder


def examples(builder, split: str = "train") -> dict[str, dict]:
    """{clip_id: example} of one split of a prepared builder, in stored order (Text reads back as bytes)."""
    source = builder.as_data_source(split=split)
    return {source[i]["clip_id"].decode(): source[i] for i in range(len(source))}


def build_with_workers(builder_cls, config, input_dir: str, tmp_path_factory, workers=(1, 2)) -> dict:
    """{num_workers: (prepared builder, its train `examples`)} of `input_dir` built once per worker count, each
    into a fresh data folder."""
    out = {}
    for n in workers:
        builder = build(builder_cls, config, input_dir, tmp_path_factory.mktemp(f"{config.name}_{n}"), n)
        out[n] = builder, examples(builder)
    return out


def assert_same_examples(one: dict[str, dict], two: dict[str, dict]) -> None:
    """The two {clip_id: example} hold the same clips, every feature equal."""
    assert sorted(one) == sorted(two)
    for key in one:
        for feature, value in one[key].items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(two[key][feature]), err_msg=f"{key} {feature}")

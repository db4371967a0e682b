"""Shared machinery of the recorded-video dataset builders (issue 15's binaural_video, issue 16's BiAudio and
pseudo-binaural ones): file listing, media reading, per-file checks, windowing, loudness, the stored layout, Beam
and the CLI.

  listing.py  the video and side-car audio suffixes, the recursive sorted listing, keys, side-cars by stem.
  media.py    probe / decode video onto a frame grid at the stored size / decode or read side-car audio / soxr.
  clips.py    ClipSpec, SourceFile, load (checks; BadFile with a one-line reason), windows, to_example, features,
              metadata: the stored layout every builder shares (video [T, H, W, 3] uint8 zlib, audio [2, N]
              int16, caption, clip_id '<relative path without suffix>@<start ms>', start_s, gain_db, valid_s).
  beam.py     the per-file Beam stage with a skip output, the skip manifest (skipped.jsonl beside the dataset),
              pipeline options (DirectRunner with N processes, or Dataflow / Flink / Spark options).
  builder.py  VideoFolderBuilder: the TFDS GeneratorBasedBuilder that runs it all; ClipConfig: the base of the
              builders' configs (the shared ClipSpec fields, the `builder` metadata).
  cli.py      the shared command line (`python -m data.<builder>.build --input_dir ... --data_dir ... --config ...`).

Reusing it for a new builder (e.g. 360-degree video with 4-channel FOA audio):
  1. A config dataclass deriving from `builder.ClipConfig` whose `spec()` returns `self.clip_spec(channels=...)`
     with the channel count the sources must have (`channels=4` for FOA: other counts are refused per file with a
     one-line reason) and whose `check()` raises ValueError for a bad config.
  2. `class MyBuilder(VideoFolderBuilder)` with `_info` (`self.dataset_info(__doc__, field_of_view_deg=...,
     ground_truth=..., **extra_features)`: `clips.features` and `clips.metadata` of the config), `list_sources`
     (splits -> `clips.SourceFile`s, plus skip records found while listing; `listing` finds the files and their
     side-cars) and `example_fn` (a picklable function of one SourceFile). That function typically calls
     `clips.load(source, spec, transform)` (any `av.VideoFrame -> uint8 [h, w, 3]` transform, e.g. a perspective
     crop of an equirectangular frame; default: the spec's crop/letterbox fit to its height x width), then
     `clips.windows(loaded, spec)`; per window it converts the source audio [C, N] to the stored [2, N], and returns
     `clips.to_example(source, window, audio, spec)` dicts updated with any extra features. The transform sees each
     source frame once, so work that differs per output instant (a crop following a camera path) is done on each
     window's video afterwards (`dataclasses.replace(window, video=...)`, at the spec's stored height x width).
     Raise `clips.BadFile(reason)` to skip a file; any other exception is caught and recorded as an unexpected
     error, so one file never aborts the build.
  3. `build.py`: `sys.exit(cli.main(MyBuilder, BUILDER_CONFIGS, sys.argv[1:], prog="python -m data.mine.build"))`.
Test fixtures that write real-format media files: tests/data/media_fixtures.py.
"""

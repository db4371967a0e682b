import os
import subprocess
import sys

import pytest
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions, WorkerOptions

from data.binaural_video.binaural_video_dataset_builder import BUILDER_CONFIGS, BinauralVideo
from data.video_folder import beam as beam_lib
from data.video_folder import cli
from tests.data import media_fixtures as mf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SMALL = [
    "--config=folder",
    "--set",
    "clip_s=1.0",
    "--set",
    "hop_s=1.0",
    "--set",
    "min_clip_s=1.0",
    "--set",
    "split_fractions=1,0,0",
    "--name=test_cli",
]


def _main(argv):
    return cli.main(BinauralVideo, BUILDER_CONFIGS, argv, prog="build")


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--data_dir=D", "--config=folder"], "--input_dir"),
        (["--input_dir={missing}", "--data_dir=D", "--config=folder"], "no such directory"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=nope"], "invalid choice"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--num_workers=x"], "invalid int"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--num_workers=0"], "--num_workers must be >= 1"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--direct_num_wrkers=3"], "unknown flag"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--set", "clip_s=1"], "--name"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--set", "colour=red", "--name=x"], "FIELD one of"),
        (["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--set", "fps=29.97", "--name=x"], "fps=29.97"),
        (
            ["--input_dir={tmp}", "--data_dir=D", "--config=folder", "--set", "resize_mode=fit", "--name=x"],
            "resize_mode",
        ),
    ],
)
def test_bad_flags_are_one_line_with_status_2(tmp_path, capsys, argv, words):
    argv = [a.format(tmp=tmp_path, missing=tmp_path / "missing") for a in argv]
    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_missing_split_files_are_a_bad_input_dir(tmp_path, capsys):
    assert _main([f"--input_dir={tmp_path}", f"--data_dir={tmp_path / 'd'}", "--config=fairplay_split3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no folder 'videos'" in err
    (tmp_path / "videos").mkdir()
    (tmp_path / "binaural_audios").mkdir()
    assert _main([f"--input_dir={tmp_path}", f"--data_dir={tmp_path / 'd'}", "--config=fairplay_split3"]) == 2
    assert "no split file splits/split3/train.h5" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_build_summarises_and_never_overwrites(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    mf.write_video(str(folder / "a.mp4"), duration_s=1.2, audio=mf.tones(1.2, 48000))
    mf.write_bad("mono", str(folder))
    data = tmp_path / "data"
    argv = [f"--input_dir={folder}", f"--data_dir={data}", "--num_workers=1", *SMALL]
    assert _main(argv) == 0
    out = capsys.readouterr().out
    assert "train 1 examples" in out and "1 file(s) skipped" in out and "bad_mono.mp4: 1-channel" in out
    shard = next(p for p in (data / "binaural_video/test_cli/1.1.0").iterdir() if "array_record" in p.name)
    before = shard.stat().st_mtime_ns
    mf.write_video(str(folder / "b.mp4"), duration_s=1.2, audio=mf.tones(1.2, 48000))
    assert _main(argv) == 0
    assert "already built" in capsys.readouterr().out and shard.stat().st_mtime_ns == before
    assert _main(argv + ["--overwrite"]) == 0
    assert "train 2 examples" in capsys.readouterr().out


def test_command_line_entry_point(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "data.binaural_video.build",
            f"--input_dir={tmp_path}",
            "--data_dir=D",
            "--config=folder",
            "--bogus=1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "unknown flag --bogus (neither a build flag nor an Apache Beam pipeline option)"
    )
    assert "Traceback" not in result.stderr


def test_pipeline_options_per_runner():
    direct = beam_lib.pipeline_options("DirectRunner", 3)
    assert direct.view_as(DirectOptions).direct_num_workers == 3
    assert direct.view_as(DirectOptions).direct_running_mode == "multi_processing"
    assert beam_lib.pipeline_options("DirectRunner", 1).view_as(DirectOptions).direct_running_mode == "in_memory"
    dataflow = beam_lib.pipeline_options("DataflowRunner", 16, ["--project=p", "--region=r"])
    assert dataflow.view_as(StandardOptions).runner == "DataflowRunner"
    assert dataflow.view_as(WorkerOptions).num_workers == 16
    with pytest.raises(ValueError, match="--runner must be one of"):
        beam_lib.pipeline_options("LocalRunner", 1)

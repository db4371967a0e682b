"""`python -m v2a_jax.evaluate` end to end: a generator trained for 2 steps on the tiny dataset (FrameCodec stand-in),
evaluated on its 3-clip test split (a partial batch padded to the run's 8), rerun from the cache, and the one-line
errors (exit status 2, nothing written) of a missing checkpoint or config, a run of another task, an empty config,
a split typo, an out_dir under a file and a cache of other settings."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from absl import flags
from absl.testing import flagsaver

from tests.generator import helpers
from tests.train import run_utils
from v2a_jax import cli, evaluate
from v2a_jax.evaluation import evaluator
from v2a_jax.train import run_config

ROWS = ("generated", "flipped", "ground_truth", "autoencoder", "mono_copy", "two_stage", "random_direction")
ALWAYS_FINITE = ("stft", "env", "mag", "phs", "snr_db", "lsd_db", "delta_ild_db", "delta_iacc")


pytestmark = pytest.mark.xdist_group("generator_run")


@pytest.fixture(scope="module")
def workdir(tiny_generator_run):
    return tiny_generator_run


def _main(**flag_values):
    evaluate.define_flags()
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    with flagsaver.flagsaver(**{"split": "test", "num_steps": ["2"], "num_wavs": 2, **flag_values}):
        evaluate.main(["evaluate"])


def test_evaluate_writes_every_row_and_reruns_from_the_cache(workdir, tmp_path, capsys):
    out = tmp_path / "eval"
    _main(workdir=str(workdir), out_dir=str(out), step="2")
    report = json.loads((out / "report.json").read_text())
    assert report["step"] == 2 and report["num_clips"] == 3 and report["batches_cached"] == 0
    assert report["batches_generated"] == 3  # one batch x (generated, flipped, autoencoder)
    assert set(report["rows"]) == set(ROWS)
    assert "distribution" in report["omitted"]
    # binaural_synth records its spherical head: the direction columns read ITDs through a map calibrated to it.
    assert report["itd_map"]["name"] == "spherical(0.0875) calibrated"
    for name, metrics in report["rows"].items():
        for key in ALWAYS_FINITE:
            assert metrics[key] is not None and np.isfinite(metrics[key]), (name, key)
    assert report["localiser"]["frames"] > 0 and 0 <= report["localiser"]["azimuth_error_deg"] < 45
    truth = report["rows"]["ground_truth"]
    assert truth["stft"] == 0.0 and truth["delta_itd_us"] == 0.0 and truth["delta_ild_db"] == 0.0
    assert truth["itd_valid_frames"] > 0 and truth["direction_frames"] > 0
    table = (out / "report.md").read_text()
    assert all(f"| {row} |" in table for row in ROWS)
    with np.load(out / "cache" / "generated" / "batch_0000.npz") as cached_batch:
        generated = cached_batch["audio"]
    assert generated.shape == (3, 2, 20480)  # the padding to 8 clips is dropped
    audio, rate = soundfile.read(out / "wav" / "clip001_generated.wav")
    assert rate == 16000
    np.testing.assert_allclose(audio.T, np.clip(generated[1], -1, 1), atol=1 / 32767)
    mono, _ = soundfile.read(out / "wav" / "clip001_mono_copy.wav")
    np.testing.assert_array_equal(mono[:, 0], mono[:, 1])
    np.testing.assert_allclose(mono[:, 0], np.clip(generated[1].mean(axis=0), -1, 1), atol=1 / 32767)
    assert soundfile.info(out / "wav" / "clip000_ground_truth.wav").subtype == "PCM_16"
    assert not (out / "wav" / "clip002_generated.wav").exists()  # num_wavs=2
    assert (out / "png" / "clip000_generated.png").stat().st_size > 0
    assert (out / "png" / "clip001_flipped.png").exists()
    assert "3/3 clips" in capsys.readouterr().out

    cached = sorted((out / "cache").rglob("batch_*.npz"))
    mtimes = [p.stat().st_mtime_ns for p in cached]
    _main(workdir=str(workdir), out_dir=str(out), step="latest")
    rerun = json.loads((out / "report.json").read_text())
    assert rerun["batches_generated"] == 0 and rerun["batches_cached"] == 3
    assert [p.stat().st_mtime_ns for p in cached] == mtimes
    assert rerun["rows"] == report["rows"]


def _error(capsys, **flag_values) -> str:
    """The one line printed by the CLI's ending (cli.guard) for a mistake, checking its exit status."""
    assert cli.guard(lambda argv: _main(**flag_values))(["evaluate"]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


def test_mistakes_give_one_line_errors_and_write_nothing(workdir, tmp_path, capsys):
    assert _error(capsys, workdir=str(workdir), out_dir=str(tmp_path / "a"), step="7") == (
        f"error: {workdir}/checkpoints/7: no such checkpoint (saved steps: [2])"
    )
    assert _error(capsys, workdir=str(tmp_path), out_dir=str(tmp_path / "b")).startswith(
        f"error: {tmp_path}/config.json: no run config"
    )
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    (untrained / "config.json").write_text((workdir / "config.json").read_text())
    assert _error(capsys, workdir=str(untrained), out_dir=str(tmp_path / "c")) == (
        f"error: {untrained}/checkpoints: no checkpoint"
    )
    toy = tmp_path / "toy"
    run_config.save(run_utils.toy_config(), toy)
    assert _error(capsys, workdir=str(toy), out_dir=str(tmp_path / "d")) == (
        f"error: {toy}: config.task='v2a_jax.train.toy_task:ToyRegressionTask' is not the generator task"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("")
    assert _error(capsys, workdir=str(empty), out_dir=str(tmp_path / "e")) == (
        f"error: {empty}/config.json: not a valid run config (the file is empty)"
    )
    line = _error(capsys, workdir=str(workdir), out_dir=str(tmp_path / "f"), split="tset")
    assert line.startswith("error: --split=tset: ") and "Unknown split 'tset'" in line and "'test'" in line
    (tmp_path / "a_file").write_text("")
    assert _error(capsys, workdir=str(workdir), out_dir=str(tmp_path / "a_file/eval")) == (
        f"error: --out_dir={tmp_path / 'a_file/eval'}: {tmp_path / 'a_file'} is a file, not a directory"
    )
    assert _error(capsys, workdir=str(workdir), out_dir=str(tmp_path / "g"), guidance_interval=["0.6", "0.2"]) == (
        "error: --guidance_interval=0.6,0.2: sampler guidance_interval=(0.6, 0.2): expected flow times "
        "0 <= lo < hi <= 1"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "empty", "toy", "untrained"]

    other = tmp_path / "other_settings"
    (other / "cache").mkdir(parents=True)
    (other / "cache/settings.json").write_text('{"seed": 1}')
    line = _error(capsys, workdir=str(workdir), out_dir=str(other))
    assert line.startswith(f"error: {other}/cache/settings.json: the cached audio was generated with other settings")
    assert sorted(p.relative_to(other) for p in other.rglob("*")) == [Path("cache"), Path("cache/settings.json")]


def test_run_label_names_the_ablation_axes():
    config = helpers.tiny_config("spatialv2a", "", model__aligned_rope=False)
    label = evaluator.run_label(config)
    assert label == {"layout": "dual", "spacetime": False, "spatialisation": True, "aligned_rope": False}
    assert evaluator.label_text(label) == "dual+spatialisation"

"""Report writing: strict JSON, the markdown table, 16-bit WAVs."""

import json
import math

import numpy as np
import soundfile

from v2a_jax.evaluation import report


def test_jsonable_writes_nan_as_null(tmp_path):
    report.write_json(tmp_path / "r.json", {"a": float("nan"), "b": np.float32(1.5), "c": [np.int64(2), math.inf]})
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text) == {"a": None, "b": 1.5, "c": [2, None]}
    assert "NaN" not in text and "Infinity" not in text


def test_markdown_table_has_the_columns_some_row_has():
    table = report.markdown_table({"x": {"stft": 0.123456, "fd_mid": 2.0}, "y": {"stft": float("nan")}})
    lines = table.strip().split("\n")
    assert lines[0] == "| system | STFT | FD mid |"
    assert lines[2] == "| x | 0.1235 | 2 |"
    assert lines[3] == "| y | n/a | n/a |"


def test_wavs_are_16_bit_stereo_left_first(tmp_path):
    audio = np.zeros((3, 2, 100), np.float32)
    audio[:, 0] = 0.5
    audio[:, 1, :10] = 2.0  # clipped
    report.write_wavs(tmp_path, {"gen": audio}, 2, 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip000_gen.wav", "clip001_gen.wav"]
    data, rate = soundfile.read(tmp_path / "clip001_gen.wav")
    assert rate == 16000 and data.shape == (100, 2)
    assert soundfile.info(tmp_path / "clip001_gen.wav").subtype == "PCM_16"
    np.testing.assert_allclose(data[:, 0], 0.5, atol=1 / 32767)
    np.testing.assert_allclose(data[:10, 1], 1.0, atol=1 / 32767)

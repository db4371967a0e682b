"""`evaluate_checkpoint` (what `python -m v2a_jax.evaluate` runs) on a dataset without ground truth: visaudio-tiny
trained for 2 steps on `tiny_recorded`, evaluated on its 3 test clips. The report has the reference-based rows
and columns, no truth-based ones, and says why; the ablation runner tabulates it."""

import json

import numpy as np
import pytest

from v2a_jax.evaluation import ablations, evaluator, report, runner, scores

ROWS = ("generated", "flipped", "recording", "autoencoder", "mono_copy", "two_stage", "random_direction")
REFERENCE_METRICS = (
    "stft",
    "env",
    "mag",
    "phs",
    "snr_db",
    "lsd_db",
    "delta_ild_db",
    "delta_iacc",
    "stft_peak_norm",
    "env_peak_norm",
    "mag_peak_norm",
    "snr_peak_norm_db",
)
TRUTH_METRICS = (
    "direction_error_deg",
    "left_right_agreement",
    "lateral_r",
    "lateral_overshoot_deg",
    "direction_error_ild_deg",
    "left_right_agreement_ild",
    "lateral_r_ild",
    "av_sync_offset_s",
)

pytestmark = pytest.mark.xdist_group("recorded_run")


SETTINGS = runner.Settings(split="test", step=2, sampler=runner.DEFAULT_SAMPLER.replace(num_steps=2))


@pytest.fixture(scope="module")
def evaluated(tiny_recorded_run, tmp_path_factory):
    """(report, its directory), the directory where the ablation runner puts this run's evaluation under the
    returned base directory (so that it finds the generated audio cached)."""
    base = tmp_path_factory.mktemp("eval_recorded")
    out = base / f"00_{tiny_recorded_run.name}" / ablations.setting_name(SETTINGS)
    result = evaluator.evaluate_checkpoint(tiny_recorded_run, out, SETTINGS, num_wavs=1, progress=lambda _: None)
    return result, out, base


def test_report_has_the_reference_rows_and_no_truth_columns(evaluated):
    result, out, _ = evaluated
    saved = json.loads((out / "report.json").read_text())
    assert saved["num_clips"] == 3 and set(saved["rows"]) == set(ROWS)
    for name, metrics in saved["rows"].items():
        assert all(metrics[k] is not None and np.isfinite(metrics[k]) for k in REFERENCE_METRICS), name
        assert not any(k in metrics for k in TRUTH_METRICS), name
        assert "cue_agreement" in metrics, name  # needs no truth (NaN where no frame has two confident cues)
    recording = saved["rows"]["recording"]
    assert recording["stft"] == 0.0 and recording["stft_peak_norm"] == 0.0 and recording["delta_itd_us"] == 0.0
    assert recording["ref_left_right_agreement"] == 1.0 and recording["ref_direction_diff_deg"] == 0.0
    assert recording["ref_agreement_frames"] > 0  # the fixture's sources sit well to one side
    assert saved["rows"]["mono_copy"]["ref_left_right_agreement"] == 0.0  # identical ears name no side
    assert saved["rows"]["mono_copy"]["cue_agreement_frames"] == 0.0  # nor does either cue
    assert set(saved["omitted"]) >= {"direction", "sync", "localiser", "distribution"}
    assert saved["localiser"]["frames"] == 0 and "gain_db mean -3.0 dB" in saved["audio_level"]
    assert saved["itd_map"]["name"].startswith("woodworth")  # a recording's head is not known: the fallback

    table = (out / "report.md").read_text()
    assert all(f"| {row} |" in table for row in ROWS)
    assert "STFT (FAIR-Play)" in table and "L/R agree vs rec (ITD)" in table
    assert "dir err deg" not in table and "sync s" not in table and "L/R agree (ITD)" not in table
    assert scores.OMITTED["direction"] in table and report.NO_LOCALISER_TRUTH in table
    assert (out / "wav" / "clip000_recording.wav").exists() and (out / "png" / "clip000_generated.png").exists()


def test_ablation_table_uses_the_recording_agreement(evaluated, tiny_recorded_run, tmp_path):
    result, _, base = evaluated
    entries = ablations.run_ablations(
        [str(tiny_recorded_run)], SETTINGS, [2], [SETTINGS.sampler.cfg_strength], base, progress=lambda _: None
    )
    metrics = entries[0]["metrics"]
    assert "flipped_left_right_agreement" not in metrics
    assert metrics["flipped_ref_left_right_agreement"] == result["rows"]["flipped"]["ref_left_right_agreement"]
    ablations.write_table(entries, tmp_path / "table.md")
    assert "flipped L/R agree vs rec" in (tmp_path / "table.md").read_text()

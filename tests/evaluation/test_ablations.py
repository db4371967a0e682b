"""The ablation runner's bookkeeping, with `evaluate_checkpoint` replaced by a stub (the real one is exercised end
to end in tests/test_evaluate.py)."""

import json

from tests.generator import helpers
from v2a_jax.evaluation import ablations, evaluator, runner
from v2a_jax.train import run_config


def test_one_row_per_run_and_setting_labelled_from_the_config(tmp_path, monkeypatch):
    workdirs = []
    for model in ("visaudio", "mono"):
        workdirs.append(tmp_path / model)
        run_config.save(helpers.tiny_config(model), workdirs[-1])
    calls = []

    def fake_evaluate(workdir, out_dir, settings, **kwargs):
        calls.append((workdir, out_dir, settings))
        label = evaluator.run_label(run_config.load(workdir))
        rows = {"generated": {"stft": settings.sampler.cfg_strength, "left_right_agreement": 0.5}}
        if label["layout"] != "mono":
            rows["flipped"] = {"left_right_agreement": 0.75}
        return {
            "rows": rows,
            "label": label,
            "label_text": evaluator.label_text(label),
            "step": 9,
            "settings": {"num_steps": settings.sampler.num_steps},
            "num_clips": 3,
        }

    monkeypatch.setattr(evaluator, "evaluate_checkpoint", fake_evaluate)
    (tmp_path / "sweep.txt").write_text(f"# runs\n{workdirs[1]}\n\n")
    runs = [str(workdirs[0])] + ablations.read_sweep(tmp_path / "sweep.txt")
    heun = runner.Settings(sampler=runner.DEFAULT_SAMPLER.replace(method="heun"))
    entries = ablations.run_ablations(runs, heun, [2, 4], [1.0, 4.5], tmp_path / "out")
    assert len(entries) == len(calls) == 8
    assert {(s.sampler.num_steps, s.sampler.cfg_strength, s.sampler.method) for _, _, s in calls[:4]} == {
        (2, 1.0, "heun"),
        (2, 4.5, "heun"),
        (4, 1.0, "heun"),
        (4, 4.5, "heun"),
    }
    assert len({str(out) for _, out, _ in calls}) == 8  # every evaluation keeps its own directory and cache
    assert entries[0]["metrics"]["flipped_left_right_agreement"] == 0.75
    assert "flipped_left_right_agreement" not in entries[-1]["metrics"]

    ablations.write_table(entries, tmp_path / "table.md")
    lines = (tmp_path / "table.md").read_text().strip().split("\n")
    assert len(lines) == 2 + 8 and "flipped L/R agree" in lines[0]
    assert lines[2].startswith("| dual+spacetime+aligned_rope (visaudio @ 9), heun_steps2_cfg1 | 1 |")
    assert lines[-1].startswith("| mono+aligned_rope (mono @ 9), heun_steps4_cfg4.5 | 4.5 |")
    saved = json.loads((tmp_path / "table.json").read_text())["entries"]
    assert [e["setting"] for e in saved] == [e["setting"] for e in entries]


def test_a_limited_guidance_interval_is_part_of_the_setting_name():
    assert ablations.setting_name(runner.Settings()) == "euler_steps25_cfg4.5"
    early = runner.Settings(sampler=runner.DEFAULT_SAMPLER.replace(guidance_interval=(0.0, 0.5)))
    assert ablations.setting_name(early) == "euler_steps25_cfg4.5_t0-0.5"

"""The quick v2 experiments run, write JSON + PNG, and show what each rule costs."""
from __future__ import annotations

import json
from fractions import Fraction

from hcfl.experiments import misreport_gain_v2, participation


def test_participation_proportional_is_ir_and_the_others_are_not(tmp_path):
    r = participation.run_experiment(tmp_path, quick=True, seed=13)
    assert (tmp_path / "participation.png").stat().st_size > 0
    assert json.loads((tmp_path / "participation.json").read_text())["summary"] == r["summary"]
    s = r["summary"]
    for pay in ("posted", "paper-random"):
        assert s[f"{pay} / proportional"]["negative_share"] == 0 and s[f"{pay} / proportional"]["worst_utility_gwei"] >= 0
        assert s[f"{pay} / equal"]["negative_share"] > 0.05 and s[f"{pay} / stake"]["negative_share"] > 0.05
    assert "| `posted / proportional` |" in r["markdown"]


def test_misreport_gain_v2_posted_truthful_and_proportional_is_not(tmp_path):
    r = misreport_gain_v2.run_experiment(tmp_path, quick=True, seed=11)
    assert (tmp_path / "misreport-gain-v2.png").stat().st_size > 0
    s = r["summary"]
    for share in ("equal", "stake"):
        assert Fraction(s[f"posted / {share}"]["max_gain_exact_wei"]) <= 0
    assert s["posted / proportional"]["max_gain_pct"] > 1.0
    assert s["paper-random (expected C) / proportional"]["share_with_positive_gain"] > 0.5


def test_cli_entry_points(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    hcfl = Path(sys.executable).with_name("hcfl")
    for args, name in ((["participation"], "participation"), (["misreport-gain", "--rules", "v2"], "misreport-gain-v2")):
        proc = subprocess.run([str(hcfl), "experiment", *args, "--quick", "--out", str(tmp_path / name)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("| payment rule")
        assert (tmp_path / name / f"{name}.json").exists() and (tmp_path / name / f"{name}.png").exists()

"""`hcfl demo --quick`: the README's main job end-to-end (coordinator, three daemon subprocesses, real
training on digits, vote, withdrawals, audit) writes a report with the promised keys."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_quick_embedded(tmp_path):
    report_path = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "hcfl.cli", "demo", "--quick", "--json", str(report_path),
                          "--plot", str(tmp_path / "curve.png")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads(report_path.read_text())
    for key in ("selected", "taxes", "total_payment", "final_accuracy", "promised_accuracy", "punished", "transactions", "audit"):
        assert key in report, key
    assert report["audit"]["ok"] is True
    assert report["selected"] == 0  # S = [145, 75] gwei
    assert report["taxes"]["owner-1"] == 10 * 10**9  # owner-1 is the pivot between the two proposals
    assert sum(report["owner_payments"].values()) == report["total_payment"]
    assert len(report["accuracy_curve"]) == 2 and report["final_accuracy"] > 0.5
    assert report["punished"] is (sum(report["votes"].values()) * 2 > len(report["votes"]))
    assert all(v > 0 for v in report["station_rewards"].values())  # every daemon reported every round
    assert report["transactions"] > 40
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert "training curve" in out.stdout and "| owner-1 |" in out.stdout

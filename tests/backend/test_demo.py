"""`hcfl demo --quick`: the README's main job end-to-end (coordinator, three daemon subprocesses, real
training on digits, vote, lazy claims and withdrawals, v2 audit) on contract v2 writes a report with the
promised keys."""
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
    # clean output: the progress bars carry the steps; no log line lands inside them (INFO goes to demo.log)
    assert " INFO " not in out.stderr and " INFO " not in out.stdout, out.stderr[-3000:]
    report = json.loads(report_path.read_text())
    for key in ("selected", "taxes", "total_payment", "final_accuracy", "promised_accuracy", "punished", "transactions", "audit"):
        assert key in report, key
    assert report["audit"]["ok"] is True
    assert report["audit"]["kind"] == "v2" and not report["audit"]["books"]["mismatches"]
    assert report["selected"] == 0 and report["surplus"] == [145 * 10**9, 75 * 10**9]  # S = sumB - sumK (Posted)
    assert report["total_payment"] == 150 * 10**9  # Posted: C is proposal 0's price
    assert set(report["taxes"]) == {"owner-1", "owner-2", "owner-3", "station-1", "station-2", "station-3"}
    # owners pay C less the owner-pool discount (none in the campaign's first round), split by stake
    assert sum(report["owner_payments"].values()) == report["total_payment"] - report["extra"]["owner_discount"]
    result = report["extra"]["result"]
    assert result["scores_total"] == sum(result["scores"]) and result["validation_hash"].startswith("0x")
    assert len(report["accuracy_curve"]) == 2 and report["final_accuracy"] > 0.5
    assert report["punished"] is (sum(report["votes"].values()) * 2 > len(report["votes"]))
    # every daemon reported every round, so the stations' escrow E = C (no pool bonus yet) is paid out in full,
    # split by the contribution scores each station proved with claimWithScore
    assert sum(report["station_rewards"].values()) == report["total_payment"]
    scores = report["extra"]["contribution_scores_bps"]
    assert all((report["station_rewards"][n] > 0) == (scores[n] > 0) for n in scores)
    assert report["transactions"] > 40
    # the edge tier: 3 stations x 2 edge-client processes, each included (proof verified) in both global rounds
    edge = report["extra"]["edge_clients"]
    assert len(edge) == 6 and len({e["address"] for e in edge}) == 6
    assert sorted(e["station"] for e in edge) == ["station-1"] * 2 + ["station-2"] * 2 + ["station-3"] * 2
    assert all(e["included_rounds"] == [0, 1] and e["samples"] > 0 for e in edge), edge
    assert all(e["station_root_in_manifest_rounds"] == [0, 1] for e in edge), edge
    assert all(m["root"] and len(m["included"]) == 3 for m in report["extra"]["manifests"])
    # edge payouts (issue 10): each station's HCFLCore reward is split among its devices by its committed rule
    # (station-1: ifedcrowd from the devices' sealed cost claims), claimed by each device itself on chain; the
    # published settlements audit clean against the chain
    pay = report["extra"]["edge_payouts"]
    assert pay["ok"] is True and len(pay["rows"]) == 6, pay
    assert all(r["claimed_wei"] == r["amount_wei"] and bool(r["claim_tx"]) == (r["amount_wei"] > 0) for r in pay["rows"]), pay
    audits = {a["station"]: a for a in pay["audit"]}
    assert len(audits) == 3
    assert any(a["reward"] > 0 for a in audits.values() if a["rule"] == "ifedcrowd"), audits  # a claim rule paid
    assert [r["rule"] for r in pay["rows"] if r["station"] == "station-1"] == ["ifedcrowd"] * 2
    assert all(r["costs"] and r["expected_wei"] is not None for r in pay["rows"] if r["rule"] == "ifedcrowd"), pay
    for station in ("station-1", "station-2", "station-3"):
        rows = [r for r in pay["rows"] if r["station"] == station]
        a = audits[rows[0]["station_address"]]
        # the devices split exactly the station's HCFLCore reward (what the rule does not pay goes back to it)
        assert sum(r["amount_wei"] for r in rows) + a["returned"] == a["reward"] == report["station_rewards"].get(station, 0)
        if a["reward"] > 0:
            assert all(r["amount_wei"] > 0 for r in rows), rows
    assert "edge payouts: each station's HCFLCore reward split" in out.stdout and "| 1,0.5,1 |" in out.stdout
    # on chain: 3 stations x 2 global rounds reported, each with its edge clients' Merkle root (clientsRoot)
    assert report["extra"]["reports"] == report["extra"]["reports_with_clients_root"] == 6
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert "training curve" in out.stdout and "| owner-1 |" in out.stdout

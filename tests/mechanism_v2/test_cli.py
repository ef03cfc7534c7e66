"""`hcfl settle --rules v2` through the installed console script."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HCFL = Path(sys.executable).with_name("hcfl")
GOOD = {
    "config": {"min_owner_deposit": 10},
    "rounds": [{
        "participants": [
            {"id": "a", "role": "owner", "deposit": 100, "claims": [50]},
            {"id": "s", "role": "station", "deposit": 10, "claims": [5]},
        ],
        "proposals": [{"proposer": "a", "price": 20, "bond": 3}],
        "training": {"t": 1, "reported": {"s": 1}},
    }],
}


def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HCFL), "settle", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_v2_campaign_from_stdin():
    proc = run(json.dumps(GOOD), "--rules", "v2")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    r = out["rounds"][0]
    assert out["rules"] == "v2" and r["selected"] == 0 and r["total_payment"] == 20
    assert r["participants"]["a"]["payment"] == 20 and r["participants"]["s"]["reward"] == 20
    assert r["participants"]["a"]["credit"] == 100 - 20 + 3 and out["wei_in"] == out["credits_out"] == 113


def test_v2_from_file(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(GOOD))
    proc = run("", "--rules", "v2", str(f))
    assert proc.returncode == 0 and json.loads(proc.stdout)["pools_after"] == {"owner_pool": 0, "station_pool": 0}


def test_v2_bad_input_one_line_exit_2():
    bad = json.loads(json.dumps(GOOD))
    bad["rounds"][0]["participants"][0]["deposit"] = 5
    for stdin, fragment in ((json.dumps(bad), "deposit 5 < min_owner_deposit 10"),
                            ("{", "input is not JSON"),
                            (json.dumps({"rounds": [{**GOOD["rounds"][0], "training": None}]}), "needs a training outcome"),
                            (json.dumps({**GOOD, "config": {"durations": {"join": 2**64 - 1}}}), "durations.join")):
        proc = run(stdin, "--rules", "v2")
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("hcfl settle: error: ") and fragment in proc.stderr


def test_v1_stays_the_default():
    proc = run(json.dumps({"owners": [{"id": "a", "values": [5]}], "stations": [{"id": "s", "costs": [2]}], "seed": 1}))
    assert proc.returncode == 0 and "rules" not in json.loads(proc.stdout)
    proc = run(json.dumps(GOOD))  # a v2 campaign is not a v1 instance
    assert proc.returncode == 2


def test_deeply_nested_json_is_one_line_error():
    proc = run("[" * 200_000 + "]" * 200_000, "--rules", "v2")
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr and proc.stderr.count("\n") == 1

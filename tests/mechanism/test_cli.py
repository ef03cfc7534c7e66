"""`hcfl settle` through the installed console script."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HCFL = Path(sys.executable).with_name("hcfl")
GOOD = {
    "owners": [{"id": "a", "values": [5, 5]}],
    "stations": [{"id": "s", "costs": [2, 2]}],
    "seed": 10,
}


def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HCFL), "settle", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_good_input_from_stdin():
    proc = run(json.dumps(GOOD))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["selected"] == 0 and out["taxes"] == {"a": 2, "s": 0} and out["total_payment"] == 4
    for key in ("surplus", "owner_payments", "station_rewards", "seed", "unfunded", "payment_rule",
                "pools_after", "capped_claims", "credits"):
        assert key in out
    assert proc.stdout.startswith("{\n  ")  # indent 2


def test_good_input_from_file_with_big_ints(tmp_path):
    big = 10**40
    inst = {**GOOD, "owners": [{"id": "a", "values": [big, 0], "deposit": big + 1}],
            "stations": [{"id": "s", "costs": [big // 2, 0], "deposit": 1}]}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(inst))
    proc = run("", str(path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # s's cost is capped to its deposit 1. S_-a = [-1, 0] -> m_-a = 1, tax_a = 0 - (-1) = 1;
    # a_a = big, A = big - 1, Cmax = big - 1, C = 1 + 10 % (big - 1) = 11.
    assert out["capped_claims"]["s"] == [1, 0]
    assert out["selected"] == 0 and out["taxes"]["a"] == 1
    assert out["c_max"] == big - 1 and out["total_payment"] == 11


BAD = {
    "not json": "{owners: nope",
    "not an object": "[1, 2]",
    "wrong lengths": json.dumps({**GOOD, "stations": [{"id": "s", "costs": [2]}]}),
    "negative": json.dumps({**GOOD, "owners": [{"id": "a", "values": [5, -1]}]}),
    "float": json.dumps({**GOOD, "owners": [{"id": "a", "values": [5, 1.5]}]}),
    "duplicate ids": json.dumps({**GOOD, "stations": [{"id": "a", "costs": [2, 2]}]}),
    "unknown rule": json.dumps({**GOOD, "payment_rule": "vickrey"}),
    "unknown share rule": json.dumps({**GOOD, "share_rule": "contribution"}),
    "missing posted prices": json.dumps({**GOOD, "payment_rule": "posted"}),
    "posted prices length": json.dumps({**GOOD, "payment_rule": "posted", "posted_prices": [1]}),
    "no participants": json.dumps({"owners": [], "stations": [], "posted_prices": [1]}),
    "no proposals": json.dumps({"owners": [{"id": "a", "values": []}]}),
    "unknown field": json.dumps({**GOOD, "sed": 1}),
    "posted deposit too small": json.dumps(
        {**GOOD, "payment_rule": "posted", "posted_prices": [3, 9], "owners": [{"id": "a", "values": [5, 5], "deposit": 9}]}
    ),
    "zero deposit": json.dumps({**GOOD, "owners": [{"id": "a", "values": [5, 5], "deposit": 0}]}),
    "seed too big": json.dumps({**GOOD, "seed": 2**256}),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_one_line_exit_2(name):
    proc = run(BAD[name])
    assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hcfl settle: error: ")


def test_missing_file():
    proc = run("", "/nonexistent/instance.json")
    assert proc.returncode == 2
    assert proc.stderr.startswith("hcfl settle: error: ") and len(proc.stderr.splitlines()) == 1


def test_on_chain_needs_v2_rules():
    """Contract v1 is gone: `--on-chain` with the (default) v1 rules is refused with one clear line."""
    proc = run(json.dumps(GOOD), "--on-chain", "--chain", "embedded")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("hcfl settle: error: ") and len(proc.stderr.splitlines()) == 1
    assert "--rules v2" in proc.stderr

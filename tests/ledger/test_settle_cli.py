"""`hcfl settle --rules v2 --on-chain` through the console script: the chain's outcome, read back from the
ledger, in the reference's keys plus gas; an instance the chain cannot run is a one-line error."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hcfl.ledger.outcome import PARTICIPANT_KEYS, ROUND_KEYS, diff_campaign

HCFL = Path(sys.executable).with_name("hcfl")
CAMPAIGN = {
    "config": {"min_owner_deposit": 10, "owner_share_rule": "stake", "vote_deposit": 2},
    "rounds": [{
        "participants": [
            {"id": "a", "role": "owner", "deposit": 100, "claims": [50], "salt": "0x" + "0a" * 32},
            {"id": "b", "role": "owner", "deposit": 60, "claims": [30], "salt": "0x" + "0b" * 32},
            {"id": "s", "role": "station", "deposit": 10, "claims": [5], "salt": "0x" + "0c" * 32},
        ],
        "proposals": [{"proposer": "a", "price": 20, "bond": 3}],
        "training": {"t": 2, "reported": {"s": 1}},
        "votes": [{"voter": "b", "punish": True}],
    }],
}


def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HCFL), "settle", *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_on_chain_prints_the_reference_keys_and_gas() -> None:
    ref = run(json.dumps(CAMPAIGN), "--rules", "v2")
    got = run(json.dumps(CAMPAIGN), "--rules", "v2", "--on-chain", "--chain", "embedded")
    assert ref.returncode == 0 and got.returncode == 0, got.stderr[-2000:]
    r, c = json.loads(ref.stdout), json.loads(got.stdout)
    assert diff_campaign(r, c) == []
    rnd = c["rounds"][0]
    assert set(ROUND_KEYS) <= set(rnd) and set(PARTICIPANT_KEYS) <= set(rnd["participants"]["a"])
    assert rnd["punished"] and rnd["participants"]["s"]["reward"] == rnd["participants"]["s"]["station_share"] // 2
    assert c["gas"]["settle"]["count"] == 1 and 0 < c["gas"]["settle"]["max"] < 16_777_216
    assert c["contract"].startswith("0x") and c["chain"] == "embedded"


def test_what_the_chain_cannot_run_is_a_one_line_error() -> None:
    short = json.loads(json.dumps(CAMPAIGN))
    short["config"]["durations"] = {"join": 2}  # three joins need three blocks, >= 3 s of chain time
    for data, fragment in (({**CAMPAIGN, "owner_pool": 5}, "pools start empty"),
                           (short, "lengthen that duration")):
        proc = run(json.dumps(data), "--rules", "v2", "--on-chain")
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr[-2000:]
        last = [ln for ln in proc.stderr.splitlines() if ln.startswith("hcfl settle: error: ")]
        assert len(last) == 1 and fragment in last[0], proc.stderr[-2000:]

"""Schema-driven fuzzing: schemathesis (its CLI, from a separate tool venv, because it needs a newer
hypothesis than eth-brownie pins) runs against a live `hcfl serve` over HTTP and must find no 5xx.

The venv is `$HCFL_FUZZ_VENV` or `.venv-fuzz` (`make fuzz-deps` creates it); when it is missing the test
creates it (needs PyPI) and skips if that is impossible."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from coord_helpers import PLAN, ROOT, SPEC, fund, kill, start_coordinator
from eth_account import Account
from web3 import Web3

from hcfl.chain.v2.client import CoreClient
from hcfl.protocol import CampaignConfig, Role

pytestmark = pytest.mark.slow

SCHEMATHESIS = "schemathesis==4.32.5"
LONG = CampaignConfig(join_duration=3600, propose_duration=3600, commit_duration=3600, reveal_duration=3600,
                   train_duration=3600, vote_commit_duration=3600, vote_reveal_duration=3600)


def fuzz_venv() -> Path:
    venv = Path(os.environ.get("HCFL_FUZZ_VENV", ROOT / ".venv-fuzz"))
    exe = venv / "bin" / "schemathesis"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", SCHEMATHESIS], check=True, capture_output=True,
                       timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot create the fuzzing venv {venv} ({exc}); run `make fuzz-deps`")
    return exe


def test_openapi_fuzzing_finds_no_server_errors(tmp_path):
    exe = fuzz_venv()
    proc, base = start_coordinator(["--chain", "embedded", "--db", str(tmp_path / "c.sqlite"), "--data-dir",
                                    str(tmp_path / "models"), "--poll", "0.5"], tmp_path / "coord.log")
    try:
        # something to find: a spec and a round in Joining with an owner and a station
        omega = httpx.post(f"{base}/api/specs", json={"spec": SPEC, "training": PLAN}).json()["omega"]
        info = httpx.get(f"{base}/api/chain").json()
        client = CoreClient(Web3(Web3.HTTPProvider(f"{base}/rpc")), info["contract"])
        funder = Account.from_key(b"\x00" * 31 + b"\x01")  # eth-tester's first dev account
        owner, station = Account.create(), Account.create()
        fund(client.w3, funder, [owner.address, station.address])
        o, s = client.as_participant(owner), client.as_participant(station)
        rid = o.open_round(o.create_campaign(LONG))
        o.join(rid, Role.OWNER, deposit=10**17)
        s.join(rid, Role.STATION, deposit=10**17)
        (tmp_path / "schemathesis.toml").write_text(
            f'[parameters]\n"path.rid" = {rid}\n"path.omega" = "{omega}"\n"query.station" = "{station.address}"\n'
        )
        cmd = [str(exe), "--config-file", str(tmp_path / "schemathesis.toml"), "run", f"{base}/openapi.json",
               "--checks", "not_a_server_error", "-n", "30", "--workers", "2", "--seed", "7", "--no-color",
               "--generation-database", "none", "--request-timeout", "30", "--suppress-health-check", "all"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=540, cwd=tmp_path)
        report = out.stdout[-6000:] + out.stderr[-2000:]
        assert out.returncode == 0, report
        # the summary's warnings may say "Authentication failed" (signed routes answer 403): only test cases count
        cases = report.split("Test cases:")[-1].split("Seed:")[0].lower()
        assert "passed" in cases and "failed" not in cases and "error" not in cases, report
        # the server is still healthy and logged no traceback
        assert httpx.get(f"{base}/api/health").status_code == 200
        log = (tmp_path / "coord.log").read_text()
        assert "Traceback" not in log, log[-4000:]
        assert " 500" not in log
    finally:
        kill(proc)

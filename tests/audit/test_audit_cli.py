"""`hcfl audit` over real JSON-RPC against anvil: 0 when everything verifies, 1 on a mismatch or a wrong address."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hcfl.chain.client import HCFLClient

pytestmark = [pytest.mark.anvil, pytest.mark.filterwarnings("ignore::UserWarning")]


def hcfl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hcfl.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_verifies_and_prints_json(world):
    session, rounds = world
    url, addr = session.chain.rpc_url, session.client.address
    res = hcfl("audit", "--rpc", url, "--contract", addr)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ALL VERIFIED" in res.stdout and f"round {rounds['punished']}: verified" in res.stdout
    res = hcfl("audit", "--rpc", url, "--contract", addr.lower(), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["contract"] == addr
    assert all(r["status"] in ("verified", "pending") for r in data["rounds"])


def test_cli_rejects_other_addresses(world):
    session, _ = world
    url = session.chain.rpc_url
    res = hcfl("audit", "--rpc", url, "--contract", session.chain.funder.address)  # an account, no code
    assert res.returncode == 1
    assert "no contract code" in res.stderr
    # a contract that is not HCFLCrowdfund: a one-byte STOP contract via anvil_setCode
    other = "0x000000000000000000000000000000000000bEEF"
    session.chain.w3.provider.make_request("anvil_setCode", [other, "0x00"])
    res = hcfl("audit", "--rpc", url, "--contract", other)
    assert res.returncode == 1 and "not an HCFLCrowdfund deployment" in res.stderr
    res = hcfl("audit", "--rpc", "http://127.0.0.1:9", "--contract", other)
    assert res.returncode == 1 and "no EVM node answers" in res.stderr
    res = hcfl("audit", "--rpc", url, "--contract", "0x1234")
    assert res.returncode == 1 and "not an Ethereum address" in res.stderr


def test_cli_flags_a_different_deployment_and_a_tampered_chain(world):
    session, _ = world
    chain = session.chain
    url = chain.rpc_url
    # a second, fresh deployment verifies on its own (no rounds) ...
    fresh = HCFLClient.deploy(chain)
    res = hcfl("audit", "--rpc", url, "--contract", fresh.address)
    assert res.returncode == 0, res.stdout + res.stderr
    # ... but its books break once its balance no longer matches what its events explain
    snap = chain.snapshot()
    try:
        chain.w3.provider.make_request("anvil_setBalance", [session.client.address,
                                                            hex(session.client.balance() + 12345)])
        res = hcfl("audit", "--rpc", url, "--contract", session.client.address)
        assert res.returncode == 1, res.stdout
        assert "conservation: BROKEN" in res.stdout and "balance" in res.stdout
    finally:
        chain.revert(snap)
    res = hcfl("audit", "--rpc", url, "--contract", session.client.address)
    assert res.returncode == 0, res.stdout

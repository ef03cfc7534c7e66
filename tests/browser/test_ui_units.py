"""Fast checks of the web UI's build inputs (no browser): the generated protocol module is current, the UI
modules have no import cycle (scripts/build_ui.mjs refuses one), and the pure modules (human errors from the
real HCFLCore ABI, exact amounts, the salt backup) behave, run in node."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs_node = pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules" / "ethers").is_dir(),
                                reason="node and node_modules (npm install) are needed")


def test_generated_protocol_module_is_current():
    res = subprocess.run([sys.executable, "-m", "hcfl.chain.v2.ui_protocol", "--check"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_protocol_tables_come_from_the_python_enums():
    from hcfl.chain.v2.types import Phase
    from hcfl.chain.v2.ui_protocol import tables

    t = tables()
    assert [p["id"] for p in t["PHASES"]] == [int(p) for p in Phase]
    assert t["PHASES"][Phase.AWAITING_SETTLEMENT]["name"] == "AwaitingSettlement"
    # the embedded chain's funded keys are the ones eth-tester funds, anvil's are anvil's
    from hcfl.chain.provider import anvil_key, embedded

    chain = embedded()
    try:
        assert t["DEV_KEYS"]["embedded"][1]["address"] == chain.w3.eth.accounts[1]
        assert chain.w3.eth.get_balance(t["DEV_KEYS"]["embedded"][1]["address"]) > 10**18
    finally:
        chain.close()
    assert t["DEV_KEYS"]["anvil"][1]["address"] == anvil_key(1).address


@needs_node
def test_ui_build_has_no_import_cycle():
    res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "cycle_check.mjs")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["modules"] >= 10 and out["cycle"] is None, out


@needs_node
def test_human_errors_amounts_and_salt_backup(tmp_path):
    from hcfl.chain.compile import artifact

    abi = tmp_path / "core.json"
    abi.write_text(json.dumps(artifact("HCFLCore")["abi"]))
    res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "errors_unit.mjs"), str(abi)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["bond"] == "the bond 0 ETH is below the minimum bond of 1 gwei"
    assert out["phase"] == "this can only be done while the round is committing; it is training now"
    assert out["deposit"] == "the deposit 0.001 ETH is below this campaign's minimum of 0.01 ETH"
    for k in ("nonce", "coalesce", "numeric"):
        assert "version=" not in out[k] and "coalesce" not in out[k] and "NUMERIC_FAULT" not in out[k], out[k]
    # a node's own refusal of a gas estimate (not a revert) is shown in its words, a real revert without data is not
    assert out["rpcRefused"] == "the chain node refused the request: ValidationError: Invalid transaction nonce: Expected 1, but got 0"
    assert "without a reason" in out["noReason"]
    assert out["wei"] == "1500000000" and out["eth"] == "0.123456… ETH"
    assert out["empty"] == "deposit is empty: type an amount" and "at most 9 decimals" in out["decimals"]
    assert out["missing"] is None and out["imported"] == 1 and out["found"] == "0x" + "11" * 32 and out["again"] == 0
    assert "belongs to" in out["foreign"] and "not JSON" in out["garbage"] and "malformed" in out["malformed"]

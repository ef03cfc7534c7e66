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
    res = subprocess.run([sys.executable, "-m", "hcfl.protocol.ui", "--check"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_protocol_tables_come_from_the_python_enums():
    from hcfl.protocol import Phase
    from hcfl.protocol.ui import tables

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
    # every custom error of the real ABI has a sentence (decoded with the ABI, never a hand copy of the names)
    assert out["withoutSentence"] == [] and out["notInAbi"] == [], (out["withoutSentence"], out["notInAbi"])
    for name, h in out["inclusion"].items():  # the inclusion errors of contract v2
        assert h["code"] == name and name not in h["text"] and len(h["text"]) > 30, (name, h)
    assert "inclusion" in out["inclusion"]["ProofRequired"]["text"]


@needs_node
def test_inclusion_proofs_verify_in_the_page_as_in_python(tmp_path):
    """backend/ui/inclusion.js accepts every leaf of hcfl.inclusion's tree against its root, and refuses a leaf
    with another included count, another station, a tampered proof node and another root."""
    from hcfl.inclusion import inclusion_tree

    stations = ["0x" + f"{i:02x}" * 20 for i in (0x11, 0x22, 0x33)]
    tree = inclusion_tree({stations[0]: 3, stations[1]: 0, stations[2]: 2})
    case = tmp_path / "tree.json"
    case.write_text(json.dumps(tree))
    res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "inclusion_unit.mjs"), str(case)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["good"] == [True, True, True], out
    assert out["otherCount"] == [False, False, False] and out["otherStation"] == [False, False, False], out
    assert out["tamperedNode"] == [False, False, False] and out["otherRoot"] == [False, False, False], out
    assert out["zeroRoot"] is False


@needs_node
def test_signed_message_texts_match_the_python_definition():
    """The UI fills the generated templates (backend/ui/messages.js) exactly as hcfl.protocol.messages does,
    including the normalisation of a lower-case contract address and an upper-case hash."""
    from hcfl.protocol import messages

    contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    station = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    cases = [
        {"name": "download", "fields": {"chainId": 31337, "contract": contract, "roundId": 7}},
        {"name": "update", "fields": {"chainId": 1, "contract": contract, "roundId": 2**64 - 1, "globalRound": 3,
                                      "updateHash": "0x" + "AB" * 32, "samples": 2**63 - 1, "accuracyBps": 10_000}},
        {"name": "edge_update", "fields": {"chainId": 5, "contract": contract, "station": station, "roundId": 0,
                                           "globalRound": 0, "edgeRound": 2, "updateHash": "CD" * 32, "samples": 1}},
        {"name": "edge_root", "fields": {"chainId": 5, "contract": contract, "station": station, "roundId": 1,
                                         "globalRound": 1, "root": "0x" + "0F" * 32, "samples": 12}},
    ]
    as_text = [{"name": c["name"], "fields": {k: str(v) for k, v in c["fields"].items()}} for c in cases]  # no JS float
    res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "messages_unit.mjs"), json.dumps(as_text)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got == [messages.render(c["name"], **c["fields"]) for c in cases]
    assert got[0] == "hcfl-download:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3:7"
    assert set(messages.TEMPLATES) == {c["name"] for c in cases}


@needs_node
@pytest.mark.anvil
def test_commitments_python_ui_and_contract_agree(tmp_path):
    """claimCommitment / voteCommitment: the Python encoder (hcfl.protocol.commitments), the UI's path (its Chain
    class calling the contract's pure helpers through ethers) and the contract itself give the same bytes, at
    the extremes too (uint256 max claims and round id, lower-case addresses)."""
    from hcfl.chain.provider import spawn_anvil
    from hcfl.chain.v2.client import CoreClient
    from hcfl.protocol import claims_commitment, vote_commitment

    sender = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    m = 2**256 - 1
    claim_cases = [(0, sender, [], b"\0" * 32), (7, sender, [1, 2, 3], b"\x11" * 32),
                   (m, sender, [m, 0, m - 1], b"\xff" * 32)]
    vote_cases = [(0, sender, False, b"\0" * 32), (m, sender, True, b"\x7f" * 32)]
    chain = spawn_anvil()
    try:
        core = CoreClient.deploy(chain, chain.funder)
        info = tmp_path / "info.json"
        info.write_text(json.dumps({"chain_id": core.chain_id, "contract": core.address, "rpc_url": chain.rpc_url,
                                    "abi": core.abi}))
        cases = {"claims": [{"round_id": str(r), "sender": s, "claims": [str(c) for c in cl], "salt": "0x" + salt.hex()}
                            for r, s, cl, salt in claim_cases],
                 "votes": [{"round_id": str(r), "voter": v, "punish": p, "salt": "0x" + salt.hex()}
                           for r, v, p, salt in vote_cases]}
        res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "commitments_unit.mjs"), str(info),
                              json.dumps(cases)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        ui = json.loads(res.stdout.strip().splitlines()[-1])
        for (r, s, cl, salt), js in zip(claim_cases, ui["claims"]):
            on_chain = core.claim_commitment(r, s, cl, salt)
            assert on_chain == claims_commitment(r, s, cl, salt) and js == "0x" + on_chain.hex()
        for (r, v, p, salt), js in zip(vote_cases, ui["votes"]):
            on_chain = core.vote_commitment(r, v, p, salt)
            assert on_chain == vote_commitment(r, v, p, salt) and js == "0x" + on_chain.hex()
    finally:
        chain.close()


@needs_node
def test_phase_deadlines_in_the_page_as_in_the_coordinator():
    """backend/ui/store.js's phaseEnd and the coordinator's phase_end read one table (hcfl.protocol.deadlines): the
    same deadline for every phase, before and after the winner closed training; none while a transaction is awaited."""
    from hcfl.protocol import Phase
    from hcfl.protocol.deadlines import phase_deadline

    cfg = {"train_duration": 600, "vote_commit_duration": 300, "vote_reveal_duration": 200}
    base = {"join_end": 100, "propose_end": 200, "commit_end": 300, "reveal_end": 2**40, "train_end": 2**41}
    rounds = [{**base, "train_closed_at": 0}, {**base, "train_closed_at": 2**41 - 7}]
    camel = {"join_end": "joinEnd", "propose_end": "proposeEnd", "commit_end": "commitEnd", "reveal_end": "revealEnd",
             "train_end": "trainEnd", "train_closed_at": "trainClosedAt", "train_duration": "trainDuration",
             "vote_commit_duration": "voteCommitDuration", "vote_reveal_duration": "voteRevealDuration"}
    cases, want = [], []
    for r in rounds:
        for phase in Phase:
            cases.append({"data": {camel[k]: str(v) for k, v in r.items()}, "cfg": {camel[k]: str(v) for k, v in cfg.items()},
                          "phase": int(phase)})
            want.append(phase_deadline(phase, r.__getitem__, cfg.__getitem__) or None)
    res = subprocess.run(["node", str(ROOT / "tests" / "browser" / "deadlines_unit.mjs"), json.dumps(cases)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == want
    open_, closed = want[: len(Phase)], want[len(Phase):]
    assert open_[Phase.JOINING] == 100 and open_[Phase.AWAITING_SETTLEMENT] is None and open_[Phase.FINISHED] is None
    assert open_[Phase.VOTE_COMMITTING] == 2**41 + 300 and open_[Phase.VOTE_REVEALING] == 2**41 + 500
    assert closed[Phase.VOTE_COMMITTING] == 2**41 - 7 + 300 and closed[Phase.VOTE_REVEALING] == 2**41 - 7 + 500

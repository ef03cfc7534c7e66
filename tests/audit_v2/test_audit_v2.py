"""The v2 auditor over the event ledger: a clean campaign passes, claimed results are checked while a
round is still running, forced ether is reported (not a failure) and swept, and a falsified record is
caught (the audit can fail). `hcfl audit` detects the v2 kind on anvil and exits 0 / 1."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from eth_utils import to_checksum_address

from backend.audit_v2 import audit_v2, format_report_v2
from hcfl.chain.onchain_settle_v2 import V2Session, settle_campaign_on_chain
from hcfl.ledger.fetch import LedgerFetcher
from hcfl.ledger.records import ParticipantSettlement
from hcfl.mechanism.v2 import Campaign
from hcfl.protocol import Phase, ProposalSpec, Role

S = ["0x" + f"{i:064x}" for i in range(1, 20)]

CAMPAIGN = {
    "config": {"payment_rule": "posted", "owner_share_rule": "stake", "station_share_rule": "contribution",
               "vote_deposit": 3, "pool_draw_bps": 5000, "non_reveal_penalty_bps": 2500},
    "rounds": [
        {"participants": [
            {"id": "o1", "role": "owner", "deposit": 5000, "claims": [3000, 1000], "salt": S[0]},
            {"id": "o2", "role": "owner", "deposit": 8000, "claims": [2500, 4000], "salt": S[1]},
            {"id": "o3", "role": "owner", "deposit": 3000, "status": "committed"},
            {"id": "s1", "role": "station", "deposit": 2000, "claims": [500, 700], "salt": S[2]},
            {"id": "s2", "role": "station", "deposit": 2000, "claims": [800, 300], "salt": S[3]}],
         "proposals": [{"proposer": "o1", "price": 2000, "bond": 100}, {"proposer": "o2", "price": 1500, "bond": 100}],
         "reveal_order": ["s2", "o2", "s1", "o1"],
         "training": {"t": 2, "reported": {"s1": 2, "s2": 1},
                      "scores": {"leaves": [{"station": "s2", "score": 3, "prefix_before": 0},
                                            {"station": "s1", "score": 5, "prefix_before": 3}], "total": 8}},
         "votes": [{"voter": "o2", "punish": True}]},
        {"participants": [
            {"id": "o1", "role": "owner", "deposit": 5000, "claims": [3000], "salt": S[4]},
            {"id": "o2", "role": "owner", "deposit": 4000, "claims": [100], "salt": S[5]},
            {"id": "s1", "role": "station", "deposit": 2000, "claims": [500], "salt": S[6]}],
         "proposals": [{"proposer": "o1", "price": 1000, "bond": 100}],
         "training": {"t": 1, "reported": {"s1": 1}, "finalized": False}},
    ],
}


@pytest.fixture(scope="module")
def session():
    s = V2Session.open("embedded")
    yield s
    s.close()


@pytest.fixture(scope="module")
def ran(session):
    return settle_campaign_on_chain(Campaign.model_validate(CAMPAIGN), session=session)


def force_ether(session: V2Session, amount: int) -> None:
    """Init code `PUSH20 core SELFDESTRUCT`: sends `amount` to the contract without calling it."""
    w3, funder = session.chain.w3, session.chain.funder
    code = "0x73" + session.core.address[2:].lower() + "ff"
    tx = {"data": code, "value": amount, "gas": 100_000, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id,
          "nonce": w3.eth.get_transaction_count(funder.address)}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1


def test_clean_campaign_passes(session, ran) -> None:
    report = audit_v2(session.core)
    text = format_report_v2(report)
    assert report.ok, text
    assert [r.state for r in report.rounds] == ["finished", "finished"]
    assert all(r.claimed == r.participants for r in report.rounds)
    assert report.books.surplus == 0 and report.books.forced_ether == 0
    for name, row in report.books.totals.items():
        assert row["contract"] == row["ledger"], name
    assert report.campaigns[0].owner_pool == ran["pools_after"]["owner_pool"]
    # the contribution split was really used and proven (leaves read from the claimWithScore calls)
    ledger = LedgerFetcher(session.core).sync()
    rewards = [p.reward for p in ledger.rounds[0].participants if p.reward is not None]
    assert rewards and all(rw.by_contribution and rw.score is not None for rw in rewards)


def test_falsified_records_are_caught(session, ran) -> None:
    """The audit is not vacuous: a tax and a deposit that differ from what happened are flagged."""
    ledger = LedgerFetcher(session.core).sync()
    rid = 0
    r = ledger.rounds[rid]
    owner = next(p for p in r.participants if p.role == Role.OWNER and p.revealed)
    st = owner.settlement
    bad_tax = dataclasses.replace(owner, settlement=ParticipantSettlement(st.payment, st.tax + 1, st.penalty, st.refund))
    bad_deposit = dataclasses.replace(owner, deposit=owner.deposit + 1000)  # stake shares: the payments move
    for falsified, expect in ((bad_tax, ".tax"), (bad_deposit, ".payment")):
        parts = tuple(falsified if p.address == owner.address else p for p in r.participants)
        rounds = dict(ledger.rounds)
        rounds[rid] = dataclasses.replace(r, participants=parts)
        report = audit_v2(session.core, ledger=dataclasses.replace(ledger, rounds=rounds))
        assert not report.ok
        assert any(expect in m for m in report.rounds[rid].mismatches), report.rounds[rid].mismatches


def test_forced_ether_is_reported_then_swept(session, ran) -> None:
    snap = session.chain.snapshot()
    try:
        force_ether(session, 12345)
        report = audit_v2(session.core)
        assert report.ok, format_report_v2(report)
        assert report.books.surplus == 12345 and report.books.forced_ether == 12345
        assert "surplus" in format_report_v2(report)
        sweeper = session.core.as_participant(session.chain.funder)
        sweeper.sweep_surplus(0)
        after = audit_v2(session.core)
        assert after.ok, format_report_v2(after)
        assert after.books.surplus == 0 and after.books.swept == 12345 and after.campaigns[0].swept == 12345
    finally:
        session.chain.revert(snap)


def test_claims_checked_while_a_round_runs(session, ran) -> None:
    """A round settled with only some participants claimed for: their results are checked, the rest wait."""
    snap = session.chain.snapshot()
    try:
        core, chain = session.core, session.chain
        keys = session.keys({"a": 10**6, "b": 10**6, "c": 10**6})
        a, b, c = (core.as_participant(keys[n]) for n in "abc")
        creator = core.as_participant(chain.funder)
        cid = creator.create_campaign(core.campaign(0).cfg)
        rid = creator.open_round(cid)
        a.join(rid, Role.OWNER, 5000)
        b.join(rid, Role.OWNER, 7000)
        c.join(rid, Role.STATION, 3000)
        r = core.round(rid)
        chain.wait_until(r.join_end)
        a.propose(rid, ProposalSpec(global_rounds=1, price=900), 100)
        chain.wait_until(r.propose_end)
        for i, (p, cl) in enumerate(((a, [2000]), (b, [1500]), (c, [300]))):
            p.commit_claims(rid, cl, bytes([i + 1]) * 32)
        chain.wait_until(r.commit_end)
        a.reveal(rid, [2000], bytes([1]) * 32)
        c.reveal(rid, [300], bytes([3]) * 32)
        chain.wait_until(r.reveal_end)
        creator.settle(rid)
        creator.claim(rid, b.address)  # b committed and did not reveal: penalty
        creator.claim(rid, a.address)
        assert core.state(rid) == Phase.TRAINING
        report = audit_v2(core)
        assert report.ok, format_report_v2(report)
        ra = report.rounds[rid]
        assert ra.state == "settled" and ra.claimed == 2 and ra.participants == 3
    finally:
        session.chain.revert(snap)


@pytest.mark.anvil
def test_cli_detects_v2_on_anvil() -> None:
    session = V2Session.open("anvil")
    try:
        settle_campaign_on_chain(Campaign.model_validate(CAMPAIGN), session=session)
        url, addr = session.chain.rpc_url, session.core.address
        out = subprocess.run([sys.executable, "-m", "hcfl.cli", "audit", "--rpc", url, "--contract", addr, "--json"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        data = json.loads(out.stdout)
        assert data["kind"] == "v2" and data["ok"] and len(data["rounds"]) == 2
        # forced ether: still exit 0, the surplus is in the report
        force_ether(session, 777)
        out = subprocess.run([sys.executable, "-m", "hcfl.cli", "audit", "--rpc", url, "--contract", addr],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert "surplus" in out.stdout and "777 wei" in out.stdout
        # an address that is no HCFLCore (the lens, which has code but no counts()): a clear error, exit 1
        lens = session.core.lens.address
        out = subprocess.run([sys.executable, "-m", "hcfl.cli", "audit", "--rpc", url, "--contract", lens],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 1 and "not an HCFLCore" in out.stderr
        assert to_checksum_address(addr) == addr
    finally:
        session.close()

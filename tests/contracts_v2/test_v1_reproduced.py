"""Issue 8's defects reproduced against today's HCFLCrowdfund (v1): each test passes by showing the loss.

These document why v2 exists; test_v2_defects.py performs the same attacks against v2, which stops them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "contracts"))

from ct_helpers import Driver, one_event  # noqa: E402

from hcfl.chain.accounts import funded_accounts  # noqa: E402
from hcfl.chain.client import ContractRevert, HCFLClient  # noqa: E402
from hcfl.chain.types import PaymentRule, Phase, Role, ShareRule  # noqa: E402

ETH = 10**18
V1_NAMES = ["o1", "o2", "o3", "o4", "o5", "x", "y"] + [f"s{i}" for i in range(1, 11)]
HASH = b"\x42" * 32


@pytest.fixture(scope="module")
def d(chain) -> Driver:
    client = HCFLClient.deploy(chain)
    accounts = funded_accounts(chain, V1_NAMES, 10**22, namespace="hcfl-v1-repro")
    return Driver(chain=chain, client=client, acct={n: client.as_participant(a) for n, a in zip(V1_NAMES, accounts)})


@pytest.fixture(autouse=True)
def _v1_nonces(d):
    yield
    d.reset_nonces()


def _settle(d: Driver, rid: int):
    d.past_deadline(rid)
    return d.send(d.acct["x"], "settle", rid)


def test_v1_defect1_pool_theft_reproduced(d: Driver) -> None:
    # an honest round leaves 0.1 ETH in the contract-wide owner pool (o1 withholds its reveal)
    rid = d.new_round()
    d.run_to_reveal_end(rid, [("o1", ETH), ("o2", ETH)], [("s1", ETH)], [{"by": "o2", "bond": 100}],
                        {"o1": [ETH // 2], "o2": [ETH // 2], "s1": [0]}, reveal=["o2", "s1"])
    _settle(d, rid)
    pool = d.client.accounting().owner_pool
    assert pool == ETH // 10
    # the attacker's private round: its 2 owners + 1 station claim the pool size, the discount is the pool
    r2 = d.new_round(creator=d.acct["x"], payment_rule=PaymentRule.POSTED)
    d.run_to_reveal_end(r2, [("x", 2 * ETH), ("y", 2 * ETH)], [("s2", 2 * ETH)],
                        [{"by": "x", "bond": 1, "price": pool}], {"x": [pool], "y": [pool], "s2": [0]})
    receipt = _settle(d, r2)
    ev = one_event(d.client, receipt, "PoolsUpdated")
    assert ev["ownerDiscount"] == pool  # the honest campaign's whole pool went to the attacker's round
    assert d.client.accounting().owner_pool < pool


def test_v1_defect2_early_finalize_reproduced(d: Driver) -> None:
    rid = d.new_round()
    d.run_to_reveal_end(rid, [("o1", ETH)], [("s1", ETH)], [{"by": "o1", "bond": 100}],
                        {"o1": [ETH // 2], "s1": [0]})
    _settle(d, rid)
    d.send(d.acct["o1"], "finalizeTraining", rid, HASH, 9000, [1])  # right after settlement
    with pytest.raises(ContractRevert) as info:
        d.send(d.acct["s1"], "reportTraining", rid, 0, HASH, 1, 1)
    assert info.value.error == "WrongPhase"
    d.next_phase(rid)
    receipt = d.next_phase(rid)
    ev = one_event(d.client, receipt, "StationRewarded")
    assert ev["reward"] == 0 and ev["forfeited"] == ev["share"] > 0  # the station's whole reward is gone


def test_v1_defect3_junk_price_collapses_limits_reproduced(d: Driver) -> None:
    rid = d.new_round(payment_rule=PaymentRule.POSTED)
    d.run_to_reveal_end(rid, [("o1", ETH), ("o2", ETH), ("x", ETH)], [("s1", ETH)],
                        [{"by": "x", "bond": 1, "price": ETH - 1}, {"by": "o1", "bond": 100, "price": ETH // 10}],
                        {"o1": [0, ETH // 2], "o2": [0, ETH // 2], "x": [0, 0], "s1": [0, 0]})
    ev = one_event(d.client, _settle(d, rid), "RoundSettled")
    assert ev["selectedSome"] and ev["selected"] == 0 and ev["totalPayment"] == ETH - 1  # junk wins at its price


def test_v1_defect3_huge_price_blocks_commits_reproduced(d: Driver) -> None:
    rid = d.new_round(payment_rule=PaymentRule.POSTED)
    d.join(rid, d.acct["o1"], Role.OWNER, ETH)
    d.join(rid, d.acct["x"], Role.OWNER, ETH)
    d.next_phase(rid)
    d.propose(rid, d.acct["x"], bond=1, price=2**128 - 1)
    d.next_phase(rid)
    with pytest.raises(ContractRevert) as info:
        d.commit(rid, d.acct["o1"], [ETH])
    assert info.value.error == "InsufficientDeposit"


def test_v1_defect4_sybil_and_capability_capture_reproduced(d: Driver) -> None:
    rid = d.new_round(station_share_rule=ShareRule.CAPABILITY)
    d.run_to_reveal_end(rid, [("o1", ETH)], [("s1", ETH, 1), ("s2", 1, 2**64 - 1)], [{"by": "o1", "bond": 100}],
                        {"o1": [ETH // 2], "s1": [0], "s2": [0]})
    _settle(d, rid)
    for s in ("s1", "s2"):
        for g in range(2):
            d.send(d.acct[s], "reportTraining", rid, g, HASH, 1, 1)
    d.send(d.acct["o1"], "finalizeTraining", rid, HASH, 9000, [1, 1])
    d.next_phase(rid)
    receipt = d.next_phase(rid)
    got = {e["station"]: e["reward"] for e in d.client.contract.events.StationRewarded().process_receipt(receipt)
           for e in [e["args"]]}
    assert got[d.acct["s2"].address] > 1000 * got[d.acct["s1"].address]  # a 1-wei station took everything


def test_v1_defect5_c_inflation_reproduced(d: Driver) -> None:
    """A station's Sybil owner claims a huge value: C is drawn up to the owners' affordability, and the honest
    owners (value 1 ETH each) pay more than the model is worth to them (for these salts)."""
    from ct_helpers import salt_of

    worst = 0
    for attempt in range(6):
        snap = d.chain.snapshot()
        rid = d.new_round()
        claims = {"o1": [ETH], "o2": [ETH], "x": [10 * ETH], "s1": [ETH // 10]}
        for n in ("o1", "o2", "x", "s1"):
            d.join(rid, d.acct[n], Role.STATION if n == "s1" else Role.OWNER, ETH if n == "s1" else 10 * ETH)
        d.next_phase(rid)
        d.propose(rid, d.acct["o1"], bond=100)
        d.next_phase(rid)
        for n, cl in claims.items():  # another salt per attempt: another seed
            d.commit(rid, d.acct[n], cl, salt_of(f"attempt{attempt}/{n}"))
        d.next_phase(rid)
        for n in claims:
            d.reveal(rid, d.acct[n])
        receipt = _settle(d, rid)
        pays = {e["account"]: e["payment"] for e in
                (x["args"] for x in d.client.contract.events.ParticipantSettled().process_receipt(receipt))}
        worst = max(worst, pays[d.acct["o1"].address])
        d.chain.revert(snap)
        d.reset_nonces()
        if worst > ETH:
            break
    assert worst > ETH


def test_v1_defect6_tiny_deposit_cancels_reproduced(d: Driver) -> None:
    rid = d.new_round()
    d.run_to_reveal_end(rid, [("o1", 10 * ETH), ("x", 1)], [("s1", ETH)], [{"by": "o1", "bond": 100}],
                        {"o1": [5 * ETH], "x": [0], "s1": [ETH // 10]})
    ev = one_event(d.client, _settle(d, rid), "RoundSettled")
    assert ev["unfunded"]


def test_v1_defect7_penalty_rounds_to_zero_reproduced(d: Driver) -> None:
    rid = d.new_round()
    d.run_to_reveal_end(rid, [("o1", ETH), ("x", 9)], [("s1", ETH)], [{"by": "o1", "bond": 100}],
                        {"o1": [ETH // 2], "x": [1], "s1": [0]}, reveal=["o1", "s1"])
    ev = one_event(d.client, _settle(d, rid), "NonRevealPenalized")
    assert ev["penalty"] == 0  # withholding (and so choosing the seed) was free


def test_v1_defect8_duration_overflow_locks_reproduced(d: Driver) -> None:
    rid = d.new_round(propose_duration=2**64 - 1)
    d.join(rid, d.acct["o1"], Role.OWNER, ETH)
    with pytest.raises(ContractRevert) as info:
        d.next_phase(rid)
    assert info.value.error == "Panic"  # arithmetic overflow in _enter: the round can never move on
    assert d.client.round(rid).phase == Phase.JOINING and d.client.credit_of(d.acct["o1"].address) == 0


def test_v1_defect9_proposal_list_filled_reproduced(d: Driver) -> None:
    rid = d.new_round()
    d.join(rid, d.acct["x"], Role.OWNER, 1)
    d.join(rid, d.acct["o1"], Role.OWNER, ETH)
    d.next_phase(rid)
    for _ in range(20):
        d.propose(rid, d.acct["x"], bond=1)
    with pytest.raises(ContractRevert) as info:
        d.propose(rid, d.acct["o1"], bond=ETH)
    assert info.value.error == "TooManyProposals"


def test_v1_defect10_sybil_votes_reproduced(d: Driver) -> None:
    rid = d.new_round(owner_share_rule=ShareRule.CAPABILITY)
    owners = [("o1", 10 * ETH, 1), ("o2", 1, 0), ("o3", 1, 0), ("o4", 1, 0), ("o5", ETH, 1)]
    d.run_to_reveal_end(rid, owners, [("s1", ETH)], [{"by": "o5", "bond": 4000}],
                        {"o1": [ETH], "o2": [0], "o3": [0], "o4": [0], "o5": [0], "s1": [0]})
    _settle(d, rid)
    for g in range(2):
        d.send(d.acct["s1"], "reportTraining", rid, g, HASH, 1, 1)
    d.send(d.acct["o5"], "finalizeTraining", rid, HASH, 9000, [1])
    votes = {"o1": False, "o2": True, "o3": True, "o4": True}
    for n, p in votes.items():
        d.commit_vote(rid, d.acct[n], p)
    d.next_phase(rid)
    for n in votes:
        d.reveal_vote(rid, d.acct[n])
    receipt = d.next_phase(rid)
    assert one_event(d.client, receipt, "VoteTallied")["punished"]
    slash = sum(e["args"]["amount"] for e in d.client.contract.events.Credited().process_receipt(receipt)
                if e["args"]["reason"] == 3 and e["args"]["account"] in {d.acct[n].address for n in ("o2", "o3", "o4")})
    assert slash == 3000  # 75 % of the bond to three 1-wei heads


def test_v1_defect11_forced_ether_breaks_audit_reproduced(d: Driver) -> None:
    from backend.auditor import audit

    w3, funder = d.chain.w3, d.chain.funder
    init = bytes([0x73]) + bytes.fromhex(d.client.address[2:]) + bytes([0xFF])
    tx = {"from": funder.address, "value": 1, "data": init, "gas": 100_000, "gasPrice": w3.eth.gas_price,
          "nonce": w3.eth.get_transaction_count(funder.address), "chainId": w3.eth.chain_id}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    report = audit(d.client)
    assert not report.ok  # balance != accounting forever


def test_v1_defect12_vote_withholding_free_reproduced(d: Driver) -> None:
    fn = [f for f in d.client.abi if f.get("name") == "commitVote"][0]
    assert fn["stateMutability"] == "nonpayable"  # a vote puts nothing at stake: not revealing costs nothing


def test_v1_defect13_equal_owner_pays_above_value_reproduced(d: Driver) -> None:
    rid = d.new_round(payment_rule=PaymentRule.POSTED)
    d.run_to_reveal_end(rid, [("o1", 4 * ETH), ("o2", 4 * ETH)], [("s1", 4 * ETH)],
                        [{"by": "o2", "bond": 100, "price": ETH}],
                        {"o1": [ETH // 10], "o2": [3 * ETH], "s1": [0]})
    receipt = _settle(d, rid)
    pays = {e["args"]["account"]: e["args"]["payment"] for e in
            d.client.contract.events.ParticipantSettled().process_receipt(receipt)}
    assert pays[d.acct["o1"].address] == ETH // 2 > ETH // 10  # value 0.1 ETH, pays 0.5 ETH

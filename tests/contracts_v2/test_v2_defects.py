"""Issue 8, defects 1-13: each attack performed with real transactions against v2, which stops it.

(The same attacks against today's HCFLCrowdfund, showing the loss, are in test_v1_reproduced.py.)
"""
from __future__ import annotations

import pytest
from eth_utils import keccak
from v2_helpers import ETH, V2, cfg, expect_revert, salt_of, spec

from hcfl.merkle import MerkleTree
from hcfl.protocol import MAX_DURATION, PaymentRule, Phase, Role, ShareRule

MIN = 10**15  # min deposits / bond in the test campaigns


def finish_training(v: V2, rid: int, stations: list[str], winner: str, t: int = 2, **fin) -> None:
    for s in stations:
        for g in range(t):
            v[s].report_training(rid, g, keccak(text=f"u/{s}/{g}"), 10, 9000, b"\x33" * 32)
    v[winner].finalize_training(rid, b"\x44" * 32, 9000, fin.get("root", b"\0" * 32), fin.get("total", 0), b"\x55" * 32)


def rewards(v: V2, receipt) -> dict[str, dict]:
    return {ev.args["station"]: ev.args for ev in v.core.receipt_events(receipt) if ev.name == "StationRewarded"}


# ------------------------------------------------------------------------------------------ defect 1
def test_defect1_pool_theft_blocked(v: V2) -> None:
    """A campaign's pools only serve its own rounds, a round draws at most poolDrawBps of them, and only the
    creator opens rounds: a private round of an attacker gets nothing of another campaign's pools."""
    honest = v.campaign(cfg())
    rid = v.round_to_reveal(honest, {"o1": ETH, "o2": ETH, "s1": ETH}, [("o2", ETH // 10)],
                            {"o1": [ETH // 2], "o2": [ETH // 2], "s1": [0]}, reveal=["o2", "s1"])
    v.settle(rid)
    v.claim_all(rid)  # o1 withheld: its whole deposit (bps 10000) goes to the honest campaign's owner pool
    assert v.core.campaign(honest).owner_pool == ETH
    # the attacker cannot open a round of the honest campaign
    expect_revert(v, "NotCampaignCreator", lambda: v["x"].open_round(honest))
    # its own campaign has empty pools: 2 owners + 1 station of its own claiming the pool size get nothing
    evil = v.campaign(cfg(), creator="x")
    r2 = v.open(evil, creator="x")
    v["x"].join(r2, Role.OWNER, ETH)
    v["y"].join(r2, Role.OWNER, ETH)
    v["s2"].join(r2, Role.STATION, ETH)
    v.goto(r2, Phase.PROPOSING)
    v["x"].propose(r2, spec(ETH), MIN)
    v.goto(r2, Phase.COMMITTING)
    for n, c in (("x", ETH - 1), ("y", ETH - 1), ("s2", 0)):
        v[n].commit_claims(r2, [c], salt_of(n))
    v.goto(r2, Phase.REVEALING)
    for n, c in (("x", ETH - 1), ("y", ETH - 1), ("s2", 0)):
        v[n].reveal(r2, [c], salt_of(n))
    v.settle(r2)
    r = v.core.round(r2)
    assert r.selected and r.owner_discount == 0 and r.station_bonus == 0
    assert v.core.campaign(honest).owner_pool == ETH
    # a round of the honest campaign draws at most 25 % of its pool
    r3 = v.round_to_reveal(honest, {"o3": ETH, "o4": ETH, "s3": ETH}, [("o3", ETH)],
                           {"o3": [ETH - 1], "o4": [ETH - 1], "s3": [0]})
    v.settle(r3)
    assert v.core.round(r3).owner_discount == ETH * 2500 // 10_000
    assert v.core.campaign(honest).owner_pool == ETH - ETH // 4
    v.assert_solvent()


# ------------------------------------------------------------------------------------------ defect 2
def test_defect2_early_finalize_cannot_cut_rewards(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "s1": ETH, "s2": ETH}, [("o1", ETH)],
                            {"o1": [2 * ETH - 1], "s1": [0], "s2": [0]})
    v.settle(rid)
    v["o1"].finalize_training(rid, b"\x44" * 32, 9000, b"\0" * 32, 0, b"\x55" * 32)  # right after settlement
    assert v.core.state(rid) == Phase.TRAINING  # reporting stays open
    for s in ("s1", "s2"):
        for g in range(2):
            v[s].report_training(rid, g, keccak(text=f"{s}{g}"), 1, 9000, b"\0" * 32)
    assert v.core.state(rid) == Phase.VOTE_COMMITTING  # closed once every station reported all t rounds
    v.goto(rid, Phase.FINISHED)
    rec = {s: rewards(v, v["x"].claim(rid, v.addr(s)))[v.addr(s)] for s in ("s1", "s2")}
    assert all(r["forfeited"] == 0 and r["reward"] == r["share"] for r in rec.values())
    assert sum(r["reward"] for r in rec.values()) == ETH  # the whole escrow E = C


def test_defect2_stations_report_until_train_end(v: V2) -> None:
    """Without a finalize, reporting stays open until trainEnd; a winner that never finalizes has failed."""
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "o2": ETH, "s1": ETH}, [("o1", ETH)],
                            {"o1": [2 * ETH - 1], "o2": [ETH - 1], "s1": [0]})
    v.settle(rid)
    v["s1"].report_training(rid, 0, b"\x01" * 32, 1, 1, b"\0" * 32)
    v.goto(rid, Phase.FINISHED)  # trainEnd passed, not finalized: failed, bond split among revealed owners
    receipts = {n: v["x"].claim(rid, v.addr(n)) for n in ("o1", "o2", "s1")}
    ev = [e for e in v.core.receipt_events(receipts["o1"]) if e.name == "BondReleased"][0]
    assert ev.args["failed"] and ev.args["punished"]
    assert rewards(v, receipts["s1"])[v.addr("s1")]["reward"] == ETH // 2  # reported 1 of 2


# ------------------------------------------------------------------------------------------ defect 3
def test_defect3_junk_proposal_never_selected(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": 3 * ETH, "o2": 3 * ETH, "x": ETH, "s1": ETH},
                            [("o1", 2 * ETH), ("x", ETH - 1)],
                            {"o1": [3 * ETH, 0], "o2": [2 * ETH, 0], "x": [0, 0], "s1": [ETH // 2, 0]})
    parts = {n: v.core.participant(rid, v.addr(n)) for n in ("o1", "o2")}
    assert parts["o1"].claims[0] == 3 * ETH - 1 and parts["o2"].claims[0] == 2 * ETH  # limits: deposit - 1 only
    v.settle(rid)
    r = v.core.round(rid)
    assert r.selected and r.star == 0 and r.payment == 2 * ETH


def test_defect3_huge_price_refused_and_commits_never_revert(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.open(cid)
    v["o1"].join(rid, Role.OWNER, ETH)
    v.goto(rid, Phase.PROPOSING)
    expect_revert(v, "PriceTooLarge", lambda: v["o1"].propose(rid, spec(2**128 - 1), MIN), [rid])
    # even a campaign that allows 2^128-1 keeps commits working (no claim limit depends on a price)
    cid2 = v.campaign(cfg(max_price=2**128 - 1))
    r2 = v.round_to_reveal(cid2, {"o1": ETH, "o2": ETH, "s1": ETH}, [("o1", 2**128 - 1), ("o2", ETH // 2)],
                           {"o1": [ETH, ETH], "o2": [ETH, ETH], "s1": [0, 0]})
    v.settle(r2)
    r = v.core.round(r2)
    assert r.selected and r.star == 1  # the unaffordable price is not eligible


# ------------------------------------------------------------------------------------------ defect 4
def test_defect4_sybil_stations_get_their_stake_share_only(v: V2) -> None:
    cid = v.campaign(cfg())
    sybils = [f"s{i}" for i in range(2, 11)]
    deposits = {"o1": 2 * ETH, "s1": ETH} | {s: MIN for s in sybils}
    claims = {"o1": [2 * ETH - 1], "s1": [0]} | {s: [0] for s in sybils}
    rid = v.round_to_reveal(cid, deposits, [("o1", ETH)], claims)
    v.settle(rid)
    finish_training(v, rid, ["s1", *sybils], "o1")
    v.goto(rid, Phase.FINISHED)
    got = {s: rewards(v, v["x"].claim(rid, v.addr(s)))[v.addr(s)]["reward"] for s in ["s1", *sybils]}
    assert sum(got[s] for s in sybils) * 100 < ETH  # 9 Sybils with min deposits: < 1 % of C (v1: 90 %)
    assert got["s1"] > ETH * 99 // 100


def _contribution_round(v: V2) -> tuple[int, MerkleTree, list]:
    cid = v.campaign(cfg(station_share_rule=ShareRule.CONTRIBUTION))
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "s1": ETH, "s2": ETH}, [("o1", ETH)],
                            {"o1": [2 * ETH - 1], "s1": [0], "s2": [0]})
    v.settle(rid)
    # the winner's scores send everything to its own station s2: leaves (station, score, prefixBefore)
    leaves = [(v.addr("s1"), 0, 0), (v.addr("s2"), 1, 0)]
    tree = MerkleTree.build(["address", "uint256", "uint256"], leaves)
    finish_training(v, rid, ["s1", "s2"], "o1", root=tree.root, total=1)
    return rid, tree, leaves


def test_defect4_contribution_objection_falls_back_to_equal(v: V2) -> None:
    rid, _tree, _ = _contribution_round(v)
    v["s1"].object_scores(rid)
    expect_revert(v, "AlreadyObjected", lambda: v["s2"].object_scores(rid), [rid])
    v.goto(rid, Phase.FINISHED)
    got = {s: rewards(v, v["x"].claim(rid, v.addr(s)))[v.addr(s)] for s in ("s1", "s2")}
    assert got["s1"]["reward"] == got["s2"]["reward"] == ETH // 2
    assert not got["s1"]["byContribution"]


def test_defect4_contribution_claims_need_a_proof(v: V2) -> None:
    rid, tree, leaves = _contribution_round(v)
    v.goto(rid, Phase.FINISHED)
    v["x"].claim(rid, v.addr("s2"))  # settles the deposit part; the reward needs the leaf's proof
    expect_revert(v, "ProofRequired", lambda: v["x"].claim(rid, v.addr("s2")), [rid])
    expect_revert(v, "InvalidProof", lambda: v["x"].claim_with_score(rid, 5, 0, tree.proof(1), v.addr("s2")), [rid])
    ev = rewards(v, v["x"].claim_with_score(rid, 1, 0, tree.proof(1), v.addr("s2")))[v.addr("s2")]
    assert ev["share"] == ETH and ev["byContribution"]
    v.assert_solvent()


# ------------------------------------------------------------------------------------------ defect 5
def test_defect5_paper_random_c_bounded(v: V2) -> None:
    cid = v.campaign(cfg(payment_rule=PaymentRule.PAPER_RANDOM, max_price=2 * ETH))
    rid = v.round_to_reveal(cid, {"o1": 5 * ETH, "o2": 5 * ETH, "o3": 100 * ETH, "s1": ETH}, [("o1", 0)],
                            {"o1": [ETH], "o2": [ETH], "o3": [1000 * ETH], "s1": [ETH // 10]})
    v.settle(rid)
    r = v.core.round(rid)
    assert r.selected and ETH // 10 <= r.payment <= 2 * ETH
    for n in ("o1", "o2"):
        s = v.core.preview_settlement(rid, v.addr(n))
        assert s.payment + s.tax <= ETH  # an honest owner never pays more than its value


# ------------------------------------------------------------------------------------------ defect 6
def test_defect6_tiny_owner_cannot_join_or_cancel(v: V2) -> None:
    cid = v.campaign(cfg(payment_rule=PaymentRule.PAPER_RANDOM))
    rid = v.open(cid)
    expect_revert(v, "DepositTooSmall", lambda: v["x"].join(rid, Role.OWNER, 1), [rid])
    v.joined[rid] = []
    r2 = v.round_to_reveal(cid, {"o1": ETH, "x": MIN, "s1": ETH}, [("o1", 0)],
                           {"o1": [ETH // 2], "x": [MIN - 1], "s1": [ETH // 10]})
    v.settle(r2)
    r = v.core.round(r2)
    assert r.selected and not r.unfunded


# ------------------------------------------------------------------------------------------ defect 7
@pytest.mark.parametrize("bps,floor,deposit,expected", [
    (3, 1, MIN + 1, 300_000_000_001),  # rounded up
    (1, 10**12, MIN, 10**12),  # the floor
    (10_000, 10**12, MIN, MIN),  # whole deposit
])
def test_defect7_penalty_rounded_up_with_floor(v: V2, bps: int, floor: int, deposit: int, expected: int) -> None:
    cid = v.campaign(cfg(non_reveal_penalty_bps=bps, non_reveal_penalty_floor=floor))
    rid = v.round_to_reveal(cid, {"o1": ETH, "y": deposit, "s1": ETH}, [("o1", 0)],
                            {"o1": [1], "y": [1], "s1": [0]}, reveal=["o1", "s1"])
    v.settle(rid)
    receipt = v["x"].claim(rid, v.addr("y"))
    ev = [e for e in v.core.receipt_events(receipt) if e.name == "ParticipantSettled"][0]
    assert ev.args["penalty"] == expected and ev.args["refund"] == deposit - expected
    assert v.core.campaign(cid).owner_pool == expected


# ------------------------------------------------------------------------------------------ defect 8
@pytest.mark.parametrize("field", ["join_duration", "propose_duration", "commit_duration", "reveal_duration",
                                   "train_duration", "vote_commit_duration", "vote_reveal_duration"])
def test_defect8_duration_capped(v: V2, field: str) -> None:
    expect_revert(v, "DurationOutOfRange", lambda: v.campaign(cfg(**{field: 2**64 - 1})))
    expect_revert(v, "DurationOutOfRange", lambda: v.campaign(cfg(**{field: MAX_DURATION + 1})))
    expect_revert(v, "DurationOutOfRange", lambda: v.campaign(cfg(**{field: 0})))


def test_defect8_max_durations_still_finish(v: V2) -> None:
    cid = v.campaign(cfg(**{f: MAX_DURATION for f in ("join_duration", "propose_duration", "commit_duration",
                                                      "reveal_duration", "train_duration", "vote_commit_duration",
                                                      "vote_reveal_duration")}))
    rid = v.open(cid)
    v["o1"].join(rid, Role.OWNER, ETH)
    v.chain.wait_until(v.core.round(rid).propose_end)
    assert v.core.state(rid) == Phase.FINISHED  # no proposal: everyone claims a refund
    v["x"].claim(rid, v.addr("o1"))
    assert v.core.credit_of(v.addr("o1")) == ETH


# ------------------------------------------------------------------------------------------ defect 9
def test_defect9_capacity_griefing(v: V2) -> None:
    cid = v.campaign(cfg(max_proposals_per_owner=20))
    rid = v.open(cid)
    expect_revert(v, "DepositTooSmall", lambda: v["x"].join(rid, Role.OWNER, 1), [rid])
    expect_revert(v, "DepositTooSmall", lambda: v["s1"].join(rid, Role.STATION, MIN - 1), [rid])
    for n in ("o1", "o2", "x"):
        v[n].join(rid, Role.OWNER, ETH)
    v.goto(rid, Phase.PROPOSING)
    expect_revert(v, "BondTooSmall", lambda: v["x"].propose(rid, spec(1), MIN - 1), [rid])
    for _ in range(20):
        v["x"].propose(rid, spec(1), MIN)
    expect_revert(v, "TooManyProposals", lambda: v["o1"].propose(rid, spec(1), MIN), [rid])
    c2 = v.campaign(cfg(max_proposals_per_owner=2))
    r2 = v.open(c2)
    v["x"].join(r2, Role.OWNER, ETH)
    v.goto(r2, Phase.PROPOSING)
    v["x"].propose(r2, spec(1), MIN)
    v["x"].propose(r2, spec(1), MIN)
    expect_revert(v, "TooManyProposalsByOwner", lambda: v["x"].propose(r2, spec(1), MIN), [r2])


# ------------------------------------------------------------------------------------------ defect 10
def test_defect10_sybil_votes_weighted_by_payment_share(v: V2) -> None:
    cid = v.campaign(cfg())
    deposits = {"o1": 10 * ETH, "o2": MIN, "o3": MIN, "o4": MIN, "o5": ETH, "s1": ETH}
    claims = {"o1": [ETH], "o2": [MIN - 1], "o3": [MIN - 1], "o4": [MIN - 1], "o5": [ETH // 2], "s1": [0]}
    rid = v.round_to_reveal(cid, deposits, [("o5", ETH)], claims)
    v.settle(rid)
    finish_training(v, rid, ["s1"], "o5")
    w = {n: v.core.vote_weight(rid, v.addr(n)) for n in ("o1", "o2", "o3", "o4", "o5")}
    assert w["o5"] == 0 and w["o1"] > 100 * (w["o2"] + w["o3"] + w["o4"])
    votes = {"o1": False, "o2": True, "o3": True, "o4": True}  # three Sybil heads vote to punish
    for n, p in votes.items():
        v[n].commit_vote(rid, p, salt_of(f"v{n}"))
    v.goto(rid, Phase.VOTE_REVEALING)
    for n, p in votes.items():
        v[n].reveal_vote(rid, p, salt_of(f"v{n}"))
    v.goto(rid, Phase.FINISHED)
    ev = [e for e in v.core.receipt_events(v["x"].claim(rid, v.addr("o5"))) if e.name == "BondReleased"][0]
    assert not ev.args["punished"] and ev.args["toWinner"] == MIN


# ------------------------------------------------------------------------------------------ defect 11
def test_defect11_forced_ether_is_surplus_and_swept(v: V2) -> None:
    cid = v.campaign(cfg())
    w3 = v.chain.w3
    funder = v.chain.funder
    # init code: PUSH20 <core> SELFDESTRUCT, deployed with 1 wei
    init = bytes([0x73]) + bytes.fromhex(v.core.address[2:]) + bytes([0xFF])
    tx = {"from": funder.address, "value": 1, "data": init, "gas": 100_000, "gasPrice": w3.eth.gas_price,
          "nonce": w3.eth.get_transaction_count(funder.address), "chainId": w3.eth.chain_id}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    a = v.core.accounting()
    assert a.balance == a.owed + 1 and a.surplus == 1
    v["x"].sweep_surplus(cid)
    assert v.core.campaign(cid).owner_pool == 1
    a = v.core.accounting()
    assert a.surplus == 0 and a.balance == a.owed
    expect_revert(v, "NoSurplus", lambda: v["x"].sweep_surplus(cid))
    expect_revert(v, "UnknownCampaign", lambda: v["x"].sweep_surplus(99))


# ------------------------------------------------------------------------------------------ defect 12
def test_defect12_withheld_vote_costs_the_vote_deposit(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": ETH, "o2": ETH, "s1": ETH}, [("o1", ETH // 2)],
                            {"o1": [ETH - 1], "o2": [ETH - 1], "s1": [0]})
    v.settle(rid)
    finish_training(v, rid, ["s1"], "o1")
    v["o2"].commit_vote(rid, True, salt_of("v"))
    expect_revert(v, "WrongVoteDeposit", lambda: v["o2"].commit_vote(rid, True, salt_of("v"), deposit=1), [rid])
    v.goto(rid, Phase.FINISHED)  # o2 never reveals
    pool = v.core.campaign(cid).owner_pool
    receipt = v["x"].claim(rid, v.addr("o2"))
    assert [e.args["amount"] for e in v.core.receipt_events(receipt) if e.name == "VoteDepositForfeited"] == [MIN]
    assert v.core.campaign(cid).owner_pool >= pool + MIN


@pytest.mark.parametrize("bps,withholding_pays", [(10_000, False), (100, True)])
def test_defect12_pivot_withholding(v: V2, bps: int, withholding_pays: bool) -> None:
    """o1 is a pivot (its value moves the choice to P0 and it pays a Clarke tax). With the default
    whole-deposit penalty withholding never returns more money than revealing (tax + payment <= deposit);
    with a 1 % penalty it does (documented in docs/v2-deviations.md / security notes)."""
    cid = v.campaign(cfg(non_reveal_penalty_bps=bps))
    deposits = {"o1": 4 * ETH, "o2": 4 * ETH, "s1": ETH}
    claims = {"o1": [3 * ETH, 0], "o2": [0, 2 * ETH], "s1": [0, 0]}
    rid = v.round_to_reveal(cid, deposits, [("o1", ETH), ("o2", ETH)], claims, reveal=["o2", "s1"])
    snap = v.chain.snapshot()
    v["o1"].reveal(rid, claims["o1"], salt_of(f"{rid}/o1"))
    v.settle(rid)
    revealed = v.core.preview_settlement(rid, v.addr("o1"))
    assert v.core.round(rid).star == 0 and revealed.tax > 0
    v.chain.revert(snap)
    v.core.nonces.forget(v.addr("x"))
    v.settle(rid)
    withheld = v.core.preview_settlement(rid, v.addr("o1"))
    assert (withheld.refund > revealed.refund) is withholding_pays
    if not withholding_pays:
        assert revealed.payment + revealed.tax <= 4 * ETH == withheld.penalty


# ------------------------------------------------------------------------------------------ defect 13
def test_defect13_proportional_keeps_truthful_utility_nonnegative(v: V2) -> None:
    values = {"o1": ETH // 10, "o2": 3 * ETH}
    costs = {"s1": ETH // 5, "s2": ETH // 4}
    for rule, negative_expected in ((ShareRule.EQUAL, True), (ShareRule.PROPORTIONAL, False)):
        cid = v.campaign(cfg(owner_share_rule=rule, station_share_rule=rule))
        rid = v.round_to_reveal(cid, {"o1": 4 * ETH, "o2": 4 * ETH, "s1": ETH, "s2": ETH}, [("o2", ETH)],
                                {"o1": [values["o1"]], "o2": [values["o2"]], "s1": [costs["s1"]], "s2": [costs["s2"]]})
        v.settle(rid)
        assert v.core.round(rid).selected
        finish_training(v, rid, ["s1", "s2"], "o2")
        v.goto(rid, Phase.FINISHED)
        util = {}
        for n, val in values.items():
            s = v.core.preview_settlement(rid, v.addr(n))
            util[n] = val - s.payment - s.tax
        for n, cost in costs.items():
            s = v.core.preview_settlement(rid, v.addr(n))
            r = rewards(v, v["x"].claim(rid, v.addr(n)))[v.addr(n)]
            util[n] = r["reward"] - cost - s.tax
        assert (min(util.values()) < 0) is negative_expected, (rule, util)

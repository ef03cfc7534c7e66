"""Rewards only for included work (issue 9; docs/security.md): a station earns for a global round only if its
update was in that round's aggregate. The winner records the root of (station, includedRounds) leaves; a
station is paid share * min(includedRounds, reported) / t; what it is not paid goes to the campaign's station
pool. A station the root shortchanges contests it; the owners' punishment vote decides (never the winner alone).
"""
from __future__ import annotations

from eth_utils import keccak
from test_v2_defects import rewards
from v2_helpers import ETH, V2, cfg, expect_revert, salt_of

from backend.audit_v2 import audit_v2, format_report_v2
from hcfl.inclusion import inclusion_tree
from hcfl.protocol import Phase

T = 3


def _training(v: V2) -> tuple[int, int]:
    """o1 wins (price 1 ETH, t = 3), o2 votes; s1 and s2 (equal stakes) both report all 3 global rounds."""
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "o2": 2 * ETH, "s1": ETH, "s2": ETH}, [("o1", ETH)],
                            {"o1": [ETH], "o2": [ETH], "s1": [0], "s2": [0]}, t=T)
    v.settle(rid)
    for s in ("s1", "s2"):  # s2's daemon was killed after g=0: its operator keeps calling reportTraining
        for g in range(T):
            v[s].report_training(rid, g, keccak(text=f"u/{s}/{g}"), 10, 9000, b"\x33" * 32)
    return cid, rid


def _record(v: V2, rid: int, counts: dict[str, int]) -> dict:
    tree = inclusion_tree({v.addr(n): c for n, c in counts.items()})
    v["o1"].record_inclusion(rid, bytes.fromhex(tree["inclusion_root"][2:]), b"\x66" * 32)
    return {leaf["station"]: leaf for leaf in tree["inclusion_leaves"]}


def _prove(v: V2, rid: int, leaf: dict) -> None:
    v["x"].prove_inclusion(rid, leaf["included_rounds"], [bytes.fromhex(p[2:]) for p in leaf["proof"]],
                           leaf["station"])


def _vote(v: V2, rid: int, punish: bool) -> None:
    v.goto(rid, Phase.VOTE_COMMITTING)
    v["o2"].commit_vote(rid, punish, salt_of("vote"))
    v.goto(rid, Phase.VOTE_REVEALING)
    v["o2"].reveal_vote(rid, punish, salt_of("vote"))
    v.goto(rid, Phase.FINISHED)


def _audited(v: V2, rid: int) -> None:
    """`hcfl audit`'s books: the reference (hcfl.inclusion.counted_rounds over the ledger's InclusionProven and
    InclusionContested events and the vote) computes every reward the chain paid, to the wei."""
    report = audit_v2(v.core)
    mine = [r for r in report.rounds if r.round_id == rid]
    assert mine and mine[0].state == "finished" and not mine[0].mismatches, format_report_v2(report)


def _reward(v: V2, rid: int, name: str) -> dict:
    return rewards(v, v["x"].claim(rid, v.addr(name)))[v.addr(name)]


def test_killed_daemon_reporting_without_uploads_is_paid_only_for_included_rounds(v: V2) -> None:
    cid, rid = _training(v)
    leaves = _record(v, rid, {"s1": 3, "s2": 1})
    v["o1"].finalize_training(rid, b"\x44" * 32, 9000, b"\0" * 32, 0, b"\x55" * 32)
    _vote(v, rid, False)
    for n in ("s1", "s2"):
        v["x"].claim(rid, v.addr(n))  # the deposit part needs no proof
    # the reward needs the proven leaf: without it, nothing is paid
    expect_revert(v, "ProofRequired", lambda: v["x"].claim(rid, v.addr("s2")), [rid])
    # a tampered leaf (s2 included in all 3 rounds) does not verify
    bad = dict(leaves[v.addr("s2")], included_rounds=3)
    expect_revert(v, "InvalidProof", lambda: _prove(v, rid, bad), [rid])
    pool = v.core.campaign(cid).station_pool
    for n in ("s1", "s2"):
        _prove(v, rid, leaves[v.addr(n)])
    assert v.core.inclusion_of(rid, v.addr("s2"))[1:] == (True, 1, False)
    expect_revert(v, "InclusionAlreadyProven", lambda: _prove(v, rid, leaves[v.addr("s2")]), [rid])
    r1, r2 = _reward(v, rid, "s1"), _reward(v, rid, "s2")
    assert r1["reward"] == r1["share"] > 0
    assert r2["reward"] == r2["share"] * 1 // T and r2["forfeited"] == r2["share"] - r2["reward"] > 0
    # the withheld part is not lost: it is in the campaign's station pool
    assert v.core.campaign(cid).station_pool == pool + r2["forfeited"]
    assert v.core.accounting().escrow == 0
    v.assert_solvent()
    v.claim_all(rid)
    _audited(v, rid)


def test_omitted_honest_station_contests_and_the_vote_pays_it(v: V2) -> None:
    """The winner's root leaves s1's included updates out (0 rounds): s1 contests; o2 punishes the winner,
    so s1 is paid for its reported rounds."""
    _, rid = _training(v)
    leaves = _record(v, rid, {"s1": 0, "s2": 3})
    v["o1"].finalize_training(rid, b"\x44" * 32, 9000, b"\0" * 32, 0, b"\x55" * 32)
    expect_revert(v, "NotRevealedStation", lambda: v["o2"].contest_inclusion(rid), [rid])
    v["s1"].contest_inclusion(rid)
    expect_revert(v, "AlreadyContested", lambda: v["s1"].contest_inclusion(rid), [rid])
    assert v.core.inclusion_of(rid, v.addr("s1"))[1:] == (False, 0, True)
    _vote(v, rid, True)
    r1 = _reward(v, rid, "s1")  # deposit and reward at once: s1 needs no proof, its contest won
    v["x"].claim(rid, v.addr("s2"))
    _prove(v, rid, leaves[v.addr("s2")])
    r2 = _reward(v, rid, "s2")
    assert r1["reward"] == r1["share"] > 0 and r2["reward"] == r2["share"] > 0
    v.assert_solvent()
    v.claim_all(rid)
    _audited(v, rid)


def test_contest_the_vote_rejects_pays_by_the_root(v: V2) -> None:
    """The killed daemon contests too, but the owners keep the winner: it is paid for its included round only."""
    _, rid = _training(v)
    leaves = _record(v, rid, {"s1": 3, "s2": 1})
    v["o1"].finalize_training(rid, b"\x44" * 32, 9000, b"\0" * 32, 0, b"\x55" * 32)
    v["s2"].contest_inclusion(rid)
    _vote(v, rid, False)
    v["x"].claim(rid, v.addr("s2"))
    expect_revert(v, "ProofRequired", lambda: v["x"].claim(rid, v.addr("s2")), [rid])
    _prove(v, rid, leaves[v.addr("s2")])
    r2 = _reward(v, rid, "s2")
    assert r2["reward"] == r2["share"] // T
    v.assert_solvent()
    _prove(v, rid, leaves[v.addr("s1")])
    v.claim_all(rid)
    _audited(v, rid)


def test_only_the_winner_records_once_while_training(v: V2) -> None:
    _, rid = _training(v)
    root = b"\x77" * 32
    expect_revert(v, "NoInclusionRoot", lambda: v["x"].prove_inclusion(rid, 1, [], v.addr("s1")), [rid])
    expect_revert(v, "NoInclusionRoot", lambda: v["s1"].contest_inclusion(rid), [rid])
    expect_revert(v, "NotWinner", lambda: v["o2"].record_inclusion(rid, root), [rid])
    expect_revert(v, "NoInclusionRoot", lambda: v["o1"].record_inclusion(rid, b"\0" * 32), [rid])
    v["o1"].record_inclusion(rid, root)
    expect_revert(v, "InclusionAlreadyRecorded", lambda: v["o1"].record_inclusion(rid, b"\x78" * 32), [rid])
    assert v.core.inclusion_of(rid, v.addr("s1")) == (root, False, 0, False)
    # more included rounds than t never verify
    expect_revert(v, "InvalidProof", lambda: v["x"].prove_inclusion(rid, T + 1, [], v.addr("s1")), [rid])


def test_no_root_or_failed_winner_pays_by_reported_rounds(v: V2) -> None:
    """A root recorded by a winner who then never finalizes is ignored: the stations are paid as reported."""
    _, rid = _training(v)
    _record(v, rid, {"s1": 0, "s2": 0})
    v.chain.wait_until(v.core.round(rid).train_end + 1)  # no finalize: the winner failed
    assert v.core.state(rid) == Phase.FINISHED
    for n in ("s1", "s2"):
        r = rewards(v, v["x"].claim(rid, v.addr(n)))[v.addr(n)]  # deposit and reward in one claim
        assert r["reward"] == r["share"] > 0
    v.assert_solvent()

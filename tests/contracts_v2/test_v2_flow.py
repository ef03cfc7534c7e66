"""A whole v2 round through every phase, with conservation checked at the end."""
from __future__ import annotations

from v2_helpers import ETH, V2, cfg, salt_of

from hcfl.protocol import Phase, Role


def test_full_round_posted_stake(v: V2) -> None:
    cid = v.campaign(cfg())
    deposits = {"o1": 2 * ETH, "o2": 3 * ETH, "s1": ETH, "s2": ETH}
    rid = v.round_to_reveal(cid, deposits, [("o1", ETH)],
                            {"o1": [2 * ETH], "o2": [2 * ETH], "s1": [ETH // 10], "s2": [ETH // 5]})
    v.settle(rid)
    r = v.core.round(rid)
    assert r.selected and r.star == 0 and r.payment == ETH and r.escrow == ETH
    assert v.core.state(rid) == Phase.TRAINING
    # the lens composes the same numbers
    summary = v.core.round_summary(rid)
    assert summary["phase"] == Phase.TRAINING and summary["payment"] == ETH and summary["revealed_owners"] == 2
    acct = v.core.account_summary(rid, v.addr("o2"))
    assert acct["role"] == Role.OWNER and acct["settlement"] == v.core.preview_settlement(rid, v.addr("o2"))
    assert acct["vote_weight"] == v.core.vote_weight(rid, v.addr("o2")) > 0
    assert v.core.lens_proposals(rid) == r.proposals
    sums, surplus = v.core.lens_sums(rid)
    assert sums == r.sums and surplus == [s.sum_b - s.sum_k for s in r.sums]
    # stake shares of C: o1 2/5, o2 3/5 (cumfloor on the reveal-order prefix line)
    pays = {n: v.core.preview_settlement(rid, v.addr(n)).payment for n in ("o1", "o2")}
    assert pays == {"o1": 2 * ETH // 5, "o2": ETH - 2 * ETH // 5}
    for s in ("s1", "s2"):
        for g in range(2):
            v[s].report_training(rid, g, b"\x22" * 32, 100, 9000, b"\x33" * 32)
    v["o1"].finalize_training(rid, b"\x44" * 32, 9100, b"\0" * 32, 0, b"\x55" * 32)
    assert v.core.state(rid) == Phase.VOTE_COMMITTING
    v["o2"].commit_vote(rid, False, salt_of("vote"))
    v.goto(rid, Phase.VOTE_REVEALING)
    v["o2"].reveal_vote(rid, False, salt_of("vote"))
    v.goto(rid, Phase.FINISHED)
    v.claim_all(rid)
    a = v.core.accounting()
    assert a.deposits == 0 and a.escrow == 0 and a.bonds == 0 and a.vote_deposits == 0, a
    paid = v.withdraw_all()
    # stations got their reward: each share of E = 1 ETH by stake (equal deposits) minus taxes
    assert paid["s1"] >= ETH and paid["s2"] >= ETH
    a = v.core.accounting()
    assert a.balance == a.pools and a.credits == 0
    total_in = sum(deposits.values()) + 10**15 + 10**15  # deposits + bond + vote deposit
    assert sum(paid.values()) + a.pools == total_in

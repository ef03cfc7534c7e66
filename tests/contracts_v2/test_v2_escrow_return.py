"""No escrow stays locked: what no station share covers goes to the campaign's station pool, on the last
station's claim (a contribution tree with a gap) or, after the 365-day claim window, by `sweepEscrow` (a
tree that leaves a station out, or a station that never claims)."""
from __future__ import annotations

from test_v2_defects import finish_training, rewards
from v2_helpers import ETH, V2, cfg, expect_revert

from hcfl.merkle import MerkleTree
from hcfl.protocol import Phase, ShareRule

LEAF = ["address", "uint256", "uint256"]
YEAR = 365 * 24 * 3600


def _round(v: V2) -> tuple[int, int]:
    cid = v.campaign(cfg(station_share_rule=ShareRule.CONTRIBUTION))
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "s1": ETH, "s2": ETH}, [("o1", ETH)],
                            {"o1": [2 * ETH - 1], "s1": [0], "s2": [0]})
    v.settle(rid)
    return cid, rid


def _returned(v: V2, receipt) -> int:
    return sum(ev.args["amount"] for ev in v.core.receipt_events(receipt) if ev.name == "EscrowReturned")


def test_gap_in_the_scores_returns_to_the_pool_on_the_last_claim(v: V2) -> None:
    cid, rid = _round(v)
    # leaves cover [0, 1) and [1, 2) of a total of 4: half of E is a gap
    tree = MerkleTree.build(LEAF, [(v.addr("s1"), 1, 0), (v.addr("s2"), 1, 1)])
    finish_training(v, rid, ["s1", "s2"], "o1", root=tree.root, total=4)
    v.goto(rid, Phase.FINISHED)
    pool_before = v.core.campaign(cid).station_pool
    v["x"].claim(rid, v.addr("s1"))  # deposit part
    r1 = v["x"].claim_with_score(rid, 1, 0, tree.proof(0), v.addr("s1"))
    assert rewards(v, r1)[v.addr("s1")]["share"] == ETH // 4 and _returned(v, r1) == 0
    v["x"].claim(rid, v.addr("s2"))
    r2 = v["x"].claim_with_score(rid, 1, 1, tree.proof(1), v.addr("s2"))
    assert _returned(v, r2) == ETH // 2  # the last station's claim returns the gap
    assert v.core.campaign(cid).station_pool == pool_before + ETH // 2
    assert v.core.accounting().escrow == 0
    expect_revert(v, "NothingToSweep", lambda: v["y"].sweep_escrow(rid), [rid])
    v.assert_solvent()


def test_left_out_station_share_is_swept_after_the_claim_window(v: V2) -> None:
    cid, rid = _round(v)
    tree = MerkleTree.build(LEAF, [(v.addr("s2"), 1, 0)])  # s1 left out, and it does not object
    finish_training(v, rid, ["s1", "s2"], "o1", root=tree.root, total=2)
    expect_revert(v, "EscrowClaimWindowOpen", lambda: v["y"].sweep_escrow(rid), [rid])
    v.goto(rid, Phase.FINISHED)
    v["x"].claim(rid, v.addr("s2"))
    v["x"].claim_with_score(rid, 1, 0, tree.proof(0), v.addr("s2"))
    expect_revert(v, "EscrowClaimWindowOpen", lambda: v["y"].sweep_escrow(rid), [rid])
    assert v.core.accounting().escrow == ETH // 2  # s1 can prove no leaf: its half would be locked
    v.chain.wait_until(v.chain.now() + YEAR + 1)
    pool_before = v.core.campaign(cid).station_pool
    assert _returned(v, v["y"].sweep_escrow(rid)) == ETH // 2
    assert v.core.campaign(cid).station_pool == pool_before + ETH // 2 and v.core.accounting().escrow == 0
    expect_revert(v, "NothingToSweep", lambda: v["y"].sweep_escrow(rid), [rid])
    v.assert_solvent()


def test_nothing_to_sweep_without_a_selected_model(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": ETH, "s1": ETH}, [("o1", ETH)], {"o1": [0], "s1": [0]})
    v.settle(rid)  # nobody values the proposal: "none"
    expect_revert(v, "NothingToSweep", lambda: v["y"].sweep_escrow(rid), [rid])

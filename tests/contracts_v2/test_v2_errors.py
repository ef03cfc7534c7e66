"""Every custom error of IHCFL: the bad input reverts with its named error and nothing changes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from v2_helpers import ETH, V2, cfg, expect_revert, salt_of, spec

from hcfl.protocol import Phase, Role, ShareRule

MIN = 10**15


@pytest.mark.parametrize("kw,error", [
    ({"non_reveal_penalty_bps": 10_001}, "BpsOutOfRange"),
    ({"punish_threshold_bps": 10_001}, "BpsOutOfRange"),
    ({"pool_draw_bps": 10_001}, "BpsOutOfRange"),
    ({"non_reveal_penalty_floor": 0}, "PenaltyFloorZero"),
    ({"min_owner_deposit": 0}, "MinDepositZero"),
    ({"min_station_deposit": 0}, "MinDepositZero"),
    ({"min_bond": 0}, "MinBondZero"),
    ({"max_price": 0}, "MaxPriceOutOfRange"),
    ({"max_price": 2**128}, "MaxPriceOutOfRange"),
    ({"max_proposals_per_owner": 0}, "MaxProposalsPerOwnerOutOfRange"),
    ({"max_proposals_per_owner": 21}, "MaxProposalsPerOwnerOutOfRange"),
    ({"owner_share_rule": ShareRule.CONTRIBUTION}, "OwnersCannotShareByContribution"),
    ({"min_bond": 2**96}, "AmountTooLarge"),
    ({"vote_deposit": 2**96}, "AmountTooLarge"),
])
def test_bad_config(v: V2, kw: dict, error: str) -> None:
    expect_revert(v, error, lambda: v.campaign(cfg(**kw)))


def test_unknown_ids(v: V2) -> None:
    expect_revert(v, "UnknownCampaign", lambda: v["creator"].open_round(7))
    expect_revert(v, "UnknownRound", lambda: v["o1"].join(7, Role.OWNER, ETH))
    expect_revert(v, "UnknownRound", lambda: v["x"].settle(7))
    expect_revert(v, "UnknownRound", lambda: v["x"].claim(7, v.addr("o1")))


def test_join_and_propose_errors(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.open(cid)
    expect_revert(v, "InvalidRole", lambda: v["o1"].join(rid, Role.NONE, ETH), [rid])
    v["o1"].join(rid, Role.OWNER, ETH)
    v["s1"].join(rid, Role.STATION, ETH)
    expect_revert(v, "AlreadyJoined", lambda: v["o1"].join(rid, Role.STATION, ETH), [rid])
    expect_revert(v, "WrongPhase", lambda: v["o1"].propose(rid, spec(1), MIN), [rid])
    v.goto(rid, Phase.PROPOSING)
    expect_revert(v, "WrongPhase", lambda: v["o2"].join(rid, Role.OWNER, ETH), [rid])
    expect_revert(v, "WrongRole", lambda: v["s1"].propose(rid, spec(1), MIN), [rid])
    expect_revert(v, "WrongRole", lambda: v["x"].propose(rid, spec(1), MIN), [rid])
    expect_revert(v, "GlobalRoundsOutOfRange", lambda: v["o1"].propose(rid, spec(1, t=0), MIN), [rid])
    expect_revert(v, "GlobalRoundsOutOfRange", lambda: v["o1"].propose(rid, spec(1, t=10_001), MIN), [rid])
    expect_revert(v, "AccuracyOutOfRange",
                  lambda: v["o1"].propose(rid, spec(1, promised_acc_bps=10_001), MIN), [rid])
    expect_revert(v, "EmptyLabelSet", lambda: v["o1"].propose(rid, spec(1, label_mask=0), MIN), [rid])
    v["o1"].propose(rid, spec(1), MIN)
    v.goto(rid, Phase.COMMITTING)
    expect_revert(v, "NotJoined", lambda: v["x"].commit_claims(rid, [1], salt_of("x")), [rid])
    expect_revert(v, "ZeroCommitment", lambda: v["o1"].transact("commit", rid, b"\0" * 32), [rid])
    v["o1"].commit_claims(rid, [1], salt_of("o1"))
    expect_revert(v, "AlreadyCommitted", lambda: v["o1"].commit_claims(rid, [1], salt_of("o1")), [rid])
    expect_revert(v, "WrongPhase", lambda: v["o1"].reveal(rid, [1], salt_of("o1")), [rid])
    v.goto(rid, Phase.REVEALING)
    expect_revert(v, "NotCommitted", lambda: v["s1"].reveal(rid, [1], salt_of("s1")), [rid])
    expect_revert(v, "ClaimCountMismatch", lambda: v["o1"].reveal(rid, [1, 2], salt_of("o1")), [rid])
    expect_revert(v, "CommitmentMismatch", lambda: v["o1"].reveal(rid, [2], salt_of("o1")), [rid])
    expect_revert(v, "CommitmentMismatch", lambda: v["o1"].reveal(rid, [1], salt_of("other")), [rid])
    expect_revert(v, "WrongPhase", lambda: v["x"].settle(rid), [rid])
    v["o1"].reveal(rid, [1], salt_of("o1"))
    expect_revert(v, "AlreadyRevealed", lambda: v["o1"].reveal(rid, [1], salt_of("o1")), [rid])
    expect_revert(v, "NothingToClaim", lambda: v["x"].claim(rid, v.addr("o1")), [rid])
    expect_revert(v, "NotJoined", lambda: v["x"].claim(rid, v.addr("x")), [rid])


def test_training_and_vote_errors(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": ETH, "o2": ETH, "o3": ETH, "s1": ETH, "s2": ETH}, [("o1", ETH // 2)],
                            {"o1": [ETH - 1], "o2": [ETH - 1], "o3": [ETH - 1], "s1": [0]},
                            reveal=["o1", "o2", "o3", "s1"])
    v.settle(rid)
    expect_revert(v, "WrongPhase", lambda: v["x"].settle(rid), [rid])
    expect_revert(v, "NotRevealedStation", lambda: v["s2"].report_training(rid, 0, b"\1" * 32, 1, 1), [rid])
    expect_revert(v, "NotRevealedStation", lambda: v["o2"].report_training(rid, 0, b"\1" * 32, 1, 1), [rid])
    expect_revert(v, "GlobalRoundOutOfRange", lambda: v["s1"].report_training(rid, 2, b"\1" * 32, 1, 1), [rid])
    expect_revert(v, "AccuracyOutOfRange", lambda: v["s1"].report_training(rid, 0, b"\1" * 32, 1, 10_001), [rid])
    v["s1"].report_training(rid, 0, b"\1" * 32, 1, 1)
    expect_revert(v, "AlreadyReported", lambda: v["s1"].report_training(rid, 0, b"\1" * 32, 1, 1), [rid])
    expect_revert(v, "WrongPhase", lambda: v["s1"].object_scores(rid), [rid])  # nothing finalized yet
    expect_revert(v, "NotWinner", lambda: v["o2"].finalize_training(rid, b"\1" * 32, 1), [rid])
    expect_revert(v, "AccuracyOutOfRange", lambda: v["o1"].finalize_training(rid, b"\1" * 32, 10_001), [rid])
    expect_revert(v, "AmountTooLarge",
                  lambda: v["o1"].finalize_training(rid, b"\1" * 32, 1, b"\2" * 32, 2**128), [rid])
    v["o1"].finalize_training(rid, b"\1" * 32, 1)
    expect_revert(v, "AlreadyFinalized", lambda: v["o1"].finalize_training(rid, b"\1" * 32, 1), [rid])
    expect_revert(v, "NotRevealedStation", lambda: v["o2"].object_scores(rid), [rid])
    expect_revert(v, "WrongPhase", lambda: v["o2"].commit_vote(rid, True, salt_of("v")), [rid])
    v["s1"].report_training(rid, 1, b"\1" * 32, 1, 1)  # closes training
    assert v.core.state(rid) == Phase.VOTE_COMMITTING
    expect_revert(v, "NotEligibleVoter", lambda: v["o1"].commit_vote(rid, True, salt_of("v")), [rid])  # winner
    expect_revert(v, "NotEligibleVoter", lambda: v["s1"].commit_vote(rid, True, salt_of("v")), [rid])
    v["o2"].commit_vote(rid, True, salt_of("v2"))
    expect_revert(v, "VoteAlreadyCommitted", lambda: v["o2"].commit_vote(rid, True, salt_of("v2")), [rid])
    expect_revert(v, "WrongPhase", lambda: v["o2"].reveal_vote(rid, True, salt_of("v2")), [rid])
    v.goto(rid, Phase.VOTE_REVEALING)
    expect_revert(v, "VoteNotCommitted", lambda: v["o3"].reveal_vote(rid, True, salt_of("v3")), [rid])
    expect_revert(v, "CommitmentMismatch", lambda: v["o2"].reveal_vote(rid, False, salt_of("v2")), [rid])
    v["o2"].reveal_vote(rid, True, salt_of("v2"))
    expect_revert(v, "VoteAlreadyRevealed", lambda: v["o2"].reveal_vote(rid, True, salt_of("v2")), [rid])
    expect_revert(v, "NothingToWithdraw", lambda: v["y"].withdraw())


def test_every_error_is_tested() -> None:
    """Each custom error declared in IHCFL (and the guard's ReentrantCall) is named in some v2 test."""
    src = (Path(__file__).parents[2] / "contracts" / "interfaces" / "IHCFL.sol").read_text()
    declared = set(re.findall(r"error (\w+)\(", src)) | {"ReentrantCall"}
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_v2_*.py"))
    missing = sorted(e for e in declared if f'"{e}"' not in tests)
    assert not missing, missing

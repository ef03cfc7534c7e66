"""Training reports, finalization, the punishment vote, station rewards, the bond, and their reverts."""
from __future__ import annotations

import pytest

from ct_helpers import (assert_reverts, assert_solvent, decode_events, events_named, finish_oracle, one_event,
                        salt_of, scenario, split)
from hcfl.protocol import vote_commitment
from hcfl.chain.types import Phase, Role, ShareRule

H = b"\x33" * 32
BOND = 90


def _training(rule: ShareRule):
    def build(d):
        """o1 (proposer, winner), o2, o3 revealed; o4 committed only; stations s1 (cap 1), s2 (cap 3) revealed,
        s3 committed only; one proposal by o1 with t = 2; settled into Training."""
        rid = d.new_round(station_share_rule=rule)
        d.run_to_reveal_end(rid, [("o1", 1000), ("o2", 1000), ("o3", 1000), ("o4", 1000)],
                            [("s1", 1000, 1), ("s2", 1000, 3), ("s3", 1000, 1)], [dict(by="o1", bond=BOND, t=2)],
                            {"o1": [200], "o2": [200], "o3": [200], "o4": [200], "s1": [50], "s2": [50], "s3": [50]},
                            reveal=["o1", "o2", "o3", "s1", "s2"])
        d.settle_and_check(rid)
        assert d.client.round(rid).phase == Phase.TRAINING
        return rid
    return build


training_state, training = scenario("training", _training(ShareRule.EQUAL))
training_cap_state, training_cap = scenario("training_cap", _training(ShareRule.CAPABILITY))
training_contrib_state, training_contrib = scenario("training_contrib", _training(ShareRule.CONTRIBUTION))


# ============================================================================ reportTraining
def test_report_happy(d, training):
    rid, c = training, d.client
    r = d.s1.report_training(rid, 1, H, 1234, 7777)
    assert one_event(c, r, "TrainingReported") == {"roundId": rid, "station": d.s1.address, "globalRound": 1,
                                                   "updateHash": H, "samples": 1234, "accuracyBps": 7777}
    assert c.has_reported(rid, d.s1.address, 1) and not c.has_reported(rid, d.s1.address, 0)
    assert c.participant(rid, d.s1.address).reported_rounds == 1
    d.s1.report_training(rid, 0, H, 2**64 - 1, 10_000)
    assert c.participant(rid, d.s1.address).reported_rounds == 2
    assert_solvent(d)


def test_report_not_revealed_station(d, training):
    for who in ("o1", "o2", "s3", "x"):
        assert_reverts(d, lambda: d.acct[who].report_training(training, 0, H, 1, 1), "NotRevealedStation",
                       rids=[training])


def test_report_out_of_range_twice_bad_accuracy(d, training):
    rid = training
    assert_reverts(d, lambda: d.s1.report_training(rid, 2, H, 1, 1), "GlobalRoundOutOfRange", (2, 2), rids=[rid])
    assert_reverts(d, lambda: d.s1.report_training(rid, 2**32 - 1, H, 1, 1), "GlobalRoundOutOfRange",
                   (2**32 - 1, 2), rids=[rid])
    assert_reverts(d, lambda: d.s1.report_training(rid, 0, H, 1, 10_001), "InvalidProposal",
                   ("accuracy bps > 10000",), rids=[rid])
    d.s1.report_training(rid, 0, H, 1, 1)
    assert_reverts(d, lambda: d.s1.report_training(rid, 0, H, 1, 1), "AlreadyReported", (0,), rids=[rid])


def test_report_deadline_and_phase(d, training):
    rid = training
    end = d.client.round(rid).phase_end
    d.set_time(end - 1)
    d.s1.report_training(rid, 0, H, 1, 1)  # at exactly trainEnd
    assert_reverts(d, lambda: d.s2.report_training(rid, 0, H, 1, 1), "DeadlinePassed", (end, end + 1), rids=[rid])
    assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 1, [1, 1]), "DeadlinePassed", (end, end + 1),
                   rids=[rid])


def test_report_wrong_phase(d, training):
    d.o1.finalize_training(training, H, 9000, [1, 1])
    e = assert_reverts(d, lambda: d.s1.report_training(training, 0, H, 1, 1), "WrongPhase", rids=[training])
    assert e.error_args == (int(Phase.TRAINING), int(Phase.VOTE_COMMITTING))


# ============================================================================ finalizeTraining
def test_finalize_happy(d, training):
    rid, c = training, d.client
    r = d.o1.finalize_training(rid, b"\x44" * 32, 9100, [5, 2**64 - 1])
    ev = one_event(c, r, "TrainingFinalized")
    assert ev == {"roundId": rid, "winner": d.o1.address, "globalModelHash": b"\x44" * 32, "achievedAccBps": 9100,
                  "scores": [5, 2**64 - 1]}
    ph = one_event(c, r, "PhaseAdvanced")
    assert ph["phase"] == int(Phase.VOTE_COMMITTING)
    rv = c.round(rid)
    assert rv.finalized and rv.global_model_hash == b"\x44" * 32 and rv.achieved_acc_bps == 9100
    assert rv.phase == Phase.VOTE_COMMITTING and rv.phase_end == ph["phaseEnd"]
    assert c.outcome(rid)[1] == [5, 2**64 - 1]
    e = assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 1, [1, 1]), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.TRAINING), int(Phase.VOTE_COMMITTING))


def test_finalize_reverts(d, training):
    rid = training
    for who in ("o2", "s1", "x"):
        assert_reverts(d, lambda: d.acct[who].finalize_training(rid, H, 1, [1, 1]), "NotWinner", rids=[rid])
    assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 10_001, [1, 1]), "InvalidProposal",
                   ("accuracy bps > 10000",), rids=[rid])
    assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 1, [1]), "ScoreCountMismatch", (2, 1), rids=[rid])
    assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 1, [1, 1, 1]), "ScoreCountMismatch", (2, 3),
                   rids=[rid])
    assert_reverts(d, lambda: d.o1.finalize_training(rid, H, 1, [1, 2**64]), "ScoreTooLarge", (2**64,), rids=[rid])


def test_training_advance_early(d, training):
    assert_reverts(d, lambda: d.x.advance(training), "DeadlineNotReached", rids=[training])


# ============================================================================ winner failed
def _escrow_finish_checks(d, rid, r, rule, reports, scores, t=2):
    c = d.client
    escrow = c.round(rid).escrow
    stations = [(d.acct[n].address, cap, reports.get(n, 0)) for n, cap in (("s1", 1), ("s2", 3))]
    shares, rewards, forfeited = finish_oracle(escrow, stations, rule, scores, t)
    got = {e["station"]: (e["share"], e["reward"], e["forfeited"]) for e in events_named(c, r, "StationRewarded")}
    assert got == {a: (shares[a], rewards[a], shares[a] - rewards[a]) for a in shares}
    return rewards, forfeited


def _report(d, rid, reports):
    for n, k in reports.items():
        for g in range(k):
            d.send(d.acct[n], "reportTraining", rid, g, H, 10, 5000)


@pytest.mark.parametrize("rule_fixture,rule", [("training", ShareRule.EQUAL), ("training_cap", ShareRule.CAPABILITY),
                                               ("training_contrib", ShareRule.CONTRIBUTION)])
def test_winner_failed(d, request, rule_fixture, rule):
    """No finalize by the deadline: WinnerFailed, bond slashed to o2/o3 without a vote; stations paid pro
    rata of their reports (contribution counts as equal: no scores); the rest goes to the stationPool."""
    rid = request.getfixturevalue(rule_fixture)
    c = d.client
    reports = {"s1": 2, "s2": 1}
    _report(d, rid, reports)
    acc0 = c.accounting()
    cred0 = {n: c.credit_of(d.acct[n].address) for n in ("o1", "o2", "o3", "s1", "s2")}
    escrow = c.round(rid).escrow
    r = d.next_phase(rid)
    names = [n for n, _ in decode_events(c, r)]
    assert names[0] == "WinnerFailed" and names[-1] == "PhaseAdvanced"
    assert one_event(c, r, "WinnerFailed") == {"roundId": rid, "winner": d.o1.address}
    rewards, forfeited = _escrow_finish_checks(d, rid, r, rule, reports, None)
    vt = one_event(c, r, "VoteTallied")
    assert (vt["punished"], vt["punishVotes"], vt["keepVotes"]) == (True, 0, 0)
    slash = {e["account"]: e["amount"] for e in events_named(c, r, "Credited") if e["reason"] == 3}
    assert slash == {d.o2.address: BOND // 2, d.o3.address: BOND // 2}
    rv = c.round(rid)
    assert rv.phase == Phase.FINISHED and rv.punished and not rv.finalized
    acc = c.accounting()
    assert acc.escrow == acc0.escrow - escrow and acc.bonds == acc0.bonds - BOND
    assert acc.station_pool == acc0.station_pool + forfeited
    assert c.credit_of(d.o1.address) == cred0["o1"]
    assert c.credit_of(d.s1.address) == cred0["s1"] + rewards[d.s1.address]
    assert c.credit_of(d.s2.address) == cred0["s2"] + rewards[d.s2.address]
    pools = events_named(c, r, "PoolsUpdated")[-1]
    assert (pools["ownerPool"], pools["stationPool"]) == (acc.owner_pool, acc.station_pool)
    assert_solvent(d)
    e = assert_reverts(d, lambda: d.x.advance(rid), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.NONE), int(Phase.FINISHED))


# ============================================================================ vote
def _vote(d, rid, votes: dict[str, bool], reveal: list[str] | None = None, scores=(1, 1)):
    d.send(d.o1, "finalizeTraining", rid, H, 9000, list(scores))
    for n, v in votes.items():
        d.commit_vote(rid, d.acct[n], v)
    d.next_phase(rid)
    for n in (votes if reveal is None else reveal):
        d.reveal_vote(rid, d.acct[n])
    d.past_deadline(rid)
    return d.send(d.x, "advance", rid)


@pytest.mark.parametrize("votes,reveal,punished", [
    ({"o2": True, "o3": True}, None, True),
    ({"o2": True, "o3": False}, None, False),  # tie: not more than half
    ({"o2": False, "o3": False}, None, False),
    ({}, None, False),  # no votes: bond returned
    ({"o2": True, "o3": False}, ["o2"], True),  # only revealed votes count: 1 of 1
    ({"o2": True, "o3": True}, [], False),  # committed but never revealed
])
def test_vote_outcomes(d, training, votes, reveal, punished):
    rid, c = training, d.client
    _report(d, rid, {"s1": 2, "s2": 2})
    cred0 = {n: c.credit_of(d.acct[n].address) for n in ("o1", "o2", "o3")}
    r = _vote(d, rid, votes, reveal)
    n_rev = len(votes if reveal is None else reveal)
    pv = sum(votes[n] for n in (votes if reveal is None else reveal))
    vt = one_event(c, r, "VoteTallied")
    assert (vt["punished"], vt["punishVotes"], vt["keepVotes"]) == (punished, pv, n_rev - pv)
    rv = c.round(rid)
    assert rv.phase == Phase.FINISHED and rv.punished == punished and (rv.punish_votes, rv.keep_votes) == (pv, n_rev - pv)
    if punished:
        assert c.credit_of(d.o1.address) == cred0["o1"]
        assert c.credit_of(d.o2.address) == cred0["o2"] + BOND // 2
        assert c.credit_of(d.o3.address) == cred0["o3"] + BOND // 2
    else:
        assert c.credit_of(d.o1.address) == cred0["o1"] + BOND
        bond_ev = [e for e in events_named(c, r, "Credited") if e["reason"] == 1]
        assert bond_ev == [{"roundId": rid, "account": d.o1.address, "amount": BOND, "reason": 1}]
    _escrow_finish_checks(d, rid, r, ShareRule.EQUAL, {"s1": 2, "s2": 2}, None)
    assert c.accounting().escrow == 0 and c.accounting().bonds == 0
    assert_solvent(d)


def test_vote_threshold_custom(d):
    """punishThresholdBps = 0: a single punish vote among keeps punishes; 10000: even unanimity does not."""
    for bps, votes, punished in ((0, {"o2": True, "o3": False}, True), (10_000, {"o2": True, "o3": True}, False)):
        snap = d.chain.snapshot()
        rid = d.new_round(punish_threshold_bps=bps)
        d.run_to_reveal_end(rid, [("o1", 1000), ("o2", 1000), ("o3", 1000)], [("s1", 1000)],
                            [dict(by="o1", bond=BOND, t=1)], {"o1": [100], "o2": [100], "o3": [100], "s1": [10]})
        d.past_deadline(rid)
        d.send(d.x, "settle", rid)
        r = _vote(d, rid, votes, scores=(1,))
        assert one_event(d.client, r, "VoteTallied")["punished"] == punished
        assert_solvent(d)
        d.chain.revert(snap)
        d.reset_nonces()


def test_contribution_rule_uses_scores(d, training_contrib):
    rid = training_contrib
    _report(d, rid, {"s1": 2, "s2": 2})
    r = _vote(d, rid, {}, scores=(1, 3))
    rewards, forfeited = _escrow_finish_checks(d, rid, r, ShareRule.CONTRIBUTION, {"s1": 2, "s2": 2}, [1, 3])
    escrow = d.client.round(rid).escrow
    assert list(rewards.values()) == split(escrow, [1, 3]) and forfeited == 0


def test_contribution_rule_zero_scores_equal(d, training_contrib):
    rid = training_contrib
    _report(d, rid, {"s1": 2, "s2": 2})
    r = _vote(d, rid, {}, scores=(0, 0))
    rewards, _ = _escrow_finish_checks(d, rid, r, ShareRule.CONTRIBUTION, {"s1": 2, "s2": 2}, [0, 0])
    assert list(rewards.values()) == split(d.client.round(rid).escrow, [1, 1])


def test_capability_rule_rewards(d, training_cap):
    rid = training_cap
    _report(d, rid, {"s1": 1, "s2": 2})
    r = _vote(d, rid, {})
    escrow = d.client.round(rid).escrow
    rewards, forfeited = _escrow_finish_checks(d, rid, r, ShareRule.CAPABILITY, {"s1": 1, "s2": 2}, None)
    sh = split(escrow, [1, 3])
    assert rewards == {d.s1.address: sh[0] // 2, d.s2.address: sh[1]} and forfeited == sh[0] - sh[0] // 2


def test_station_missing_all_rounds_gets_nothing(d, training):
    rid, c = training, d.client
    before = c.accounting().station_pool
    r = _vote(d, rid, {})
    escrow = c.round(rid).escrow
    assert all(e["reward"] == 0 for e in events_named(c, r, "StationRewarded"))
    assert c.accounting().station_pool == before + escrow
    assert_solvent(d)


def test_commit_vote_happy(d, training):
    rid, c = training, d.client
    d.o1.finalize_training(rid, H, 1, [1, 1])
    salt = salt_of("v")
    r = d.o2.commit_vote(rid, True, salt)
    h = vote_commitment(rid, d.o2.address, True, salt)
    assert one_event(c, r, "VoteCommitted") == {"roundId": rid, "voter": d.o2.address, "commitment": h}
    assert tuple(c.call("getVote", rid, d.o2.address)) == (h, False, False)
    assert_reverts(d, lambda: d.x.advance(rid), "DeadlineNotReached", rids=[rid])
    r = d.next_phase(rid)
    assert one_event(c, r, "PhaseAdvanced")["phase"] == int(Phase.VOTE_REVEALING)
    r = d.o2.reveal_vote(rid, True, salt)
    assert one_event(c, r, "VoteRevealed") == {"roundId": rid, "voter": d.o2.address, "punish": True}
    assert tuple(c.call("getVote", rid, d.o2.address)) == (h, True, True)
    assert c.round(rid).punish_votes == 1
    assert_reverts(d, lambda: d.x.advance(rid), "DeadlineNotReached", rids=[rid])


def test_commit_vote_reverts(d, training):
    rid = training
    e = assert_reverts(d, lambda: d.o2.commit_vote(rid, True, salt_of("v")), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.VOTE_COMMITTING), int(Phase.TRAINING))
    d.o1.finalize_training(rid, H, 1, [1, 1])
    for who in ("o1", "s1", "s3", "o4", "x"):  # winner, stations, unrevealed owner, outsider
        assert_reverts(d, lambda: d.acct[who].commit_vote(rid, True, salt_of("v")), "NotEligibleVoter", rids=[rid])
    d.o2.commit_vote(rid, True, salt_of("v"))
    assert_reverts(d, lambda: d.o2.commit_vote(rid, False, salt_of("w")), "VoteAlreadyCommitted", rids=[rid])
    end = d.client.round(rid).phase_end
    d.set_time(end)
    assert_reverts(d, lambda: d.o3.commit_vote(rid, True, salt_of("v")), "DeadlinePassed", (end, end + 1), rids=[rid])


def test_reveal_vote_reverts(d, training):
    rid = training
    d.o1.finalize_training(rid, H, 1, [1, 1])
    d.o2.commit_vote(rid, True, salt_of("v"))
    e = assert_reverts(d, lambda: d.o2.reveal_vote(rid, True, salt_of("v")), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.VOTE_REVEALING), int(Phase.VOTE_COMMITTING))
    d.next_phase(rid)
    assert_reverts(d, lambda: d.o3.reveal_vote(rid, True, salt_of("v")), "VoteNotCommitted", rids=[rid])
    assert_reverts(d, lambda: d.o2.reveal_vote(rid, False, salt_of("v")), "CommitmentMismatch", rids=[rid])
    assert_reverts(d, lambda: d.o2.reveal_vote(rid, True, salt_of("w")), "CommitmentMismatch", rids=[rid])
    # o3 replays o2's vote preimage: the voter is in the hash
    assert_reverts(d, lambda: d.o3.reveal_vote(rid, True, salt_of("v")), "VoteNotCommitted", rids=[rid])
    d.o2.reveal_vote(rid, True, salt_of("v"))
    assert_reverts(d, lambda: d.o2.reveal_vote(rid, True, salt_of("v")), "VoteAlreadyRevealed", rids=[rid])
    end = d.client.round(rid).phase_end
    d.set_time(end)
    assert_reverts(d, lambda: d.o2.reveal_vote(rid, True, salt_of("v")), "DeadlinePassed", (end, end + 1), rids=[rid])


def test_vote_commitment_copied_by_another_voter(d, training):
    """o3 commits o2's commitment hash; o3 cannot open it with o2's (punish, salt)."""
    rid = training
    d.o1.finalize_training(rid, H, 1, [1, 1])
    h = vote_commitment(rid, d.o2.address, True, salt_of("v"))
    d.o2.transact("commitVote", rid, h)
    d.o3.transact("commitVote", rid, h)
    d.next_phase(rid)
    assert_reverts(d, lambda: d.o3.reveal_vote(rid, True, salt_of("v")), "CommitmentMismatch", rids=[rid])


# ============================================================================ winner that never revealed
def _unrevealed_winner(n_other_owners: int):
    def build(d):
        """o1 proposes but never commits; o2 (and o3) reveal high values for its proposal; s1 a low cost."""
        rid = d.new_round()
        owners = [("o1", 1000)] + [(f"o{i + 2}", 1000) for i in range(n_other_owners)]
        claims = {f"o{i + 2}": [300] for i in range(n_other_owners)} | {"s1": [10]}
        d.run_to_reveal_end(rid, owners, [("s1", 1000)], [dict(by="o1", bond=BOND, t=1)], claims)
        d.settle_and_check(rid)
        assert d.client.round(rid).selected_index == 0
        return rid
    return build


unrevealed_winner2_state, unrevealed_winner2 = scenario("unrevealed_winner2", _unrevealed_winner(2))
unrevealed_winner1_state, unrevealed_winner1 = scenario("unrevealed_winner1", _unrevealed_winner(1))


def test_unrevealed_winner_can_finalize_and_keep_bond(d, unrevealed_winner2):
    rid = unrevealed_winner2
    r = _vote(d, rid, {"o2": False}, scores=(1,))
    assert not one_event(d.client, r, "VoteTallied")["punished"]
    assert d.client.credit_of(d.o1.address) == 1000 + BOND  # deposit (never committed) at settle + bond
    assert_solvent(d)


@pytest.mark.parametrize("path", ["winner_failed", "punish_vote"])
def test_unrevealed_winner_failed_slash_two_others(d, unrevealed_winner2, path):
    rid = unrevealed_winner2
    d.send(d.s1, "reportTraining", rid, 0, H, 1, 1)
    if path == "winner_failed":
        r = d.next_phase(rid)  # winner failed -> slash the bond to o2, o3
    else:
        r = _vote(d, rid, {"o2": True, "o3": True}, scores=(1,))  # punished by vote -> same slash
    slash = {e["account"]: e["amount"] for e in events_named(d.client, r, "Credited") if e["reason"] == 3}
    assert slash == {d.o2.address: BOND // 2, d.o3.address: BOND // 2}
    assert d.client.round(rid).phase == Phase.FINISHED
    assert_solvent(d)


def test_unrevealed_winner_failed_slash_one_other(d, unrevealed_winner1):
    rid = unrevealed_winner1
    before = d.client.credit_of(d.o2.address)
    d.next_phase(rid)
    assert d.client.credit_of(d.o2.address) == before + BOND

"""commit / reveal / the reveal-phase transitions and their reverts."""
from __future__ import annotations

import pytest

from ct_helpers import assert_reverts, assert_solvent, decode_events, one_event, salt_of, scenario
from hcfl.protocol import claims_commitment
from hcfl.chain.types import Phase, PaymentRule, Role


def _committing(d):
    rid = d.new_round()
    for n in ("o1", "o2", "o3"):
        d.join(rid, d.acct[n], Role.OWNER, 1000)
    for n in ("s1", "s2"):
        d.join(rid, d.acct[n], Role.STATION, 1000)
    d.next_phase(rid)
    d.propose(rid, d.o1, bond=100)
    d.propose(rid, d.o2, bond=100)
    d.next_phase(rid)
    return rid


def _revealing(d):
    rid = _committing(d)
    d.commit(rid, d.o1, [300, 50])
    d.commit(rid, d.o2, [40, 200])
    d.commit(rid, d.s1, [100, 90])
    d.commit(rid, d.s2, [80, 70])
    d.next_phase(rid)
    return rid


# committing: owners o1, o2, o3 (1000; o3 never commits), stations s1, s2 (1000), proposals by o1, o2.
committing_state, committing = scenario("committing", _committing)
# revealing: like committing (own round) with o1, o2, s1, s2 committed, in Revealing.
revealing_state, revealing = scenario("revealing", _revealing)


# ============================================================================ commit
def test_commit_happy(d, committing):
    rid, c = committing, d.client
    h = claims_commitment(rid, d.o1.address, [1, 2], salt_of("a"))
    r = d.o1.commit(rid, h)
    assert one_event(c, r, "ClaimsCommitted") == {"roundId": rid, "account": d.o1.address, "commitment": h}
    v = c.participant(rid, d.o1.address)
    assert v.committed and not v.revealed and v.claims == []
    r = d.s1.commit_claims(rid, [5, 6], salt_of("b"))  # the typed helper hashes the same way
    assert one_event(c, r, "ClaimsCommitted")["commitment"] == claims_commitment(rid, d.s1.address, [5, 6], salt_of("b"))
    assert c.accounting().deposits == 5000
    assert_solvent(d)


def test_commit_not_joined(d, committing):
    assert_reverts(d, lambda: d.x.commit(committing, b"\1" * 32), "NotJoined", rids=[committing])


def test_commit_twice(d, committing):
    d.o1.commit(committing, b"\1" * 32)
    assert_reverts(d, lambda: d.o1.commit(committing, b"\2" * 32), "AlreadyCommitted", rids=[committing])
    assert d.client.participant(committing, d.o1.address).committed


def test_commit_wrong_phase(d):
    rid = d.new_round()
    d.join(rid, d.o1, Role.OWNER, 10)
    e = assert_reverts(d, lambda: d.o1.commit(rid, b"\1" * 32), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.COMMITTING), int(Phase.JOINING))
    d.next_phase(rid)
    e = assert_reverts(d, lambda: d.o1.commit(rid, b"\1" * 32), "WrongPhase", rids=[rid])
    assert e.error_args == (int(Phase.COMMITTING), int(Phase.PROPOSING))


def test_commit_late(d, committing):
    end = d.client.round(committing).phase_end
    d.set_time(end - 1)
    d.o1.commit(committing, b"\1" * 32)  # at exactly commitEnd
    assert_reverts(d, lambda: d.o2.commit(committing, b"\1" * 32), "DeadlinePassed", (end, end + 1),
                   rids=[committing])


def test_advance_committing(d, committing):
    assert_reverts(d, lambda: d.x.advance(committing), "DeadlineNotReached", rids=[committing])
    r = d.next_phase(committing)
    ev = one_event(d.client, r, "PhaseAdvanced")
    assert ev["phase"] == int(Phase.REVEALING)
    assert d.client.round(committing).phase == Phase.REVEALING


# ============================================================================ reveal
def test_reveal_happy(d, revealing):
    rid, c = revealing, d.client
    r = d.reveal(rid, d.o1)
    ev = one_event(c, r, "ClaimsRevealed")
    assert ev == {"roundId": rid, "account": d.o1.address, "cappedClaims": [300, 50],
                  "salt": d.salts[(rid, d.o1.address)]}
    v = c.participant(rid, d.o1.address)
    assert v.revealed and v.committed and v.claims == [300, 50]
    r = d.s1.reveal(rid, [100, 90], d.salts[(rid, d.s1.address)])  # typed helper
    assert one_event(c, r, "ClaimsRevealed")["cappedClaims"] == [100, 90]
    assert_solvent(d)


def test_reveal_caps_claims_to_deposit(d, committing):
    rid, c = committing, d.client
    d.commit(rid, d.o1, [1000, 10**30])
    d.commit(rid, d.s1, [999, 1001])
    d.next_phase(rid)
    r = d.reveal(rid, d.o1)
    assert one_event(c, r, "ClaimsRevealed")["cappedClaims"] == [1000, 1000]
    r = d.reveal(rid, d.s1)
    assert one_event(c, r, "ClaimsRevealed")["cappedClaims"] == [999, 1000]
    assert c.participant(rid, d.o1.address).claims == [1000, 1000]


def test_reveal_not_committed(d, revealing):
    assert_reverts(d, lambda: d.o3.reveal(revealing, [1, 2], salt_of("z")), "NotCommitted", rids=[revealing])
    assert_reverts(d, lambda: d.x.reveal(revealing, [1, 2], salt_of("z")), "NotCommitted", rids=[revealing])


def test_reveal_twice(d, revealing):
    d.reveal(revealing, d.o1)
    assert_reverts(d, lambda: d.reveal(revealing, d.o1), "AlreadyRevealed", rids=[revealing])


def test_reveal_claim_count(d, revealing):
    salt = d.salts[(revealing, d.o1.address)]
    assert_reverts(d, lambda: d.o1.reveal(revealing, [300], salt), "ClaimCountMismatch", (2, 1), rids=[revealing])
    assert_reverts(d, lambda: d.o1.reveal(revealing, [300, 50, 1], salt), "ClaimCountMismatch", (2, 3),
                   rids=[revealing])


def test_reveal_wrong_salt_or_claims(d, revealing):
    rid = revealing
    salt = d.salts[(rid, d.o1.address)]
    assert_reverts(d, lambda: d.o1.reveal(rid, [300, 50], salt_of("other")), "CommitmentMismatch", rids=[rid])
    assert_reverts(d, lambda: d.o1.reveal(rid, [300, 51], salt), "CommitmentMismatch", rids=[rid])
    assert_reverts(d, lambda: d.o1.reveal(rid, [50, 300], salt), "CommitmentMismatch", rids=[rid])


def test_replayed_commitment_of_another_sender(d, committing):
    """s2 copies o1's commitment hash and later o1's revealed claims+salt: the sender is in the hash."""
    rid = committing
    d.commit(rid, d.o1, [300, 50])
    h = claims_commitment(rid, d.o1.address, [300, 50], d.salts[(rid, d.o1.address)])
    d.s2.commit(rid, h)
    d.next_phase(rid)
    d.reveal(rid, d.o1)
    assert_reverts(d, lambda: d.s2.reveal(rid, [300, 50], d.salts[(rid, d.o1.address)]), "CommitmentMismatch",
                   rids=[rid])


def test_commitment_of_another_round(d, committing):
    """A commitment computed for another round id does not open in this round."""
    rid = committing
    salt = salt_of("r")
    d.o1.commit(rid, claims_commitment(rid + 1, d.o1.address, [3, 4], salt))
    d.next_phase(rid)
    assert_reverts(d, lambda: d.o1.reveal(rid, [3, 4], salt), "CommitmentMismatch", rids=[rid])


def test_reveal_in_other_round_than_committed(d):
    """Claims committed in round A cannot be revealed in a parallel round B (and vice versa)."""
    a, b = d.new_round(), d.new_round()
    for rid in (a, b):
        d.join(rid, d.o1, Role.OWNER, 1000)
    d.set_time(max(d.client.round(a).phase_end, d.client.round(b).phase_end))
    for rid in (a, b):
        d.x.advance(rid)
        d.propose(rid, d.o1)
        d.propose(rid, d.o1)
    d.set_time(max(d.client.round(a).phase_end, d.client.round(b).phase_end))
    for rid in (a, b):
        d.x.advance(rid)
    d.commit(a, d.o1, [7, 8])
    d.commit(b, d.o1, [9, 9], salt=salt_of("b"))
    d.set_time(max(d.client.round(a).phase_end, d.client.round(b).phase_end))
    d.x.advance(a)
    d.x.advance(b)
    assert_reverts(d, lambda: d.o1.reveal(b, [7, 8], d.salts[(a, d.o1.address)]), "CommitmentMismatch", rids=[a, b])
    assert_reverts(d, lambda: d.o1.reveal(a, [9, 9], salt_of("b")), "CommitmentMismatch", rids=[a, b])
    d.reveal(a, d.o1)
    d.reveal(b, d.o1)


def test_reveal_wrong_phase(d, committing):
    d.commit(committing, d.o1, [1, 2])
    e = assert_reverts(d, lambda: d.reveal(committing, d.o1), "WrongPhase", rids=[committing])
    assert e.error_args == (int(Phase.REVEALING), int(Phase.COMMITTING))


def test_reveal_late_and_settle_boundary(d, revealing):
    rid = revealing
    end = d.client.round(rid).phase_end
    assert_reverts(d, lambda: d.x.settle(rid), "DeadlineNotReached", rids=[rid])
    d.set_time(end - 1)
    d.reveal(rid, d.o1)  # at exactly revealEnd
    assert_reverts(d, lambda: d.o2.reveal(rid, d.claims[(rid, d.o2.address)], d.salts[(rid, d.o2.address)]),
                   "DeadlinePassed", (end, end + 1), rids=[rid])
    r = d.x.settle(rid)
    assert one_event(d.client, r, "RoundSettled")
    assert_solvent(d)


def test_settle_wrong_phase(d, committing):
    d.chain.increase_time(20_000)
    e = assert_reverts(d, lambda: d.x.settle(committing), "WrongPhase", rids=[committing])
    assert e.error_args == (int(Phase.REVEALING), int(Phase.COMMITTING))


def test_settle_via_advance_equals_settle(d, revealing):
    """advance after the reveal deadline settles exactly like settle()."""
    for n in ("o1", "o2", "s1", "s2"):
        d.reveal(revealing, d.acct[n])
    exp, r = d.settle_and_check(revealing, via="advance")
    assert exp.selected_some
    assert [n for n, _ in decode_events(d.client, r)][-1] == "PhaseAdvanced"


# ============================================================================ posted: InsufficientDeposit
def test_posted_insufficient_deposit(d):
    rid = d.new_round(payment_rule=PaymentRule.POSTED)
    d.join(rid, d.o1, Role.OWNER, 1000)
    d.join(rid, d.o2, Role.OWNER, 500)  # exactly maxPrice + 1
    d.join(rid, d.s1, Role.STATION, 499)
    d.next_phase(rid)
    d.propose(rid, d.o1, price=100)
    d.propose(rid, d.o1, price=499)
    d.next_phase(rid)
    assert_reverts(d, lambda: d.s1.commit(rid, b"\1" * 32), "InsufficientDeposit", (499, 500), rids=[rid])
    d.commit(rid, d.o2, [10**9, 3])
    d.commit(rid, d.o1, [600, 0])
    d.next_phase(rid)
    # claim limit is deposit - maxPrice - 1: 0 for o2, 500 for o1
    assert one_event(d.client, d.reveal(rid, d.o2), "ClaimsRevealed")["cappedClaims"] == [0, 0]
    assert one_event(d.client, d.reveal(rid, d.o1), "ClaimsRevealed")["cappedClaims"] == [500, 0]

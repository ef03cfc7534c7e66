"""Sealed edge cost claims on EdgePayouts (commitCostClaim / revealCostClaim): windows of the core round
(commit until its commit deadline, reveal in its reveal window, as the stations' own claims), wrong salt, late reveal, binding to
(station, round key, client), the on-chain
commitment equal to hcfl.edge.claims, payouts only after the reveal window; embedded chain and anvil."""
from __future__ import annotations

import os

from ep_helpers import KEY, KEY2, RULE, WINDOW, Env, assert_reverts
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.edge.claims import edge_claim_commitment

COMMIT, REVEAL = 600, 300
PARAMS = [10**18, 2 * 10**18, 3 * 10**18]


def _commitment(e: Env, client, params=PARAMS, salt=b"\x11" * 32, station=None, key=KEY) -> bytes:
    return edge_claim_commitment(int.from_bytes(key, "big"), (station or e.s1).address, client.address, params, salt)


def _round(e: Env, key: bytes = KEY) -> None:
    """The (stub) core round `key`: commits for COMMIT more seconds, reveals for REVEAL after that."""
    now = e.chain.now()
    e.windows(key, now + COMMIT - 1, now + COMMIT + REVEAL - 1)


def _announce(e: Env, key: bytes = KEY) -> tuple[int, int]:
    _round(e, key)
    e.s1.announce_rule(key, RULE, True)
    return e.c.claim_windows(e.s1.address, key)


def test_onchain_commitment_equals_python(e: Env) -> None:
    salt = os.urandom(32)
    for params in ([1], PARAMS, [0, 2**256 - 1], list(range(8))):
        assert e.c.claim_commitment(KEY, e.s1.address, e.c1.address, params, salt) == edge_claim_commitment(
            int.from_bytes(KEY, "big"), e.s1.address, e.c1.address, params, salt)


@settings(max_examples=15, deadline=None)
@given(params=st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=8), salt=st.binary(min_size=32, max_size=32),
       key=st.binary(min_size=32, max_size=32))
def test_onchain_commitment_equals_python_property(base: Env, params, salt, key) -> None:
    e = base
    assert e.c.claim_commitment(key, e.s2.address, e.c3.address, params, salt) == edge_claim_commitment(
        int.from_bytes(key, "big"), e.s2.address, e.c3.address, params, salt)


def test_commit_reveal_happy_path_and_windows(e: Env) -> None:
    commit_deadline, reveal_deadline = _announce(e)
    assert reveal_deadline == commit_deadline + REVEAL and commit_deadline > 0
    assert commit_deadline == e.core.functions.stationReward(int.from_bytes(KEY, "big"), e.s1.address).call()[0] + 1
    e.c1.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c1))
    # reveal before the commit window closed: refused
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32), "NotRevealWindow",
                   (commit_deadline, reveal_deadline))
    e.chain.wait_until(commit_deadline)
    # commit after the window: refused
    assert_reverts(e, lambda: e.c2.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c2)), "CommitWindowClosed",
                   (commit_deadline,))
    r = e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32)
    ev = e.c.contract.events.CostClaimRevealed().process_receipt(r)[0]["args"]
    assert (ev["client"], list(ev["costParams"])) == (e.c1.address, PARAMS)
    assert e.c.cost_claim(e.s1.address, KEY, e.c1.address) == (_commitment(e, e.c1), True)
    assert e.c.revealed_claims(e.s1.address, KEY) == {e.c1.address: PARAMS}
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32), "AlreadyRevealed")


def test_wrong_salt_or_params_and_late_reveal(e: Env) -> None:
    commit_deadline, reveal_deadline = _announce(e)
    e.c1.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c1))
    e.chain.wait_until(commit_deadline)
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x12" * 32), "CommitmentMismatch")
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, [10**18, 2 * 10**18, 1], b"\x11" * 32),
                   "CommitmentMismatch")
    assert_reverts(e, lambda: e.c2.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32), "NoCommitment")
    e.chain.wait_until(reveal_deadline)
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32), "NotRevealWindow")
    assert e.c.revealed_claims(e.s1.address, KEY) == {}  # unrevealed = excluded


def test_claim_is_bound_to_client_station_and_round(e: Env) -> None:
    """A copied commitment cannot be revealed by another client, nor against another station or round key."""
    _announce(e)
    _announce(e, KEY2)
    e.s2.announce_rule(KEY, RULE, True)
    c1_commit = _commitment(e, e.c1)
    e.c1.commit_cost_claim(e.s1.address, KEY, c1_commit)
    e.c2.commit_cost_claim(e.s1.address, KEY, c1_commit)  # front-runner copies c1's sealed claim
    e.c1.commit_cost_claim(e.s2.address, KEY, c1_commit)  # c1's own commitment under another station
    e.c1.commit_cost_claim(e.s1.address, KEY2, c1_commit)  # ... and another round key
    e.chain.wait_until(e.c.claim_windows(e.s2.address, KEY)[0])
    salt = b"\x11" * 32
    assert_reverts(e, lambda: e.c2.reveal_cost_claim(e.s1.address, KEY, PARAMS, salt), "CommitmentMismatch")
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s2.address, KEY, PARAMS, salt), "CommitmentMismatch")
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY2, PARAMS, salt), "CommitmentMismatch")
    e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, salt)
    assert e.c.revealed_claims(e.s1.address, KEY) == {e.c1.address: PARAMS}


def test_recommit_in_window_replaces(e: Env) -> None:
    commit_deadline, _ = _announce(e)
    e.c1.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c1))
    e.c1.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c1, params=[5, 6, 7]))
    e.chain.wait_until(commit_deadline)
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s1.address, KEY, PARAMS, b"\x11" * 32), "CommitmentMismatch")
    e.c1.reveal_cost_claim(e.s1.address, KEY, [5, 6, 7], b"\x11" * 32)


def test_claim_input_errors(e: Env) -> None:
    # a rule without windows takes no claims
    e.s1.announce_rule(KEY, RULE)
    assert e.c.claim_windows(e.s1.address, KEY) == (0, 0)
    assert_reverts(e, lambda: e.c1.commit_cost_claim(e.s1.address, KEY, _commitment(e, e.c1)), "NoCostClaims")
    assert_reverts(e, lambda: e.c1.commit_cost_claim(e.s2.address, KEY, _commitment(e, e.c1)), "NoCostClaims")
    # a claim rule is announced by the round's commit deadline, a claim-free one by its reveal deadline
    _round(e)
    commit_end = e.core.functions.stationReward(int.from_bytes(KEY, "big"), e.s2.address).call()[0]
    e.windows(KEY2, e.chain.now() + 10 * COMMIT, e.chain.now() + 11 * COMMIT)  # a later round takes the claims
    KEYC = KEY2
    e.s2.announce_rule(KEYC, RULE, True)
    e.chain.wait_until(commit_end + 1)
    assert_reverts(e, lambda: e.s2.announce_rule(KEY, RULE, True), "AnnounceClosed", (commit_end,))
    e.s2.announce_rule(KEY, RULE, False)  # still before the reveal deadline
    assert e.c.claim_windows(e.s2.address, KEY) == (0, 0)
    assert_reverts(e, lambda: e.c1.commit_cost_claim(e.s2.address, KEYC, bytes(32)), "ZeroCommitment")
    e.c1.commit_cost_claim(e.s2.address, KEYC, _commitment(e, e.c1, station=e.s2, key=KEYC))
    e.chain.wait_until(e.c.claim_windows(e.s2.address, KEYC)[0])
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s2.address, KEYC, [], b"\x11" * 32), "BadCostParams", (0,))
    assert_reverts(e, lambda: e.c1.reveal_cost_claim(e.s2.address, KEYC, list(range(9)), b"\x11" * 32),
                   "BadCostParams", (9,))


def test_payouts_wait_for_the_reveal_window(e: Env) -> None:
    _, reveal_deadline = _announce(e)
    tree = e.tree({"c1": 10, "c2": 20})
    e.reward(e.s1, tree.total)
    assert_reverts(e, lambda: e.s1.post_payouts(KEY, tree, WINDOW), "RevealWindowOpen", (reveal_deadline,))
    e.chain.wait_until(reveal_deadline)
    e.s1.post_payouts(KEY, tree, WINDOW)
    e.c1.claim(e.s1.address, KEY, tree)
    assert e.c.payout(e.s1.address, KEY).claimed == 10

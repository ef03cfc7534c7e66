"""Settlement scenarios: selection, Clarke taxes, payments, penalties, unfunded rounds, posted prices, pools.

Every scenario is checked number by number against `settle_oracle` (docs/mechanism.md written out
independently in ct_helpers), and the key numbers of each are also asserted by hand."""
from __future__ import annotations

import pytest

from ct_helpers import assert_solvent, decode_events, events_named, one_event, split
from hcfl.chain.types import PaymentRule, Phase, Role, ShareRule

O2S2 = dict(owners=[("o1", 1000), ("o2", 1000)], stations=[("s1", 1000), ("s2", 1000)])
TWO_PROPS = [dict(by="o1", bond=100), dict(by="o2", bond=100)]


def _run(d, claims, owners=O2S2["owners"], stations=O2S2["stations"], proposals=TWO_PROPS, reveal=None, **cfg):
    rid = d.new_round(**cfg)
    d.run_to_reveal_end(rid, owners, stations, proposals, claims, reveal)
    exp, receipt = d.settle_and_check(rid)
    return rid, exp, receipt


def test_basic_two_proposals(d):
    c = d.client
    claims = {"o1": [100, 20], "o2": [30, 90], "s1": [40, 30], "s2": [50, 30]}
    rid, exp, r = _run(d, claims)
    # S = [130 - 90, 110 - 60] = [40, 50] -> proposal 1 (o2's)
    assert exp.surplus == [40, 50] and exp.selected_some and exp.selected == 1
    a = {n: d.acct[n].address for n in claims}
    # pivots: o2 (without o2: [10, -40] -> 10 - (-40) = 50), s2 (without s2: [90, 80] -> 10)
    assert exp.taxes == {a["o1"]: 0, a["o2"]: 50, a["s1"]: 0, a["s2"]: 10}
    assert exp.sum_k == 60 and exp.cmax == 110 and 60 <= exp.payment <= 110
    rv = c.round(rid)
    assert rv.phase == Phase.TRAINING and rv.selected_index == 1 and rv.escrow == exp.payment
    pays = split(exp.payment, [1, 1])
    assert c.credit_of(a["o1"]) == 1000 - pays[0] + 100  # deposit - share + its unselected bond
    assert c.credit_of(a["o2"]) == 1000 - 50 - pays[1]  # bond stays locked (winner)
    assert c.credit_of(a["s1"]) == 1000 and c.credit_of(a["s2"]) == 990
    acc = c.accounting()
    assert (acc.owner_pool, acc.station_pool, acc.bonds, acc.deposits, acc.escrow) == (50, 10, 100, 0, exp.payment)
    reasons = [(e["account"], e["reason"]) for e in events_named(c, r, "Credited")]
    assert (a["o1"], 1) in reasons  # BondReturn
    assert_solvent(d)


def test_claims_capped_to_deposit(d):
    claims = {"o1": [10**24], "s1": [5]}
    rid, exp, r = _run(d, claims, owners=[("o1", 70)], stations=[("s1", 3)], proposals=[dict(by="o1")])
    assert exp.capped == {d.o1.address: [70], d.s1.address: [3]}
    assert d.client.participant(rid, d.o1.address).claims == [70]
    assert d.client.participant(rid, d.s1.address).claims == [3]
    assert exp.surplus == [67] and exp.sum_k == 3


@pytest.mark.parametrize("bps", [1000, 2500, 0, 10_000])
def test_non_reveal_penalty_and_exclusion(d, bps):
    """o3 / s3 commit but do not reveal (penalty to their side's pool), o4 joins but never commits
    (full refund); none of them affects selection or taxes."""
    c = d.client
    claims = {"o1": [300], "o2": [100], "o3": [10**9], "s1": [50], "s3": [10**9]}
    kw = {} if bps == 1000 else {"non_reveal_penalty_bps": bps}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000), ("o2", 1000), ("o3", 999), ("o4", 777)],
                       stations=[("s1", 1000), ("s3", 555)], proposals=[dict(by="o1")],
                       reveal=["o1", "o2", "s1"], **kw)
    pen_o3, pen_s3 = 999 * bps // 10_000, 555 * bps // 10_000
    assert exp.penalties == {d.o3.address: pen_o3, d.s3.address: pen_s3}
    pens = {e["account"]: e["penalty"] for e in events_named(c, r, "NonRevealPenalized")}
    assert pens == exp.penalties  # o4 (never committed) is not penalized
    assert exp.surplus == [350]  # only revealed claims count
    assert set(exp.taxes) == {d.o1.address, d.o2.address, d.s1.address}
    assert c.credit_of(d.o3.address) == 999 - pen_o3
    assert c.credit_of(d.s3.address) == 555 - pen_s3
    assert c.credit_of(d.o4.address) == 777
    acc = c.accounting()
    assert acc.owner_pool == sum(exp.taxes[x.address] for x in (d.o1, d.o2)) + pen_o3
    assert acc.station_pool == exp.taxes[d.s1.address] + pen_s3
    assert_solvent(d)


def test_none_selected_station_pivots_taxed(d):
    c = d.client
    claims = {"o1": [50], "s1": [30], "s2": [40]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000)], proposals=[dict(by="o1", bond=100)])
    # S = 50 - 70 = -20 < 0 -> none; without s1: 10 -> tax 10; without s2: 20 -> tax 20; o1 not pivotal
    assert exp.surplus == [-20] and not exp.selected_some and not exp.unfunded
    assert exp.taxes == {d.o1.address: 0, d.s1.address: 10, d.s2.address: 20}
    ev = one_event(c, r, "RoundSettled")
    assert (ev["selectedSome"], ev["totalPayment"]) == (False, 0)
    rv = c.round(rid)
    assert rv.phase == Phase.FINISHED and rv.escrow == 0 and rv.selected_index is None
    assert c.credit_of(d.o1.address) == 1100  # deposit + returned bond
    assert c.credit_of(d.s1.address) == 990 and c.credit_of(d.s2.address) == 980
    acc = c.accounting()
    assert (acc.owner_pool, acc.station_pool, acc.bonds, acc.deposits, acc.escrow) == (0, 30, 0, 0, 0)
    assert_solvent(d)


def test_tie_between_proposals_lower_index_wins(d):
    claims = {"o1": [60, 70, 60], "s1": [10, 20, 10]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1"), dict(by="o1"), dict(by="o1")])
    assert exp.surplus == [50, 50, 50] and exp.selected == 0
    assert d.client.round(rid).selected_index == 0


def test_tie_later_proposal_first_max(d):
    claims = {"o1": [10, 70, 70], "s1": [10, 20, 20]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1"), dict(by="o1"), dict(by="o1")])
    assert exp.surplus == [0, 50, 50] and exp.selected == 1


def test_tie_with_none_proposal_wins(d):
    claims = {"o1": [30], "s1": [30]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000)], stations=[("s1", 1000)], proposals=[dict(by="o1")])
    assert exp.surplus == [0] and exp.selected_some
    assert exp.payment == 30  # C = Σk + seed % (Cmax - Σk + 1) = 30 + seed % 1
    assert d.client.round(rid).phase == Phase.TRAINING


def test_unfunded_tiny_owner_deposits(d):
    """S = 20 - 15 >= 0 selects the proposal, but the owners (deposit 10, tax 5 each) can afford at most
    C = 8 < Σk = 15: unfunded, no taxes, no payments, bonds back."""
    c = d.client
    claims = {"o1": [10], "o2": [10], "s1": [15]}
    rid, exp, r = _run(d, claims, owners=[("o1", 10), ("o2", 10)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1", bond=100)])
    assert exp.surplus == [5] and exp.unfunded and not exp.selected_some
    assert exp.cmax == 8 and exp.sum_k == 15
    assert all(t == 0 for t in exp.taxes.values())
    ev = one_event(c, r, "RoundSettled")
    assert (ev["selectedSome"], ev["unfunded"], ev["totalPayment"]) == (False, True, 0)
    assert c.round(rid).phase == Phase.FINISHED and c.round(rid).unfunded
    assert c.credit_of(d.o1.address) == 110 and c.credit_of(d.o2.address) == 10 and c.credit_of(d.s1.address) == 1000
    acc = c.accounting()
    assert (acc.owner_pool, acc.station_pool) == (0, 0)
    assert_solvent(d)


def test_unfunded_no_owner_revealed(d):
    c = d.client
    claims = {"o1": [500], "s1": [5], "s2": [7]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000)], proposals=[dict(by="o1", bond=100)],
                       reveal=["s1", "s2"])
    assert exp.unfunded and not exp.selected_some and all(t == 0 for t in exp.taxes.values())
    assert c.round(rid).unfunded and c.round(rid).phase == Phase.FINISHED
    assert c.credit_of(d.o1.address) == 100 + 900  # bond back, deposit minus 10% penalty
    assert c.accounting().owner_pool == 100
    assert c.credit_of(d.s1.address) == 1000 and c.credit_of(d.s2.address) == 1000


def test_unfunded_nobody_revealed(d):
    rid, exp, r = _run(d, {"o1": [5], "s1": [5]}, owners=[("o1", 1000)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1")], reveal=[])
    assert exp.unfunded and exp.surplus == [0]
    assert d.client.accounting().owner_pool == 100 and d.client.accounting().station_pool == 100


def test_posted_rule_end_to_end(d):
    """posted: C = C_{m*}; x_owner = b - share, x_station = share - k; same selection as Σb - Σk."""
    c = d.client
    claims = {"o1": [400, 100], "o2": [300, 100], "s1": [200, 10], "s2": [100, 10]}
    rid, exp, r = _run(d, claims, owners=[("o1", 2000), ("o2", 2000)], stations=[("s1", 2000), ("s2", 2000)],
                       proposals=[dict(by="o1", price=500), dict(by="o2", price=150)],
                       payment_rule=PaymentRule.POSTED)
    # Σb - Σk = [700 - 300, 200 - 20]
    assert exp.surplus == [400, 180] and exp.selected == 0 and exp.payment == 500
    assert c.round(rid).total_payment == 500 and c.round(rid).escrow == 500
    assert exp.pays == {d.o1.address: 250, d.o2.address: 250}
    # truthful utility check for o1: x = 400 - 250; without o1: [0 - ... ] tax from the oracle (>= 0)
    for a, t in exp.taxes.items():
        assert c.credit_of(a) == 2000 - t - exp.pays.get(a, 0) + (100 if a == d.o2.address else 0)
    assert_solvent(d)


def test_posted_none_selected_owner_pivot(d):
    """Under posted an owner can be pivotal for 'none' too (x = b - share can be negative)."""
    claims = {"o1": [0], "o2": [90], "s1": [50]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000), ("o2", 1000)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1", price=100)], payment_rule=PaymentRule.POSTED)
    # x = [0 - 50, 90 - 50, 100 - 50] -> S = 40 - ... = -50 + 40 + 50 = 40 >= 0: selected
    assert exp.selected_some
    claims2 = {"o1": [0], "o2": [10], "s1": [80]}
    rid2, exp2, _ = _run(d, claims2, owners=[("o1", 1000), ("o2", 1000)], stations=[("s1", 1000)],
                         proposals=[dict(by="o1", price=100)], payment_rule=PaymentRule.POSTED)
    # x = [-50, -40, 20] -> S = -70 -> none; o1 without: -20 -> 0; s1 without: -90 -> 0
    assert exp2.surplus == [-70] and not exp2.selected_some
    assert d.client.round(rid2).phase == Phase.FINISHED


def test_posted_capability_shares(d):
    claims = {"o1": [500], "o2": [500], "o3": [500], "s1": [10], "s2": [10]}
    rid, exp, r = _run(d, claims, owners=[("o1", 2000, 1), ("o2", 2000, 3), ("o3", 2000, 0)],
                       stations=[("s1", 2000, 2), ("s2", 2000, 0)], proposals=[dict(by="o1", price=301)],
                       payment_rule=PaymentRule.POSTED, owner_share_rule=ShareRule.CAPABILITY,
                       station_share_rule=ShareRule.CAPABILITY)
    # owner shares of 301 by capability 1:3:0 = [75+1, 225, 0]
    assert exp.pays == {d.o1.address: 76, d.o2.address: 225, d.o3.address: 0}
    assert exp.payment == 301


def test_capability_owner_shares_paper_random(d):
    c = d.client
    claims = {"o1": [300], "o2": [300], "o3": [300], "s1": [100], "s2": [100]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000, 1), ("o2", 1000, 3), ("o3", 1000, 0)],
                       proposals=[dict(by="o1")], owner_share_rule=ShareRule.CAPABILITY)
    assert exp.pays[d.o3.address] == 0  # zero weight pays nothing
    assert list(exp.pays.values()) == split(exp.payment, [1, 3, 0])
    # Affordability: o2 (weight 3 of 4) limits C: A = (1000 - 1) * 4 // 3 = 1332 > Σb, so Cmax = Σb = 900
    assert exp.cmax == 900 and 200 <= exp.payment <= 900


def test_affordability_limits_payment(d):
    """A weight-heavy owner with a small deposit caps C below Σb: Cmax = A."""
    claims = {"o1": [1000], "o2": [50], "s1": [10]}
    rid, exp, r = _run(d, claims, owners=[("o1", 1000, 1), ("o2", 50, 9)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1")], owner_share_rule=ShareRule.CAPABILITY)
    # o2: tax 0 (not pivotal), a = 50, A = 49 * 10 // 9 = 54; Σb = 1050 -> Cmax = 54
    assert exp.taxes[d.o2.address] == 0 and exp.cmax == 54
    assert 10 <= exp.payment <= 54
    assert exp.pays[d.o2.address] <= 50


def test_no_revealed_station_is_unfunded(d):
    """docs/mechanism.md: with no revealed station the round is unfunded whatever the claims (no taxes)."""
    claims = {"o1": [300], "o2": [100]}
    rid, exp, r = _run(d, claims, stations=[("s1", 1000)], proposals=[dict(by="o1")])
    assert exp.unfunded and not exp.selected_some and exp.surplus == [400]
    assert d.client.round(rid).phase == Phase.FINISHED and d.client.round(rid).unfunded
    assert d.client.credit_of(d.s1.address) == 1000  # joined, never committed
    assert d.client.credit_of(d.o1.address) == 1100 and d.client.credit_of(d.o2.address) == 1000


def test_station_pivot_cannot_dodge_tax_by_not_revealing_alone(d):
    """With one station revealed, it is taxed as usual when pivotal for 'none'."""
    rid, exp, r = _run(d, {"o1": [50], "s1": [80]}, owners=[("o1", 1000)], stations=[("s1", 1000)],
                       proposals=[dict(by="o1")])
    assert not exp.selected_some and not exp.unfunded and exp.taxes[d.s1.address] == 50


def test_many_participants_and_proposals(d):
    """5 owners, 4 stations, 6 proposals with assorted claims (oracle-checked)."""
    owners = [("o1", 9000, 2), ("o2", 8000, 1), ("o3", 7000, 5), ("o4", 6000, 1), ("o5", 5000, 0)]
    stations = [("s1", 400, 1), ("s2", 300, 2), ("s3", 200, 3), ("s4", 100, 4)]
    props = [dict(by=o, bond=10 + i) for i, o in enumerate(["o1", "o2", "o3", "o1", "o4", "o5"])]
    claims = {"o1": [100, 5, 300, 0, 80, 2000], "o2": [40, 50, 60, 70, 80, 90], "o3": [0, 0, 0, 900, 0, 1],
              "o4": [7, 8, 9, 10, 11, 12], "o5": [500, 400, 300, 200, 100, 0],
              "s1": [100, 200, 300, 400, 500, 600], "s2": [0, 0, 0, 0, 0, 0], "s3": [50, 50, 50, 50, 50, 50],
              "s4": [1000, 10, 10, 10, 10, 10]}
    rid, exp, r = _run(d, claims, owners=owners, stations=stations, proposals=props,
                       owner_share_rule=ShareRule.CAPABILITY, non_reveal_penalty_bps=333)
    assert exp.selected_some and exp.selected == 5 and exp.surplus[5] == max(exp.surplus)
    assert_solvent(d)

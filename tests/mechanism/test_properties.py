"""Properties of settlement on random instances (both payment rules, with and without deposits/pools)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.mechanism import Instance, settle
from hcfl.mechanism.clarke import first_argmax, value_at
from hcfl.mechanism.settle import net_values
from hcfl.mechanism.utility import true_utility

from .strategies import instances

MANY = settings(max_examples=300, deadline=None)


@MANY
@given(instances())
def test_taxes_nonnegative_and_bounded_by_own_effect(inst: Instance):
    st_ = settle(inst)
    nv = net_values(inst)
    for p, row in zip(nv.revealed, nv.x):
        tax = st_.taxes[p.id]
        assert tax >= 0
        if st_.unfunded:
            assert tax == 0
            continue
        m_star, m_p = st_.argmax, st_.m_minus[p.id]
        assert tax <= value_at(row, m_star) - value_at(row, m_p)
        if m_p == m_star:  # removing p does not change m*: p is no pivot
            assert tax == 0


@MANY
@given(instances())
def test_selection_is_first_argmax_of_sum(inst: Instance):
    st_ = settle(inst)
    nv = net_values(inst)
    s = [sum(row[m] for row in nv.x) for m in range(inst.k)]
    assert st_.surplus == s
    assert st_.argmax == first_argmax(s)
    # both rules: S(m) = Σb - Σk when both sides are present
    if nv.owners and nv.stations:
        values = [nv.capped[o.id] for o in nv.owners]
        costs = [nv.capped[c.id] for c in nv.stations]
        assert s == [sum(v[m] for v in values) - sum(c[m] for c in costs) for m in range(inst.k)]


@MANY
@given(instances())
def test_wei_conservation_and_solvency(inst: Instance):
    st_ = settle(inst)
    everyone = [*inst.owners, *inst.stations]
    if st_.total_payment is not None:
        c = st_.total_payment
        assert sum(st_.owner_payments.values()) + st_.owner_discount == c
        assert sum(st_.station_rewards.values()) == c + st_.station_bonus
        assert st_.station_bonus == inst.station_pool
        assert st_.owner_discount == min(inst.owner_pool, c)
        if inst.payment_rule == "paper-random":
            assert st_.sum_costs <= c <= st_.c_max <= st_.sum_values
    else:
        assert not any(st_.owner_payments.values()) and not any(st_.station_rewards.values())
        assert st_.owner_discount == st_.station_bonus == 0
    taxes = sum(st_.taxes.values())
    penalties = sum(st_.penalties.values())
    assert sum(st_.pools_after.values()) == (
        inst.owner_pool + inst.station_pool + taxes + penalties - st_.owner_discount - st_.station_bonus
    )
    if st_.credits is not None:
        for p in everyone:
            if p.deposit is None:
                continue
            credit = st_.credits[p.id]
            assert credit >= 0  # every obligation is covered by the deposit
            assert (
                credit + st_.owner_payments.get(p.id, 0) + st_.taxes.get(p.id, 0) + st_.penalties.get(p.id, 0)
                == p.deposit
            )
    if all(p.deposit is not None for p in everyone):
        # the contract's books: what came in equals what is owed, escrowed, held or pooled
        bonds = sum(p.bond for p in inst.proposals or [])
        came_in = sum(p.deposit for p in everyone) + bonds + inst.owner_pool + inst.station_pool
        owed = (
            sum(st_.credits.values())
            + sum(st_.station_rewards.values())
            + st_.bond_held
            + sum(st_.bond_credits.values())
            + sum(st_.pools_after.values())
        )
        assert came_in == owed


@MANY
@given(instances(pools=False))
def test_budget_balance_without_pools(inst: Instance):
    st_ = settle(inst)
    if st_.selected is not None:
        revenue = sum(st_.owner_payments.values()) + sum(st_.taxes.values())
        assert revenue >= sum(st_.station_rewards.values())


@MANY
@given(instances(rule="paper-random", deposits=True, pools=True))
def test_owner_payment_affordable(inst: Instance):
    st_ = settle(inst)
    for o in inst.revealed_owners:
        assert st_.owner_payments[o.id] + st_.taxes[o.id] <= o.deposit


@settings(max_examples=200, deadline=None)
@given(
    instances(rule="posted", deposits=False, pools=False, statuses=False),
    st.data(),
)
def test_truthful_weakly_dominant_under_posted(inst: Instance, data):
    everyone = [*inst.owners, *inst.stations]
    p = everyone[data.draw(st.integers(0, len(everyone) - 1))]
    truth = list(p.claims)
    honest = true_utility(inst, settle(inst), p.id, truth)
    field = "values" if p in inst.owners else "costs"
    grid_lies = [[v * f // 4 for v in truth] for f in (0, 1, 2, 3, 5, 6, 8, 12)]
    big = max(truth + [1]) * 3
    grid_lies += [[big if m == j else 0 for m in range(inst.k)] for j in range(inst.k)]
    grid_lies.append(data.draw(st.lists(st.integers(0, big), min_size=inst.k, max_size=inst.k)))
    for lie in grid_lies:
        liar = p.model_copy(update={field: lie})
        side = "owners" if field == "values" else "stations"
        members = [liar if q.id == p.id else q for q in getattr(inst, side)]
        lied = inst.model_copy(update={side: members})
        assert true_utility(lied, settle(lied), p.id, truth) <= honest

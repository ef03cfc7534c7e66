"""Every rule's wei end up with a client or back at the station: the cumulative-floor rule."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.edge.payout import EdgePayout, allocate
from hcfl.edge.rounding import UINT256_MAX, cumulative_floor_split

MANY = settings(max_examples=300, deadline=None)
budgets = st.integers(0, UINT256_MAX)
weights = st.lists(
    st.one_of(st.integers(0, 2**128), st.floats(0, 1e30, allow_nan=False, allow_infinity=False)), min_size=1, max_size=40
).filter(lambda ws: sum(ws) > 0)


def test_rule_as_documented():
    # B=10, w=(1,1,1): floor(10/3)=3, floor(20/3)=6, floor(30/3)=10 -> (3, 3, 4)
    assert cumulative_floor_split(10, [1, 1, 1]) == [3, 3, 4]
    assert cumulative_floor_split(7, [0, 5, 0, 2]) == [0, 5, 0, 2]
    assert cumulative_floor_split(1, [1, 1]) == [0, 1]


@MANY
@given(budgets, weights)
def test_split_conserves_and_is_within_one_wei(budget, ws):
    out = cumulative_floor_split(budget, ws)
    assert sum(out) == budget and all(a >= 0 for a in out)
    total = sum(Fraction(w) for w in ws)
    for a, w in zip(out, ws):
        assert abs(a - budget * Fraction(w) / total) < 1
        if w == 0:
            assert a == 0


@MANY
@given(budgets, weights, st.one_of(st.none(), st.integers(1, 2**128)))
def test_allocate_conserves_every_wei(budget, ws, unit):
    p = allocate(budget, ws, unit)
    assert sum(p.amounts) + p.returned == budget and p.returned >= 0 and min(p.amounts) >= 0
    if unit is not None and sum(Fraction(w) for w in ws) * unit <= budget:
        # absolute mode within budget: every client gets its exact amount up to one wei
        for a, w in zip(p.amounts, ws):
            assert abs(a - Fraction(w) * unit) < 1


def test_all_zero_payoffs_return_the_budget():
    assert allocate(100, [0, 0.0]) == EdgePayout(budget=100, amounts=[0, 0], returned=100)


@pytest.mark.parametrize(
    "bad", [[-1], [math.nan], [math.inf], [True], ["3"], []]
)
def test_bad_weights_are_rejected(bad):
    with pytest.raises(ValueError):
        cumulative_floor_split(10, bad)


def test_bad_budget_and_unit_rejected():
    for b in (-1, UINT256_MAX + 1, 1.5):
        with pytest.raises(ValueError):
            allocate(b, [1])
    for u in (0, -3, 1.5, True):
        with pytest.raises(ValueError):
            allocate(10, [1], u)
    with pytest.raises(ValueError):
        cumulative_floor_split(10, [0, 0])

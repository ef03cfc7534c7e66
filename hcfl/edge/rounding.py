"""Splitting a station's budget (integer wei) among its edge clients without losing a wei.

The cumulative-floor rule (one definition for every edge reward rule):

    P_0 = 0,  P_i = w_1 + ... + w_i  (prefix sums of the weights, in client order),  W = P_n
    amount_i = floor(B * P_i / W) - floor(B * P_{i-1} / W)

The sum telescopes to floor(B * W / W) = B exactly; every amount is >= 0 because the prefix sums
never decrease; and each amount differs from the exact share B * w_i / W by less than one wei.
Weights may be ints, Fractions or finite floats (a float is taken at its exact binary value, so the
result never depends on float rounding in the split itself).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

UINT256_MAX = 2**256 - 1
MAX_CLIENTS = 10_000

Weight = int | float | Fraction


def as_fraction(x: Weight, what: str = "weight") -> Fraction:
    """An exact, finite, non-negative rational, or a ValueError naming `what`."""
    if isinstance(x, bool):
        raise ValueError(f"{what} must be a number, got a bool")
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite, got {x}")
        x = Fraction(x)
    elif isinstance(x, int):
        x = Fraction(x)
    elif not isinstance(x, Fraction):
        raise ValueError(f"{what} must be an int, float or Fraction, got {type(x).__name__}")
    if x < 0:
        raise ValueError(f"{what} must be >= 0, got {x}")
    return x


def check_budget(budget: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise ValueError(f"budget must be an int (wei), got {type(budget).__name__}")
    if not 0 <= budget <= UINT256_MAX:
        raise ValueError(f"budget must be in [0, 2**256-1] wei, got {budget}")
    return budget


def cumulative_floor_split(budget: int, weights: Sequence[Weight]) -> list[int]:
    """Split `budget` wei in proportion to `weights` by the cumulative-floor rule (sum == budget).

    Raises ValueError for an empty list, more than MAX_CLIENTS entries, a negative / non-finite weight,
    or all weights zero (there is no proportion to split by; the caller decides what that means).
    """
    check_budget(budget)
    if not weights:
        raise ValueError("cannot split a budget among zero clients")
    if len(weights) > MAX_CLIENTS:
        raise ValueError(f"at most {MAX_CLIENTS} clients per split, got {len(weights)}")
    ws = [as_fraction(w, f"weight[{i}]") for i, w in enumerate(weights)]
    total = sum(ws, Fraction(0))
    if total == 0:
        raise ValueError("all weights are zero: nothing to split by")
    out: list[int] = []
    prefix = Fraction(0)
    before = 0
    for w in ws:
        prefix += w
        upto = math.floor(budget * prefix / total)
        out.append(upto - before)
        before = upto
    assert before == budget and sum(out) == budget
    return out

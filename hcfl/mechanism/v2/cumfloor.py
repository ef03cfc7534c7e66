"""The v2 remainder rule: cumfloor over a prefix-sum line (docs/mechanism.md, "v2").

cumfloor(T, Pb, Pa, W) = floor(T*Pa/W) - floor(T*Pb/W): the share of T for a participant whose weight
occupies [Pb, Pa) of a line of total W. Over all participants the shares telescope to exactly T, and
each one is computable alone in O(1) from its own prefix (what the contract does lazily).
"""
from __future__ import annotations

from collections.abc import Sequence


def cumfloor(total: int, before: int, after: int, w_total: int) -> int:
    if w_total <= 0 or not 0 <= before <= after <= w_total or total < 0:
        raise ValueError(f"cumfloor needs 0 <= Pb <= Pa <= W, W > 0, T >= 0 (got T={total}, Pb={before}, "
                         f"Pa={after}, W={w_total})")
    return total * after // w_total - total * before // w_total


def effective(weights: Sequence[int]) -> list[int]:
    """The weights really used: all 1 (prefix = reveal index) when they sum to 0."""
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    return [1] * len(weights) if sum(weights) == 0 else list(weights)


def prefixes(weights: Sequence[int]) -> tuple[list[int], int]:
    """(Pb per participant, W) over effective weights, in the given (reveal) order."""
    ws = effective(weights)
    out, acc = [], 0
    for w in ws:
        out.append(acc)
        acc += w
    return out, acc


def shares(total: int, weights: Sequence[int]) -> list[int]:
    """cumfloor shares of `total` for every participant, in the given (reveal) order; sums to `total`."""
    if not weights:
        if total:
            raise ValueError("cannot split a positive total among nobody")
        return []
    ws = effective(weights)
    pbs, w_total = prefixes(ws)
    return [cumfloor(total, pb, pb + w, w_total) for pb, w in zip(pbs, ws)]

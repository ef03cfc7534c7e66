"""`split(total, weights)`: integer shares that conserve every wei (docs/mechanism.md, "Payment shares")."""
from __future__ import annotations

from collections.abc import Sequence


def effective_weights(weights: Sequence[int]) -> list[int]:
    """The weights `split` really uses: all 1 when they sum to 0."""
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if sum(weights) == 0:
        return [1] * len(weights)
    return list(weights)


def split(total: int, weights: Sequence[int]) -> list[int]:
    """Shares of `total` by `weights`, floor-rounded, the remainder one wei each to the first
    participants with a positive weight. The shares sum to exactly `total`."""
    if total < 0:
        raise ValueError("total must be non-negative")
    if not weights:
        if total:
            raise ValueError("cannot split a positive total among nobody")
        return []
    ws = effective_weights(weights)
    w_sum = sum(ws)
    shares = [total * w // w_sum for w in ws]
    remainder = total - sum(shares)
    for i, w in enumerate(ws):
        if remainder == 0:
            break
        if w > 0:
            shares[i] += 1
            remainder -= 1
    return shares

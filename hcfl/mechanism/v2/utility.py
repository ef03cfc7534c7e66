"""A participant's true (quasi-linear) ex-post utility in a v2 round, given its true claims."""
from __future__ import annotations

from collections.abc import Sequence

from hcfl.mechanism.v2.models import RoundResult


def true_utility(result: RoundResult, pid: str, true_claims: Sequence[int]) -> int:
    """Owner: v(m*) - payment - tax. Station: reward - k(m*) - tax. No selection: -tax.
    (Non-revealers: -penalty.)"""
    p = result.participants[pid]
    if p.status != "revealed":
        return -p.penalty
    m = result.selected
    if m is None:
        return -p.tax
    if p.role == "owner":
        return true_claims[m] - p.payment - p.tax
    return p.reward - true_claims[m] - p.tax

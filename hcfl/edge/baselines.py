"""The two baseline rules: `equal` (weight 1 each) and `samples` (weight = reported sample count).

`samples` is the volume-only rule: it pays whatever count a client reports, so a client that
duplicates its data doubles its pay (measured by `hcfl experiment edge-fairness`).
"""
from __future__ import annotations

from collections.abc import Sequence


def equal_weights(n: int) -> list[int]:
    if n < 1:
        raise ValueError("no clients")
    return [1] * n


def sample_weights(samples: Sequence[int]) -> list[int]:
    for k, s in enumerate(samples):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"client {k}: sample count must be a non-negative int, got {s!r}")
    if not samples:
        raise ValueError("no clients")
    return list(samples)

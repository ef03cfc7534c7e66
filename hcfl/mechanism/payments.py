"""Claim caps, share weights, the total payment C and the recycle pools (docs/mechanism.md,
"Claims", "Payment shares", "Total payment C and recycle pools")."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hcfl.mechanism.models import BPS, Owner, Station
from hcfl.mechanism.shares import effective_weights, split


def claim_limit(deposit: int | None, payment_rule: str, max_price: int | None) -> int | None:
    """The deposit under `paper-random`; `deposit - maxPrice - 1` under `posted`; None (no cap) without a deposit."""
    if deposit is None:
        return None
    if payment_rule == "posted":
        assert max_price is not None
        return deposit - max_price - 1
    return deposit


def cap_claims(claims: Sequence[int], limit: int | None) -> list[int]:
    return list(claims) if limit is None else [min(c, limit) for c in claims]


def owner_weights(owners: Sequence[Owner], share_rule: str) -> list[int]:
    return [o.capability for o in owners] if share_rule == "capability" else [1] * len(owners)


def station_weights(stations: Sequence[Station], share_rule: str, scores: Sequence[int] | None = None) -> list[int]:
    """`contribution` uses the winner's scores when there are any, else it is the equal rule."""
    if share_rule == "capability":
        return [s.capability for s in stations]
    if share_rule == "contribution" and scores is not None:
        return list(scores)
    return [1] * len(stations)


def non_reveal_penalty(deposit: int, penalty_bps: int) -> int:
    return deposit * penalty_bps // BPS


def affordability(capacities: Sequence[int | None], weights: Sequence[int]) -> int | None:
    """A = min_p A_p over owners with an effective weight > 0, with A_p = floor((a_p - 1) * W / w_p)
    (0 when a_p = 0). `None` capacity (no deposit) and an empty min mean unbounded (None)."""
    ws = effective_weights(weights)
    w_sum = sum(ws)
    bound: int | None = None
    for a, w in zip(capacities, ws, strict=True):
        if a is None or w == 0:
            continue
        a_p = 0 if a <= 0 else (a - 1) * w_sum // w
        bound = a_p if bound is None else min(bound, a_p)
    return bound


def paper_random_total(
    sum_costs: int, sum_values: int, afford: int | None, owner_pool: int, seed: int
) -> tuple[int | None, int]:
    """(C, Cmax) with Cmax = min(Σb, A + ownerPool) and C = Σk + seed % (Cmax - Σk + 1);
    C is None when the round is unfunded (Cmax < Σk)."""
    c_max = sum_values if afford is None else min(sum_values, afford + owner_pool)
    if c_max < sum_costs:
        return None, c_max
    return sum_costs + seed % (c_max - sum_costs + 1), c_max


@dataclass(frozen=True)
class Flows:
    owner_payments: list[int]
    station_rewards: list[int]
    owner_discount: int
    station_bonus: int


def distribute(
    total: int, owner_pool: int, station_pool: int, owner_ws: Sequence[int], station_ws: Sequence[int]
) -> Flows:
    """Owners pay split(C - D_o) with D_o = min(ownerPool, C); stations are owed split(C + D_s) with
    D_s = stationPool. Both sides must be non-empty (an empty side is treated as unfunded upstream)."""
    d_o = min(owner_pool, total)
    d_s = station_pool
    return Flows(
        owner_payments=split(total - d_o, owner_ws),
        station_rewards=split(total + d_s, station_ws),
        owner_discount=d_o,
        station_bonus=d_s,
    )

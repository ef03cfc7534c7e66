"""Selection and Clarke tax over integer net values `x[p][m]` (MECHANISM.md, "Selection and Clarke tax").

The option "none" has surplus 0 and comes after every proposal, so a proposal wins a tie with "none"
and a lower index wins a tie with a higher one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def first_argmax(surplus: Sequence[float]) -> int | None:
    """First maximal option over (0, ..., K-1, none), with S(none) = 0; None stands for "none"."""
    best = max(surplus)
    return surplus.index(best) if best >= 0 else None


def surplus(x: Sequence[Sequence[int]], k: int) -> list[int]:
    """S(m) = Σ_p x_p(m)."""
    return [sum(row[m] for row in x) for m in range(k)]


def value_at(row_or_surplus: Sequence[int], m: int | None) -> int:
    return 0 if m is None else row_or_surplus[m]


@dataclass(frozen=True)
class ClarkeResult:
    surplus: list[int]
    selected: int | None  # m*
    m_minus: list[int | None]  # m_-p per row of x
    taxes: list[int]  # per row of x


def clarke(x: Sequence[Sequence[int]], k: int) -> ClarkeResult:
    """m* and tax_p = S_-p(m_-p) - S_-p(m*) for every participant (row of x)."""
    s = surplus(x, k)
    m_star = first_argmax(s)
    m_minus: list[int | None] = []
    taxes: list[int] = []
    for row in x:
        s_minus = [s[m] - row[m] for m in range(k)]
        m_p = first_argmax(s_minus)
        m_minus.append(m_p)
        taxes.append(value_at(s_minus, m_p) - value_at(s_minus, m_star))
    return ClarkeResult(surplus=s, selected=m_star, m_minus=m_minus, taxes=taxes)


def paper_random_net_values(values: Sequence[Sequence[int]], costs: Sequence[Sequence[int]]) -> list[list[int]]:
    """x = b for owners, -k for stations (owners' rows first)."""
    return [list(v) for v in values] + [[-c for c in row] for row in costs]


def posted_net_values(
    values: Sequence[Sequence[int]],
    costs: Sequence[Sequence[int]],
    owner_shares: Sequence[Sequence[int]],
    station_shares: Sequence[Sequence[int]],
) -> list[list[int]]:
    """x = b - s for owners, r - k for stations, where `owner_shares[p][m]` / `station_shares[p][m]`
    are the participant's shares of the posted price C_m."""
    owners = [[b - s for b, s in zip(v, sh, strict=True)] for v, sh in zip(values, owner_shares, strict=True)]
    stations = [[r - c for c, r in zip(row, sh, strict=True)] for row, sh in zip(costs, station_shares, strict=True)]
    return owners + stations

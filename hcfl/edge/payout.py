"""From a rule's per-client payoffs to integer wei: every rule ends here.

Two modes, chosen by the committed rule's `unit_wei`:

- `unit_wei = None` (proportional): the whole budget B is split in proportion to the payoffs by the
  cumulative-floor rule (`hcfl.edge.rounding`). If every payoff is 0, nobody earned anything and the
  whole budget goes back to the station.
- `unit_wei = u` (absolute): client k is owed a_k = payoff_k * u wei. If sum(a) <= B, the station's
  remainder B - sum(a) is appended as a last pseudo-client and the cumulative-floor rule runs over
  [a_1, ..., a_n, B - sum(a)] with W = B, so client k gets floor-differences of its exact amount and
  the station gets the rest back. If sum(a) > B, the payoffs are scaled down pro rata into B.

Either way `sum(amounts) + returned == budget` to the wei. Payoffs must be >= 0: a rule that can
produce a negative payoff applies its own documented policy first (see `hcfl.edge.lceme`).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from hcfl.edge.rounding import Weight, as_fraction, check_budget, cumulative_floor_split


class EdgePayout(BaseModel):
    """Integer wei per client (client order) plus what goes back to the station."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: int
    amounts: list[int]
    returned: int

    def model_post_init(self, __context: object) -> None:
        if sum(self.amounts) + self.returned != self.budget or self.returned < 0 or min(self.amounts, default=0) < 0:
            raise ValueError("payout does not conserve the budget")


def allocate(budget: int, payoffs: Sequence[Weight], unit_wei: int | None = None) -> EdgePayout:
    """Turn non-negative payoffs (client order) into wei under the mode documented above."""
    check_budget(budget)
    if not payoffs:
        raise ValueError("no clients to pay")
    ps = [as_fraction(p, f"payoff[{i}]") for i, p in enumerate(payoffs)]
    if unit_wei is not None and (isinstance(unit_wei, bool) or not isinstance(unit_wei, int) or unit_wei < 1):
        raise ValueError(f"unit_wei must be a positive int or None, got {unit_wei!r}")
    if sum(ps) == 0 or budget == 0:
        return EdgePayout(budget=budget, amounts=[0] * len(ps), returned=budget)
    if unit_wei is None:
        return EdgePayout(budget=budget, amounts=cumulative_floor_split(budget, ps), returned=0)
    owed = [p * unit_wei for p in ps]
    total: Fraction = sum(owed, Fraction(0))
    if total > budget:
        return EdgePayout(budget=budget, amounts=cumulative_floor_split(budget, owed), returned=0)
    parts = cumulative_floor_split(budget, [*owed, budget - total])
    return EdgePayout(budget=budget, amounts=parts[:-1], returned=parts[-1])

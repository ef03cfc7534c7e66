"""A participant's true (quasi-linear) utility from a settlement, given its true claims."""
from __future__ import annotations

from collections.abc import Sequence

from hcfl.mechanism.models import Instance, Settlement


def true_utility(instance: Instance, settlement: Settlement, pid: str, true_claims: Sequence[int]) -> int:
    """Owner: v^{m*} - payment - tax. Station: reward - k^{m*} - tax (reward as escrowed at settlement,
    i.e. every global round reported). With no selection: -tax."""
    is_owner = any(o.id == pid for o in instance.owners)
    tax = settlement.taxes.get(pid, 0)
    m = settlement.selected
    if m is None:
        return -tax
    if is_owner:
        return true_claims[m] - settlement.owner_payments.get(pid, 0) - tax
    return settlement.station_rewards.get(pid, 0) - true_claims[m] - tax

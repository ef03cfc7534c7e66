"""`settle(instance) -> Settlement`: the whole settlement step of docs/mechanism.md, in plain ints.

Choices docs/mechanism.md does not spell out (raised with the lead; keep the contract in step):
- a round with no revealed owner or no revealed station is unfunded whatever the claims (nobody would
  pay, or nobody could be paid; under `posted` S(m) = Σb - Σk would no longer hold). Making it depend
  on m* instead would let a pivot dodge its tax by steering m* to a proposal (found by the tests);
- an unfunded round charges no tax at all ("no taxes" in the unfunded rule), unlike a "none" selection,
  whose pivots are taxed.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from hcfl.mechanism.clarke import clarke, paper_random_net_values, posted_net_values
from hcfl.mechanism.models import Instance, Owner, Participant, Settlement, Station
from hcfl.mechanism.payments import (
    affordability,
    cap_claims,
    claim_limit,
    distribute,
    non_reveal_penalty,
    owner_weights,
    paper_random_total,
    station_weights,
)
from hcfl.mechanism.shares import split

log = logging.getLogger(__name__)


def canonical_json(instance: Instance) -> str:
    """The instance as validated (defaults filled in), without `seed`, keys sorted, no spaces, ASCII."""
    data = instance.model_dump(mode="json", exclude={"seed"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def default_seed(instance: Instance) -> int:
    """Off-chain seed when the instance gives none: int.from_bytes(sha256(canonical_json), "big").
    (On chain the seed is uint256(keccak256(abi.encode(xorOfRevealedSalts))); pass it as `seed`.)"""
    return int.from_bytes(hashlib.sha256(canonical_json(instance).encode("ascii")).digest(), "big")


def _transpose_shares(totals: list[int], weights: list[int]) -> list[list[int]]:
    """shares[p][m] = split(totals[m], weights)[p]."""
    if not weights:
        return []
    per_m = [split(c, weights) for c in totals]
    return [[per_m[m][p] for m in range(len(totals))] for p in range(len(weights))]


@dataclass(frozen=True)
class NetValues:
    """Capped claims and net values x[p][m] of the revealed participants (owners first, join order)."""

    owners: list[Owner]
    stations: list[Station]
    capped: dict[str, list[int]]
    owner_weights: list[int]
    station_weights: list[int]
    x: list[list[int]]

    @property
    def revealed(self) -> list[Participant]:
        return [*self.owners, *self.stations]


def net_values(instance: Instance) -> NetValues:
    rule = instance.payment_rule
    max_price = max(instance.posted_prices) if instance.posted_prices else None
    owners = instance.revealed_owners
    stations = instance.revealed_stations
    capped = {p.id: cap_claims(p.claims, claim_limit(p.deposit, rule, max_price)) for p in [*owners, *stations]}
    values = [capped[o.id] for o in owners]
    costs = [capped[s.id] for s in stations]
    ow = owner_weights(owners, instance.share_rule)
    sw = station_weights(stations, instance.effective_station_share_rule)  # contribution = equal here
    if rule == "posted":
        assert instance.posted_prices is not None
        prices = instance.posted_prices
        x = posted_net_values(values, costs, _transpose_shares(prices, ow), _transpose_shares(prices, sw))
    else:
        x = paper_random_net_values(values, costs)
    return NetValues(owners, stations, capped, ow, sw, x)


def settle(instance: Instance) -> Settlement:
    k = instance.k
    rule = instance.payment_rule
    nv = net_values(instance)
    owners, stations, capped, ow, sw, x = nv.owners, nv.stations, nv.capped, nv.owner_weights, nv.station_weights, nv.x
    revealed = nv.revealed
    values = [capped[o.id] for o in owners]
    costs = [capped[s.id] for s in stations]
    result = clarke(x, k)
    m_star = result.selected
    seed = instance.seed if instance.seed is not None else default_seed(instance)

    sum_values = sum_costs = c_max = total = None
    unfunded = False
    if not owners or not stations:
        # Nobody to pay or nobody to be paid: unfunded whatever the claims (module docstring).
        unfunded = True
    elif m_star is not None:
        sum_values = sum(v[m_star] for v in values)
        sum_costs = sum(c[m_star] for c in costs)
        if rule == "paper-random":
            capacities = [None if o.deposit is None else o.deposit - t for o, t in zip(owners, result.taxes)]
            total, c_max = paper_random_total(
                sum_costs, sum_values, affordability(capacities, ow), instance.owner_pool, seed
            )
            unfunded = total is None
        else:
            assert instance.posted_prices is not None
            total = instance.posted_prices[m_star]
    if unfunded:
        total = None
        log.info("round unfunded: argmax %s is treated as 'none' (no taxes, no payments)", m_star)
    selected = None if unfunded else m_star
    taxes = [0] * len(revealed) if unfunded else list(result.taxes)

    if total is not None:
        flows = distribute(total, instance.owner_pool, instance.station_pool, ow, sw)
        owner_pay, station_pay = flows.owner_payments, flows.station_rewards
        d_o, d_s = flows.owner_discount, flows.station_bonus
    else:
        owner_pay, station_pay = [0] * len(owners), [0] * len(stations)
        d_o = d_s = 0

    penalties = {
        p.id: non_reveal_penalty(p.deposit, instance.non_reveal_penalty_bps)
        for p in [*instance.owners, *instance.stations]
        if p.status == "committed" and p.deposit is not None
    }
    owner_ids = {o.id for o in instance.owners}
    owner_taxes = sum(taxes[: len(owners)])
    station_taxes = sum(taxes[len(owners):])
    owner_penalties = sum(v for pid, v in penalties.items() if pid in owner_ids)
    station_penalties = sum(v for pid, v in penalties.items() if pid not in owner_ids)
    pools_after = {
        "owner_pool": instance.owner_pool - d_o + owner_taxes + owner_penalties,
        "station_pool": instance.station_pool - d_s + station_taxes + station_penalties,
    }

    tax_by_id = {p.id: t for p, t in zip(revealed, taxes)}
    pay_by_id = {o.id: v for o, v in zip(owners, owner_pay)}
    credits: dict[str, int] | None = None
    if any(p.deposit is not None for p in [*instance.owners, *instance.stations]):
        credits = {}
        for p in [*instance.owners, *instance.stations]:
            if p.deposit is None:
                continue
            credits[p.id] = p.deposit - tax_by_id.get(p.id, 0) - pay_by_id.get(p.id, 0) - penalties.get(p.id, 0)

    winner = None
    bond_held = 0
    bond_credits: dict[str, int] = {}
    if instance.proposals is not None:
        for m, prop in enumerate(instance.proposals):
            if m == selected:
                winner, bond_held = prop.proposer, prop.bond
            else:
                bond_credits[prop.proposer] = bond_credits.get(prop.proposer, 0) + prop.bond

    return Settlement(
        payment_rule=rule,
        k=k,
        surplus=result.surplus,
        argmax=m_star,
        selected=selected,
        unfunded=unfunded,
        m_minus={p.id: m for p, m in zip(revealed, result.m_minus)},
        taxes=tax_by_id,
        seed=seed,
        sum_values=sum_values,
        sum_costs=sum_costs,
        c_max=c_max,
        total_payment=total,
        owner_discount=d_o,
        station_bonus=d_s,
        owner_payments=pay_by_id,
        station_rewards={s.id: v for s, v in zip(stations, station_pay)},
        capped_claims=capped,
        penalties=penalties,
        pools_before={"owner_pool": instance.owner_pool, "station_pool": instance.station_pool},
        pools_after=pools_after,
        winner=winner,
        bond_held=bond_held,
        bond_credits=bond_credits,
        credits=credits,
    )

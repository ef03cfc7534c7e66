"""One station's edge settlement of one round: the published inputs -> wei per client (one definition,
used by the station that posts and by the auditor that recomputes).

The station publishes an `EdgeSettlement` (JSON) next to its payout root: the committed rule, the budget,
every edge client's measured inputs (inclusion, samples, accuracy of its update on the station's
validation data, completion time, upload and newest-sample timestamps), the cost claims revealed on chain,
and what the rule needs beyond that (lceme: the loss f(w_T, xi) and the seed of xi; shapley: the utility of
every coalition). `compute(settlement)` applies `hcfl.edge.settle` to those inputs:

- a client absent from every global round of the round (no leaf in any inclusion tree) earns nothing;
- where the rule takes cost claims (ifedcrowd, lceme), a client whose claim was not revealed on chain earns
  nothing, and the leader's parameters (rates r*, assignment D') come from the revealed claims only;
- the amounts conserve the budget to the wei (`hcfl.edge.payout.allocate`): Σ amounts + returned == budget.
"""
from __future__ import annotations

import json
from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hcfl.edge import claims as claims_mod
from hcfl.edge import ifedcrowd, lceme, settle
from hcfl.edge.rule import EdgeRewardRule, ShapleyParams

MAX_CLIENTS = 4096
Addr = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Wei = Annotated[int, Field(strict=True, ge=0, lt=2**96)]


class ClientInputs(BaseModel):
    """What the station measured for one edge client over the round's global rounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: Addr
    included: bool  # in at least one global round's inclusion tree
    samples: Annotated[int, Field(ge=0, lt=2**64)] = 0  # Σ over global rounds of its leaf's samples
    accuracy: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0  # its updates on the station's validation data
    completion_time: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] = 0.0  # mean seconds per edge round
    upload_time: Annotated[int, Field(ge=0, lt=2**63)] = 0  # unix seconds of its last accepted upload
    newest_sample_time: Annotated[int, Field(ge=0, lt=2**63)] = 0  # its newest sample's generation time

    @field_validator("address")
    @classmethod
    def _checksum(cls, v: str) -> str:
        return to_checksum_address(v)


class EdgeSettlement(BaseModel):
    """The published manifest of one station's edge payouts for one round (inputs + amounts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    station: Addr
    round_key: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    round_id: Annotated[int, Field(ge=0, lt=2**64)]
    rule: EdgeRewardRule
    budget: Wei
    clients: Annotated[list[ClientInputs], Field(max_length=MAX_CLIENTS)]
    claims: dict[Addr, Annotated[list[Annotated[int, Field(ge=0, lt=2**256)]], Field(max_length=8)]] = {}
    lceme_loss: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None
    lceme_seed_block: Annotated[int, Field(ge=0)] | None = None
    shapley_utility: Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(max_length=256)] | None = None
    amounts: dict[Addr, Wei] = {}
    returned: Wei = 0
    derived: dict[str, list[float]] = {}
    root: str = ""
    posted_tx: str = ""

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)

    @classmethod
    def from_json(cls, text: str) -> EdgeSettlement:
        return cls.model_validate(json.loads(text))


def paid_clients(s: EdgeSettlement) -> list[ClientInputs]:
    """The clients a rule may pay: included, and (for claim rules) with a revealed claim; address order."""
    out = [c for c in s.clients if c.included]
    if s.rule.name in claims_mod.PARAM_COUNT:
        revealed = {a for a, _ in leader_costs(s.rule.name, s.claims)}
        out = [c for c in out if c.address in revealed]
    return sorted(out, key=lambda c: int(c.address, 16))


def leader_costs(rule_name: str, claims: dict[str, list[int]]) -> list[tuple[str, list[float]]]:
    """Revealed claims (address order) that are well formed for the rule, as floats: the rule's parameter
    count; ifedcrowd: gamma, delta, t_min > 0; lceme: c_p > 0 (c_l >= 0). A malformed claim is ignored
    (its client earns nothing), exactly as an unrevealed one."""
    want = claims_mod.PARAM_COUNT[rule_name]
    positive = 3 if rule_name == "ifedcrowd" else 1
    out = []
    for a, params in sorted(claims.items(), key=lambda kv: int(kv[0], 16)):
        if len(params) == want and all(v > 0 for v in params[:positive]):
            out.append((to_checksum_address(a), [claims_mod.from_fixed(v) for v in params]))
    return out


def ifedcrowd_rates(rule: EdgeRewardRule, claims: dict[str, list[int]]) -> ifedcrowd.Rates | None:
    """The leader's rates from every well-formed revealed claim (what the station announces before training)."""
    costs = [ifedcrowd.ClientCost(*p) for _, p in leader_costs("ifedcrowd", claims)]
    return settle.announce_ifedcrowd(rule, costs) if costs else None


def lceme_clients(claims: dict[str, list[int]], sigma2: float = 1.0) -> list[tuple[str, lceme.LcemeClient]]:
    """LCEME clients from the revealed claims: equal aggregation weights p = 1/n (fixed before training),
    sigma^2 = 1 (the station's documented prior), c_p and c_l from the claim."""
    costs = leader_costs("lceme", claims)
    n = len(costs)
    return [(a, lceme.LcemeClient(p=1.0 / n, sigma2=sigma2, c_p=p[0], c_l=p[1])) for a, p in costs]


def compute(s: EdgeSettlement) -> tuple[dict[str, int], int, dict[str, list[float]]]:
    """({client: wei} for every client of the manifest, wei returned to the station, derived parameters)."""
    pay = paid_clients(s)
    amounts = {c.address: 0 for c in s.clients}
    derived: dict[str, list[float]] = {}
    if not pay or s.budget == 0:
        return amounts, s.budget, derived
    rule = s.rule
    if rule.name == "equal":
        out = settle.pay_equal(rule, s.budget, len(pay))
    elif rule.name == "samples":
        out = settle.pay_samples(rule, s.budget, [c.samples for c in pay])
    elif rule.name == "ifedcrowd":
        rates = ifedcrowd_rates(rule, s.claims)
        if rates is None:
            return amounts, s.budget, derived
        derived["rates"] = [rates.r1, rates.r2]
        out = settle.pay_ifedcrowd(rule, s.budget, rates, [c.accuracy for c in pay],
                                   [max(c.completion_time, 1e-3) for c in pay], [c.upload_time for c in pay],
                                   [[c.newest_sample_time] for c in pay])
    elif rule.name == "lceme":
        if s.lceme_loss is None:
            raise ValueError("an lceme settlement needs the measured loss f(w_T, xi)")
        everyone = lceme_clients(s.claims)
        index = {a: i for i, (a, _) in enumerate(everyone)}
        clients = [c for _, c in everyone]
        assigned = settle.announce_lceme(rule, clients)
        derived["assigned"] = assigned
        full = settle.pay_lceme(rule, s.budget, clients, assigned, s.lceme_loss)
        # clients with a claim but no inclusion earn nothing: re-split only over the paid ones
        weights = [full.amounts[index[c.address]] for c in pay if c.address in index]
        pay = [c for c in pay if c.address in index]
        from hcfl.edge.payout import allocate

        out = allocate(s.budget, weights) if sum(weights) else allocate(s.budget, [0] * max(1, len(pay)))
        if not pay:
            return amounts, s.budget, derived
    elif rule.name == "shapley":
        assert isinstance(rule.params, ShapleyParams)
        n = len(pay)
        table = s.shapley_utility
        if table is None or len(table) != 2**n:
            raise ValueError(f"a shapley settlement over {n} client(s) needs 2^{n} coalition utilities")

        def utility(coalition: frozenset[int]) -> float:
            return float(table[sum(1 << i for i in coalition)])

        out, res = settle.pay_shapley(rule, s.budget, n, utility)
        derived["shapley"] = list(res.values)
    else:  # pragma: no cover - RuleName is closed
        raise ValueError(f"unknown rule {rule.name!r}")
    for c, a in zip(pay, out.amounts):
        amounts[c.address] = a
    return amounts, out.returned, derived


def audit_settlement(s: EdgeSettlement) -> list[str]:
    """Recompute every amount from the manifest's inputs; one line per difference ([] when none)."""
    try:
        amounts, returned, _ = compute(s)
    except ValueError as exc:
        return [f"settlement inputs: {exc}"]
    problems = []
    for a in sorted(set(amounts) | set(s.amounts)):
        if amounts.get(a, 0) != s.amounts.get(a, 0):
            problems.append(f"{a}: the manifest pays {s.amounts.get(a, 0)} wei, the rule gives {amounts.get(a, 0)}")
    if returned != s.returned:
        problems.append(f"returned to the station: manifest {s.returned} wei, the rule gives {returned}")
    return problems

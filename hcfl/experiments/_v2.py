"""Shared plumbing for the experiments on the v2 rules: random rounds as one-round v2 campaigns, and a
participant's realized or expected (over C) true utility."""
from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from hcfl.experiments._common import GWEI
from hcfl.mechanism.v2 import Campaign, RoundResult, run_campaign, true_utility

SHARE_RULES = ("equal", "stake", "proportional")  # the same rule for owners and stations
PAYMENT_RULES = ("posted", "paper-random")


def random_round(rng: random.Random, deposit_gwei: tuple[int, int] = (1_000, 10_000)) -> dict[str, Any]:
    """2-8 owners, 2-8 stations, K = 2-5; values U[0, 200] Gwei, costs U[0, 100] Gwei, posted prices
    U[n_stations*50, n_owners*100] Gwei, deposits U[deposit_gwei] Gwei, a random seed. Everyone reveals,
    in join order (owners first), every station reports every global round (t = 1)."""
    n_o, n_s, k = rng.randint(2, 8), rng.randint(2, 8), rng.randint(2, 5)
    lo, hi = sorted((n_s * 50 * GWEI, n_o * 100 * GWEI))

    def deposit() -> int:
        return rng.randint(deposit_gwei[0] * GWEI, deposit_gwei[1] * GWEI)

    people = [{"id": f"o{i}", "role": "owner", "deposit": deposit(),
               "claims": [rng.randint(0, 200 * GWEI) for _ in range(k)]} for i in range(n_o)]
    people += [{"id": f"s{j}", "role": "station", "deposit": deposit(),
                "claims": [rng.randint(0, 100 * GWEI) for _ in range(k)]} for j in range(n_s)]
    return {
        "participants": people,
        "proposals": [{"proposer": f"o{m % n_o}", "price": rng.randint(lo, hi), "bond": 1} for m in range(k)],
        "seed": rng.getrandbits(256),
        "training": {"t": 1, "reported": {f"s{j}": 1 for j in range(n_s)}},
    }


def with_claims(rnd: dict[str, Any], pid: str, claims: list[int]) -> dict[str, Any]:
    return {**rnd, "participants": [{**p, "claims": claims} if p["id"] == pid else p for p in rnd["participants"]]}


def settle_one(rnd: dict[str, Any], payment_rule: str, share_rule: str) -> RoundResult:
    cfg = {"payment_rule": payment_rule, "owner_share_rule": share_rule, "station_share_rule": share_rule}
    return run_campaign(Campaign.model_validate({"config": cfg, "rounds": [rnd]})).rounds[0]


def expected_utility(r: RoundResult, pid: str, truth: list[int]) -> Fraction:
    """True utility with C replaced by its expectation over C ~ U[Σk, Cmax] under paper-random (the
    share taken as (E[C] - D_o)·w/W or (E[C] + D_s)·w/W; rounding below one wei); realized otherwise."""
    if r.payment_rule != "paper-random" or r.selected is None:
        return Fraction(true_utility(r, pid, truth))
    assert r.c_max is not None
    m = r.selected
    expected_c = Fraction(r.sum_costs[m] + r.c_max, 2)
    p = r.participants[pid]
    side = [q.weight or 0 for q in r.participants.values() if q.role == p.role and q.status == "revealed"]
    share = Fraction(p.weight or 0, sum(side))
    if p.role == "owner":
        return truth[m] - (expected_c - r.owner_discount) * share - p.tax
    return (expected_c + r.station_bonus) * share - truth[m] - p.tax

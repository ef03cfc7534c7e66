"""Small builders for v2 campaigns in tests."""
from __future__ import annotations

from typing import Any

from hcfl.mechanism.v2 import Campaign, CampaignResult, RoundResult, run_campaign


def owner(pid: str, deposit: int, claims: list[int] | None = None, status: str = "revealed", **kw: Any) -> dict:
    return {"id": pid, "role": "owner", "deposit": deposit, "claims": claims, "status": status, **kw}


def station(pid: str, deposit: int, claims: list[int] | None = None, status: str = "revealed", **kw: Any) -> dict:
    return {"id": pid, "role": "station", "deposit": deposit, "claims": claims, "status": status, **kw}


def prop(proposer: str, price: int, bond: int = 1) -> dict:
    return {"proposer": proposer, "price": price, "bond": bond}


def campaign(rounds: list[dict], **config: Any) -> Campaign:
    return Campaign.model_validate({"config": config, "rounds": rounds})


def run(rounds: list[dict], **config: Any) -> CampaignResult:
    return run_campaign(campaign(rounds, **config))


def one(rnd: dict, **config: Any) -> RoundResult:
    return run([rnd], **config).rounds[0]


def conserved(res: CampaignResult) -> bool:
    return (res.wei_in + sum(res.pools_before.values())) == (res.credits_out + sum(res.pools_after.values()))


FULL = {"t": 1, "reported": {}}  # filled per test: every station reports

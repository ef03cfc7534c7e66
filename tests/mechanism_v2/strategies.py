"""Hypothesis strategies for v2 campaigns (hypothesis 6.27 API). Training outcomes and votes are
drawn after each round is settled, so that they always fit the round (winner, voters, stations)."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from hcfl.mechanism.v2 import Campaign, CampaignConfig, Round
from hcfl.mechanism.v2.round_end import finish_round
from hcfl.mechanism.v2.settle import settle_round


@st.composite
def configs(draw, payment_rule: str | None = None, owner_rule: str | None = None, station_rule: str | None = None,
            scale: int = 1) -> dict[str, Any]:
    return {
        "payment_rule": payment_rule or draw(st.sampled_from(["posted", "paper-random"])),
        "owner_share_rule": owner_rule or draw(st.sampled_from(["equal", "stake", "proportional"])),
        "station_share_rule": station_rule or draw(st.sampled_from(["equal", "stake", "proportional", "contribution"])),
        "non_reveal_penalty_bps": draw(st.sampled_from([0, 1, 1000, 5000, 10_000])),
        "non_reveal_penalty_floor": draw(st.integers(1, 5)) * scale,
        "punish_threshold_bps": draw(st.sampled_from([0, 3000, 5000, 10_000])),
        "min_owner_deposit": draw(st.integers(1, 5)) * scale,
        "min_station_deposit": draw(st.integers(1, 5)) * scale,
        "min_bond": draw(st.integers(1, 3)),
        "max_price": draw(st.sampled_from([60 * scale, 2**128 - 1])),
        "pool_draw_bps": draw(st.sampled_from([0, 2500, 10_000])),
        "vote_deposit": draw(st.integers(0, 3)),
    }


@st.composite
def rounds(draw, cfg: dict[str, Any], scale: int = 1, statuses: bool = True, max_people: int = 6) -> dict[str, Any]:
    k = draw(st.integers(0 if statuses else 1, 3))
    n = draw(st.integers(1, max_people))
    people = []
    owner_ids = []
    for i in range(n):
        role = draw(st.sampled_from(["owner", "station"]))
        minimum = cfg["min_owner_deposit" if role == "owner" else "min_station_deposit"]
        deposit = minimum + draw(st.integers(0, 40)) * scale
        status = draw(st.sampled_from(["revealed", "revealed", "revealed", "committed", "joined"])) if statuses and k else (
            "revealed" if k else "joined")
        claims = [draw(st.integers(0, 30)) * scale for _ in range(k)] if status == "revealed" else None
        people.append({"id": f"p{i}", "role": role, "deposit": deposit, "status": status, "claims": claims,
                       "salt": "0x" + f"{draw(st.integers(0, 2**256 - 1)):064x}"})
        if role == "owner":
            owner_ids.append(f"p{i}")
    proposals = []
    if owner_ids:
        for _m in range(k):
            proposals.append({"proposer": draw(st.sampled_from(owner_ids)),
                              "price": draw(st.integers(0, 60)) * scale if cfg["max_price"] > 60 * scale
                              else draw(st.integers(0, cfg["max_price"])),
                              "bond": cfg["min_bond"] + draw(st.integers(0, 5))})
    else:
        for p in people:
            p["status"], p["claims"] = "joined", None
    revealed = [p["id"] for p in people if p["status"] == "revealed"]
    order = draw(st.permutations(revealed))
    return {"participants": people, "proposals": proposals, "reveal_order": list(order)}


def _outcome(draw, cfg: CampaignConfig, rnd: Round, owner_pool: int, station_pool: int) -> Round:
    st_ = settle_round(cfg, rnd, owner_pool, station_pool)
    if st_.selected is None:
        return rnd
    t = draw(st.integers(1, 3))
    stations = [s.id for s in st_.stations]
    reported = {s: draw(st.integers(0, t)) for s in stations}
    finalized = draw(st.booleans()) if draw(st.integers(0, 4)) == 0 else True
    scores = None
    if cfg.station_share_rule == "contribution" and finalized and draw(st.booleans()):
        leaves, acc = [], 0
        for s in stations:
            if draw(st.booleans()):
                acc += draw(st.integers(0, 3))  # a gap
            sc = draw(st.integers(0, 5))
            leaves.append({"station": s, "score": sc, "prefix_before": acc})
            acc += sc
        scores = {"leaves": leaves, "total": acc + draw(st.integers(0, 2))}
    objections = [s for s in stations if draw(st.integers(0, 5)) == 0]
    votes = []
    if finalized:
        voters = [o.id for o in st_.owners if o.id != st_.winner and st_.nominal_share[o.id] > 0]
        for v in draw(st.permutations(voters)):
            if draw(st.booleans()):
                votes.append({"voter": v, "punish": draw(st.booleans()), "revealed": draw(st.integers(0, 3)) > 0})
    data = rnd.model_dump()
    data["training"] = {"t": t, "reported": reported, "finalized": finalized, "scores": scores, "objections": objections}
    data["votes"] = votes
    return Round.model_validate(data)


@st.composite
def campaigns(draw, payment_rule: str | None = None, owner_rule: str | None = None, station_rule: str | None = None,
              statuses: bool = True, max_rounds: int = 3) -> Campaign:
    scale = draw(st.sampled_from([1, 1, 10**18]))
    cfg_data = draw(configs(payment_rule, owner_rule, station_rule, scale))
    cfg = CampaignConfig.model_validate(cfg_data)
    owner_pool = draw(st.sampled_from([0, 0, 1000 * scale]))
    station_pool = draw(st.sampled_from([0, 0, 1000 * scale]))
    start = (owner_pool, station_pool)
    done = []
    for _ in range(draw(st.integers(1, max_rounds))):
        rnd = Round.model_validate(draw(rounds(cfg_data, scale, statuses)))
        rnd = _outcome(draw, cfg, rnd, owner_pool, station_pool)
        res = finish_round(settle_round(cfg, rnd, owner_pool, station_pool))
        owner_pool, station_pool = res.pools_after["owner_pool"], res.pools_after["station_pool"]
        done.append(rnd.model_dump())
    return Campaign.model_validate({"config": cfg_data, "rounds": done, "owner_pool": start[0], "station_pool": start[1]})

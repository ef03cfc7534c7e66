"""Random v2 campaigns by family (seeded `random.Random`, reproducible from the printed seed).

Training outcomes and votes are drawn after each round is settled with the reference, so they always fit
the round (winner, voters with a payment share, revealed stations). Amounts stay small enough to fund
every key from the dev chain's funder."""
from __future__ import annotations

import random
from typing import Any

from hcfl.mechanism.v2 import Campaign, CampaignConfig, Round
from hcfl.mechanism.v2.round_end import finish_round
from hcfl.mechanism.v2.settle import settle_round

FAVOURABLE = ("pools", "contribution", "objection", "votes", "failed-winner")
FAMILIES = ("ties", "all-negative", "k1", "single", "non-revealers", "tight", "posted-stake", "posted-equal",
            "proportional", "paper-random", "pools", "min-deposits", "price-cap", "contribution", "objection",
            "votes", "failed-winner")


def _salt(rng: random.Random) -> str:
    return "0x" + f"{rng.getrandbits(256):064x}"


def config(rng: random.Random, family: str, scale: int) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "payment_rule": rng.choice(["posted", "paper-random"]),
        "owner_share_rule": rng.choice(["equal", "stake", "proportional"]),
        "station_share_rule": rng.choice(["equal", "stake", "proportional", "contribution"]),
        "non_reveal_penalty_bps": rng.choice([0, 1, 1000, 5000, 10_000]),
        "non_reveal_penalty_floor": rng.randint(1, 5) * scale,
        "punish_threshold_bps": rng.choice([0, 3000, 5000, 10_000]),
        "min_owner_deposit": rng.randint(1, 5) * scale,
        "min_station_deposit": rng.randint(1, 5) * scale,
        "min_bond": rng.randint(1, 3),
        "max_price": rng.choice([60 * scale, 2**128 - 1]),
        "pool_draw_bps": rng.choice([0, 2500, 10_000]),
        "vote_deposit": rng.randint(0, 3),
        "max_proposals_per_owner": rng.choice([1, 2, 20]),
    }
    if family.startswith("posted"):
        cfg["payment_rule"] = "posted"
        rule = "stake" if family == "posted-stake" else "equal"
        cfg["owner_share_rule"] = cfg["station_share_rule"] = rule
    elif family == "proportional":
        cfg["owner_share_rule"] = cfg["station_share_rule"] = "proportional"
    elif family in ("paper-random", "price-cap"):
        cfg["payment_rule"] = "paper-random"
        if family == "price-cap":
            cfg["max_price"] = rng.randint(1, 20) * scale
    elif family == "min-deposits":
        cfg["min_owner_deposit"] = cfg["min_station_deposit"] = 30 * scale
    elif family in ("contribution", "objection"):
        cfg["station_share_rule"] = "contribution"
    elif family == "votes":
        cfg["payment_rule"] = "posted"
    elif family == "pools":
        cfg["pool_draw_bps"] = rng.choice([2500, 10_000])
        cfg["payment_rule"] = "posted"
    return cfg


def round_data(rng: random.Random, family: str, cfg: dict[str, Any], scale: int, n_max: int = 6) -> dict[str, Any]:
    favourable = family in FAVOURABLE  # owners value the proposals well above the stations' costs
    k = 1 if family in ("k1", "single") else rng.randint(2, 3) if family == "ties" else rng.randint(1, 3)
    n = 2 if family == "single" else rng.randint(3, max(3, n_max))
    people: list[dict[str, Any]] = []
    roles = ["owner", "owner", "station"] + [rng.choice(["owner", "station"]) for _ in range(n - 3)]
    if family == "single":
        roles = ["owner", "station"]
    rng.shuffle(roles)
    statuses = ["revealed"] * 6 + (["committed", "joined"] * 3 if family == "non-revealers" else ["committed", "joined"])
    for i, role in enumerate(roles):
        minimum = cfg["min_owner_deposit" if role == "owner" else "min_station_deposit"]
        deposit = minimum + (rng.randint(0, 3) if family == "tight" else rng.randint(0, 40)) * scale
        status = "revealed" if family == "single" else rng.choice(statuses)
        if family == "ties":
            claims = [rng.choice([0, 10, 20]) * scale] * k  # every proposal has the same S
        elif favourable:
            claims = [(rng.randint(20, 30) if role == "owner" else rng.randint(0, 5)) * scale for _ in range(k)]
        elif family == "all-negative":
            claims = [(rng.randint(0, 5) if role == "owner" else rng.randint(20, 40)) * scale for _ in range(k)]
        elif family == "tight":
            claims = [rng.randint(0, 2 * deposit) for _ in range(k)]  # many above the cap (deposit - 1)
        else:
            claims = [rng.randint(0, 30) * scale for _ in range(k)]
        people.append({"id": f"p{i}", "role": role, "deposit": deposit, "status": status,
                       "claims": claims if status == "revealed" else None, "salt": _salt(rng)})
    owners = [p["id"] for p in people if p["role"] == "owner"]
    per: dict[str, int] = {}
    proposals = []
    for _m in range(k):
        free = [o for o in owners if per.get(o, 0) < cfg["max_proposals_per_owner"]]
        if not free:
            break
        who = rng.choice(free)
        per[who] = per.get(who, 0) + 1
        cap = min(cfg["max_price"], 60 * scale)
        price = rng.randint(0, min(cap, 10 * scale)) if favourable else rng.randint(0, cap)
        proposals.append({"proposer": who, "price": price, "bond": cfg["min_bond"] + rng.randint(0, 5)})
    k = len(proposals)
    for p in people:
        if p["claims"] is not None:
            p["claims"] = p["claims"][:k]
    revealed = [p["id"] for p in people if p["status"] == "revealed"]
    rng.shuffle(revealed)
    return {"participants": people, "proposals": proposals, "reveal_order": revealed}


def outcome(rng: random.Random, family: str, cfg: CampaignConfig, rnd: Round, pools: tuple[int, int]) -> Round:
    st = settle_round(cfg, rnd, *pools)
    if st.selected is None:
        return rnd
    t = rng.randint(1, 3)
    stations = [s.id for s in st.stations]
    reported = {s: rng.randint(0, t) for s in stations}
    finalized = family != "failed-winner" and rng.random() > 0.1
    scores = None
    if cfg.station_share_rule == "contribution" and finalized and (family in ("contribution", "objection")
                                                                   or rng.random() < 0.5):
        # contiguous leaves over every revealed station, in a random order (no gaps: see the report on
        # escrow leftovers, which the contract keeps in escrow and the reference moves to the station pool)
        order = list(stations)
        rng.shuffle(order)
        leaves, acc = [], 0
        for s in order:
            sc = rng.randint(0, 5)
            leaves.append({"station": s, "score": sc, "prefix_before": acc})
            acc += sc
        scores = {"leaves": leaves, "total": acc}
    objections = [rng.choice(stations)] if finalized and (family == "objection" or rng.random() < 0.1) else []
    votes = []
    if finalized:
        voters = [o.id for o in st.owners if o.id != st.winner and st.nominal_share[o.id] > 0]
        rng.shuffle(voters)
        for v in voters:
            if family == "votes" or rng.random() < 0.5:
                first = family == "votes" and not votes  # the votes family always has a revealed vote
                votes.append({"voter": v, "punish": rng.random() < 0.5, "revealed": first or rng.random() < 0.8})
    data = rnd.model_dump()
    data["training"] = {"t": t, "reported": reported, "finalized": finalized, "scores": scores,
                        "objections": objections}
    data["votes"] = votes
    return Round.model_validate(data)


def campaign(rng: random.Random, family: str, rounds: int | None = None, n_max: int = 6) -> Campaign:
    scale = rng.choice([1, 1000, 10**15])
    cfg_data = config(rng, family, scale)
    cfg = CampaignConfig.model_validate(cfg_data)
    pools = (0, 0)
    done = []
    count = rounds or (rng.randint(2, 3) if family == "pools" else rng.randint(1, 2))
    for _ in range(count):
        rnd = Round.model_validate(round_data(rng, family, cfg_data, scale, n_max))
        rnd = outcome(rng, family, cfg, rnd, pools)
        res = finish_round(settle_round(cfg, rnd, *pools))
        pools = (res.pools_after["owner_pool"], res.pools_after["station_pool"])
        done.append(rnd.model_dump())
    return Campaign.model_validate({"config": cfg_data, "rounds": done})

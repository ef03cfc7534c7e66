"""Differential test v2: the Python reference (hcfl.mechanism.v2) and the v2 contract settle the same
random campaigns to the same integers on every quantity the chain records: selection, surplus, C, seed,
eligibility, pool draws and pools over rounds, each participant's payment/tax/penalty/station share/
reward/forfeit/bond credit/vote deposit/slash share/credit, the vote outcome and its weights.

The chain's side is read back from the event ledger (hcfl.ledger) by `hcfl settle --rules v2 --on-chain`'s
runner, which controls the dev chain's clock. `HCFL_DIFF_V2_SEEDS=n` runs n seeds per family (default 1).
"""
from __future__ import annotations

import os
import random

import pytest
from instances import FAMILIES, campaign

from hcfl.chain.onchain_settle_v2 import V2Session, settle_campaign_on_chain
from hcfl.ledger.outcome import PARTICIPANT_KEYS, ROUND_KEYS, diff_campaign
from hcfl.mechanism.v2 import Campaign, run_campaign

SEEDS = int(os.environ.get("HCFL_DIFF_V2_SEEDS", "1"))


def _check(c: Campaign, session: V2Session, label: str) -> dict:
    ref = run_campaign(c).to_json_dict()
    got = settle_campaign_on_chain(c, session=session)
    mismatches = diff_campaign(ref, got)
    assert not mismatches, f"{label}: {len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])
    # the comparison is not vacuous: every compared key is present on the chain's side, claimed for
    for r in got["rounds"]:
        assert set(ROUND_KEYS) <= set(r), set(ROUND_KEYS) - set(r)
        for p in r["participants"].values():
            assert all(p[k] is not None for k in PARTICIPANT_KEYS if k not in ("capped_claims",)), p
    return got


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_matches_contract(family: str, v2_session: V2Session) -> None:
    for seed in range(SEEDS):
        rng_seed = FAMILIES.index(family) * 1000 + seed
        c = campaign(random.Random(rng_seed), family)
        _check(c, v2_session, f"family {family} seed {rng_seed}")


def test_families_cover_what_they_promise() -> None:
    """The families really produce ties, all-negative rounds, non-revealers, capping, carried pools, ..."""
    seen: dict[str, bool] = {}
    for family in FAMILIES:
        c = campaign(random.Random(FAMILIES.index(family) * 1000), family)
        res = run_campaign(c)
        rounds = res.rounds
        people = [p for r in rounds for p in r.participants.values()]
        seen[family] = {
            "ties": any(len(r.surplus) > 1 and len(set(r.surplus)) < len(r.surplus) for r in rounds),
            "all-negative": any(all(s < 0 for s in r.surplus) for r in rounds),
            "k1": all(r.k == 1 for r in rounds),
            "non-revealers": any(p.status != "revealed" for p in people),
            "tight": any(p.capped_claims and any(cl == p.deposit - 1 for cl in p.capped_claims) for p in people),
            "pools": len(rounds) >= 2 and any(r.pools_before != {"owner_pool": 0, "station_pool": 0} for r in rounds[1:]),
            "min-deposits": all(p.deposit >= 30 for p in people),
            "contribution": any(r.station_split == "contribution" for r in rounds),
            "objection": any(r.station_split.startswith("equal (contribution") for r in rounds),
            "votes": any(r.punish_weight + r.keep_weight > 0 for r in rounds),
            "failed-winner": any(r.winner_failed for r in rounds),
        }.get(family, True)
    missing = [f for f, ok in seen.items() if not ok]
    assert not missing, f"families that did not produce their case with seed 0: {missing}"


def test_large_round_and_carried_pools(v2_session: V2Session) -> None:
    """200 participants in one round (K = 3, stake shares, a few non-revealers, random reveal order), then
    a second round of the campaign drawing on the pools the first one filled."""
    rng = random.Random(4242)
    scale = 10**12
    people = []
    for i in range(200):
        role = "owner" if i % 4 else "station"
        status = "revealed" if i % 23 else rng.choice(["committed", "joined"])
        people.append({"id": f"p{i}", "role": role, "deposit": (5 + rng.randint(0, 40)) * scale, "status": status,
                       "claims": [rng.randint(0, 30) * scale for _ in range(3)] if status == "revealed" else None,
                       "salt": "0x" + f"{rng.getrandbits(256):064x}"})
    order = [p["id"] for p in people if p["status"] == "revealed"]
    rng.shuffle(order)
    stations = [p["id"] for p in people if p["role"] == "station" and p["status"] == "revealed"]
    big = {"participants": people, "reveal_order": order,
           "proposals": [{"proposer": "p1", "price": 400 * scale, "bond": 10}, {"proposer": "p2", "price": 900 * scale,
                                                                               "bond": 10},
                         {"proposer": "p3", "price": 50 * scale, "bond": 10}],
           "training": {"t": 1, "reported": {s: rng.randint(0, 1) for s in stations}},
           "votes": [{"voter": "p5", "punish": False}, {"voter": "p6", "punish": True, "revealed": False}]}
    small = {"participants": [{"id": "p1", "role": "owner", "deposit": 50 * scale, "claims": [30 * scale],
                               "salt": "0x" + "01" * 32},
                              {"id": "p4", "role": "station", "deposit": 9 * scale, "claims": [2 * scale],
                               "salt": "0x" + "02" * 32}],
             "proposals": [{"proposer": "p1", "price": 20 * scale, "bond": 10}],
             "training": {"t": 1, "reported": {"p4": 1}}}
    cfg = {"payment_rule": "posted", "owner_share_rule": "stake", "station_share_rule": "stake",
           "pool_draw_bps": 10_000, "min_owner_deposit": 5 * scale, "min_station_deposit": 5 * scale,
           "vote_deposit": 7, "non_reveal_penalty_bps": 5000, "non_reveal_penalty_floor": scale}
    c = Campaign.model_validate({"config": cfg, "rounds": [big, small]})
    ref = run_campaign(c)
    assert ref.rounds[0].selected is not None and ref.rounds[1].pools_before["owner_pool"] > 0
    got = _check(c, v2_session, "large round")
    # settle is O(K): its gas does not grow with the 200 participants
    assert got["gas"]["settle"]["max"] < 400_000, got["gas"]["settle"]


@pytest.mark.anvil
def test_reference_matches_contract_anvil() -> None:
    session = V2Session.open("anvil")
    try:
        for family in ("pools", "proportional", "contribution", "votes", "paper-random"):
            seed = 7000 + FAMILIES.index(family)
            _check(campaign(random.Random(seed), family), session, f"anvil family {family} seed {seed}")
    finally:
        session.close()

"""Builds many varied rounds on one HCFLCrowdfund deployment for the auditor tests."""
from __future__ import annotations

import random

from hcfl.protocol import commitments
from hcfl.chain.onchain_settle import OnChainSession, settle_on_chain
from hcfl.chain.types import PaymentRule, Role, RoundConfig, ShareRule
from hcfl.mechanism.models import Instance

GWEI = 10**9


def random_instance(rng: random.Random) -> Instance:
    n_owners, n_stations, k = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
    rule = rng.choice(["paper-random", "posted"])
    prices = [rng.randint(0, 150) * GWEI for _ in range(k)]
    low = max(prices) + 1 if rule == "posted" else 1

    def deposit() -> int | None:
        return None if rng.random() < 0.4 else low + rng.randint(20, 300) * GWEI

    def status() -> str:
        return rng.choices(["revealed", "committed", "joined"], [8, 1, 1])[0]

    owners = [{"id": f"o{i}", "capability": rng.choice([0, 1, 2, 5]), "deposit": deposit(), "status": status(),
               "values": [rng.randint(0, 200) * GWEI for _ in range(k)]} for i in range(n_owners)]
    stations = [{"id": f"s{i}", "capability": rng.choice([1, 3, 7]), "deposit": deposit(), "status": status(),
                 "costs": [rng.randint(0, 100) * GWEI for _ in range(k)]} for i in range(n_stations)]
    return Instance.model_validate({
        "owners": owners, "stations": stations, "payment_rule": rule,
        "share_rule": rng.choice(["equal", "capability"]),
        "station_share_rule": rng.choice(["equal", "capability", "contribution"]),
        "posted_prices": prices, "non_reveal_penalty_bps": rng.choice([0, 1000, 2500]),
        "proposals": [{"proposer": rng.choice(owners)["id"], "bond": rng.randint(1, 10) * GWEI} for _ in range(k)],
    })


# hand-made corner cases: an unfunded round (affordability), a "none" selection, nobody revealed
CORNERS = [
    {"owners": [{"id": "o", "deposit": 100 * GWEI, "values": [100 * GWEI]}],
     "stations": [{"id": "s", "deposit": 100 * GWEI, "costs": [90 * GWEI]}]},
    {"owners": [{"id": "o", "values": [10 * GWEI, 5 * GWEI]}],
     "stations": [{"id": "s", "costs": [50 * GWEI, 60 * GWEI]}, {"id": "t", "costs": [1, 2]}]},
    {"owners": [{"id": "o", "deposit": 10 * GWEI, "status": "committed", "values": [1]}],
     "stations": [{"id": "s", "deposit": 10 * GWEI, "status": "joined", "costs": [1]}],
     "proposals": [{"proposer": "o", "bond": GWEI}]},
]


def drive_rounds(session: OnChainSession, n_random: int = 10, seed: int = 7) -> list[dict]:
    """Settles (and, when a model is selected, trains and finishes) many rounds; returns their results."""
    rng = random.Random(seed)
    results = [settle_on_chain(Instance.model_validate(c), session=session) for c in CORNERS]
    for _ in range(n_random):
        results.append(settle_on_chain(random_instance(rng), session=session))
    return results


def _cfg(**kw) -> RoundConfig:
    return RoundConfig(**kw)


def winner_failed_round(session: OnChainSession) -> int:
    """Owner proposes and wins, one station reports 1 of 2 rounds, the winner never finalizes: slashed."""
    chain, client = session.chain, session.client
    o1, o2, s1, s2 = (client.as_participant(k) for k in session.keys(4, 10**18))
    host = o1
    rid = host.create_round(_cfg(station_share_rule=ShareRule.CONTRIBUTION, owner_share_rule=ShareRule.CAPABILITY))

    def nxt():
        chain.wait_until(client.round(rid).phase_end)
        host.advance(rid)

    o1.join(rid, Role.OWNER, 10**15, 3)
    o2.join(rid, Role.OWNER, 10**15, 1)
    s1.join(rid, Role.STATION, 10**15, 1)
    s2.join(rid, Role.STATION, 10**15, 1)
    nxt()
    o1.transact("propose", rid, b"\x01" * 32, "/api/specs/x", 0, 9000, 2, 0x3FF, 0, value=10**9)
    nxt()
    claims = {o1: [80 * GWEI], o2: [70 * GWEI], s1: [20 * GWEI], s2: [30 * GWEI]}
    salts = {p: commitments.new_salt() for p in claims}
    for p, c in claims.items():
        p.commit_claims(rid, c, salts[p])
    nxt()
    for p, c in claims.items():
        p.reveal(rid, c, salts[p])
    chain.wait_until(client.round(rid).phase_end)
    host.settle(rid)
    s1.report_training(rid, 0, b"\x0a" * 32, 100, 7000)
    nxt()  # training deadline passes: WinnerFailed
    return rid


def vote_round(session: OnChainSession, punish_votes: int) -> int:
    """Three owners, two stations, posted price; the winner finalizes and the others vote."""
    chain, client = session.chain, session.client
    o1, o2, o3, s1, s2 = (client.as_participant(k) for k in session.keys(5, 10**18))
    rid = o1.create_round(_cfg(payment_rule=PaymentRule.POSTED, punish_threshold_bps=5000))

    def nxt():
        chain.wait_until(client.round(rid).phase_end)
        o1.advance(rid)

    for p in (o1, o2, o3):
        p.join(rid, Role.OWNER, 10**15)
    for p in (s1, s2):
        p.join(rid, Role.STATION, 10**15, 2)
    nxt()
    o2.transact("propose", rid, b"\x02" * 32, "", 0, 9000, 1, 0b11, 90 * GWEI, value=10**9)
    nxt()
    claims = {o1: [60 * GWEI], o2: [50 * GWEI], o3: [40 * GWEI], s1: [30 * GWEI], s2: [20 * GWEI]}
    salts = {p: commitments.new_salt() for p in claims}
    for p, c in claims.items():
        p.commit_claims(rid, c, salts[p])
    nxt()
    for p, c in claims.items():
        p.reveal(rid, c, salts[p])
    chain.wait_until(client.round(rid).phase_end)
    o1.settle(rid)
    for p in (s1, s2):
        p.report_training(rid, 0, b"\x0b" * 32, 10, 8000)
    o2.finalize_training(rid, b"\xcc" * 32, 8000, [5, 1])
    voters = [o1, o3]
    vs = {p: commitments.new_salt() for p in voters}
    for i, p in enumerate(voters):
        p.commit_vote(rid, i < punish_votes, vs[p])
    nxt()
    for i, p in enumerate(voters):
        p.reveal_vote(rid, i < punish_votes, vs[p])
    nxt()
    for p in (o1, o2, o3, s1, s2):
        if client.credit_of(p.address):
            p.withdraw()
    return rid


def no_proposal_round(session: OnChainSession) -> int:
    chain, client = session.chain, session.client
    a, b = (client.as_participant(k) for k in session.keys(2, 10**18))
    rid = a.create_round(_cfg())
    a.join(rid, Role.OWNER, 5 * GWEI)
    b.join(rid, Role.STATION, 7 * GWEI)
    for _ in range(2):
        chain.wait_until(client.round(rid).phase_end)
        a.advance(rid)
    return rid


def pending_round(session: OnChainSession) -> int:
    """Left in Committing: deposits and the bond stay locked."""
    chain, client = session.chain, session.client
    a, b = (client.as_participant(k) for k in session.keys(2, 10**18))
    rid = a.create_round(_cfg())
    a.join(rid, Role.OWNER, 5 * GWEI)
    b.join(rid, Role.STATION, 7 * GWEI)
    chain.wait_until(client.round(rid).phase_end)
    a.advance(rid)
    a.transact("propose", rid, b"\x03" * 32, "", 0, 1, 1, 1, 0, value=GWEI)
    chain.wait_until(client.round(rid).phase_end)
    a.advance(rid)
    a.commit_claims(rid, [GWEI], commitments.new_salt())
    return rid


def build_all(session: OnChainSession, n_random: int = 10) -> dict[str, object]:
    out: dict[str, object] = {"settled": drive_rounds(session, n_random)}
    out["winner_failed"] = winner_failed_round(session)
    out["punished"] = vote_round(session, punish_votes=2)
    out["kept"] = vote_round(session, punish_votes=0)
    out["no_proposal"] = no_proposal_round(session)
    out["pending"] = pending_round(session)
    return out

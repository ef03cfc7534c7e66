"""hcfl.ledger.phase follows the contract's state() (HCFLStorage.state) through every phase of rounds
that end in each way: no proposal, nobody selected, training closed early by the last report, training
closed by its deadline, the winner failing to finalize."""
from __future__ import annotations

import pytest

from hcfl.chain.onchain_settle_v2 import V2Session
from hcfl.ledger import LedgerFetcher
from hcfl.ledger.phase import phase
from hcfl.protocol import CampaignConfig, Phase, ProposalSpec, Role

D = 100
CFG = CampaignConfig(join_duration=D, propose_duration=D, commit_duration=D, reveal_duration=D, train_duration=D,
                     vote_commit_duration=D, vote_reveal_duration=D, min_owner_deposit=1, min_station_deposit=1,
                     min_bond=1, non_reveal_penalty_floor=1, vote_deposit=0, max_proposals_per_owner=2)


@pytest.fixture(scope="module")
def env():
    s = V2Session.open("embedded")
    keys = s.keys({n: 10**6 for n in ("o1", "o2", "s1")})
    ps = {n: s.core.as_participant(k) for n, k in keys.items()}
    creator = s.core.as_participant(s.chain.funder)
    yield s, ps, creator, LedgerFetcher(s.core)
    s.close()


def _check(env, rid: int, seen: list[Phase]) -> None:
    s, _, _, fetcher = env
    ledger = fetcher.sync()
    got = phase(ledger, rid, s.chain.now())
    assert got == s.core.state(rid), (got, s.core.state(rid))
    if not seen or seen[-1] != got:
        seen.append(got)


def _step(env, rid: int, until: int, seen: list[Phase]) -> None:
    chain = env[0].chain
    chain.wait_until(until - D // 2)
    _check(env, rid, seen)
    chain.wait_until(until)
    _check(env, rid, seen)


@pytest.mark.parametrize("case", ["no-proposal", "none", "early-close", "deadline-close", "failed"])
def test_phase_follows_the_contract(env, case: str) -> None:
    s, ps, creator, _ = env
    core = s.core
    cid = creator.create_campaign(CFG)
    rid = creator.open_round(cid)
    seen: list[Phase] = []
    _check(env, rid, seen)
    ps["o1"].join(rid, Role.OWNER, 1000)
    ps["o2"].join(rid, Role.OWNER, 1000)
    ps["s1"].join(rid, Role.STATION, 1000)
    r = core.round(rid)
    _step(env, rid, r.join_end, seen)
    if case != "no-proposal":
        ps["o1"].propose(rid, ProposalSpec(global_rounds=1, price=100), 1)
    _step(env, rid, r.propose_end, seen)
    if case == "no-proposal":
        assert seen == [Phase.JOINING, Phase.PROPOSING, Phase.FINISHED]
        return
    claims = {"o1": [10 if case == "none" else 500], "o2": [10 if case == "none" else 300], "s1": [200]}
    for n, cl in claims.items():
        ps[n].commit_claims(rid, cl, n.encode().ljust(32, b"\0"))
    _step(env, rid, r.commit_end, seen)
    for n, cl in claims.items():
        ps[n].reveal(rid, cl, n.encode().ljust(32, b"\0"))
    _step(env, rid, r.reveal_end, seen)
    creator.settle(rid)
    _check(env, rid, seen)
    if case == "none":
        assert seen[-1] == Phase.FINISHED
        return
    train_end = core.round(rid).train_end
    if case == "early-close":
        ps["o1"].finalize_training(rid, b"\x01" * 32, 5000)
        _check(env, rid, seen)
        ps["s1"].report_training(rid, 0, b"\x02" * 32, 1, 5000)  # the last report closes training now
        _check(env, rid, seen)
        closed = core.round(rid).train_closed_at
        assert closed and closed < train_end
    else:
        if case == "deadline-close":
            ps["o1"].finalize_training(rid, b"\x01" * 32, 5000)
        _step(env, rid, train_end, seen)
        closed = train_end
    if case == "failed":
        assert seen[-2:] == [Phase.TRAINING, Phase.FINISHED]
        return
    _step(env, rid, closed + D, seen)
    _step(env, rid, closed + 2 * D, seen)
    assert seen[-4:] == [Phase.TRAINING, Phase.VOTE_COMMITTING, Phase.VOTE_REVEALING, Phase.FINISHED], seen

"""The v2 event ledger: incremental folding equals one fold, records say what happened (join order,
reveal order, capped claims, salts, lazily claimed figures, votes, fund flows), a dev-chain revert makes
the fetcher start over, and inconsistent events are refused."""
from __future__ import annotations

import dataclasses

import pytest

from hcfl.chain.client import ChainEvent
from hcfl.chain.onchain_settle_v2 import V2Session, settle_campaign_on_chain
from hcfl.ledger import LedgerError, LedgerFetcher, LedgerState, fold, snapshot
from hcfl.ledger.outcome import campaign_outcome
from hcfl.mechanism.v2 import Campaign
from hcfl.protocol import CreditReason, Role

S = ["0x" + f"{i:064x}" for i in range(1, 10)]
CAMPAIGN = {
    "config": {"payment_rule": "posted", "owner_share_rule": "equal", "station_share_rule": "stake",
               "vote_deposit": 4, "non_reveal_penalty_bps": 5000},
    "rounds": [{
        "participants": [
            {"id": "o1", "role": "owner", "deposit": 5000, "claims": [9000, 100], "salt": S[0]},
            {"id": "s1", "role": "station", "deposit": 2000, "claims": [500, 700], "salt": S[1]},
            {"id": "o2", "role": "owner", "deposit": 6000, "claims": [2500, 4000], "salt": S[2]},
            {"id": "o3", "role": "owner", "deposit": 3000, "status": "committed"},
            {"id": "s2", "role": "station", "deposit": 3000, "status": "joined"}],
        "proposals": [{"proposer": "o1", "price": 2000, "bond": 100}, {"proposer": "o2", "price": 1500, "bond": 50}],
        "reveal_order": ["o2", "s1", "o1"],
        "training": {"t": 2, "reported": {"s1": 2}},
        "votes": [{"voter": "o2", "punish": False}]}],
}


@pytest.fixture(scope="module")
def session():
    s = V2Session.open("embedded")
    yield s
    s.close()


@pytest.fixture(scope="module")
def ran(session):
    return settle_campaign_on_chain(Campaign.model_validate(CAMPAIGN), session=session)


def _names(ran):
    return {p["address"]: pid for pid, p in ran["rounds"][0]["participants"].items()}


def test_records_say_what_happened(session, ran) -> None:
    ledger = LedgerFetcher(session.core).sync()
    names = _names(ran)
    (cid,) = ledger.campaigns
    r = ledger.rounds[ledger.campaigns[cid].round_ids[0]]
    assert [names[p.address] for p in r.participants] == ["o1", "s1", "o2", "o3", "s2"]  # join order
    assert [names[a] for a in r.reveal_order] == ["o2", "s1", "o1"]
    by = {names[p.address]: p for p in r.participants}
    assert by["o1"].claims == (4999, 100)  # capped to deposit - 1
    assert by["o1"].salt == bytes.fromhex(S[0][2:]) and by["o2"].reveal_index == 0
    assert [p.status for p in r.participants] == ["revealed", "revealed", "revealed", "committed", "joined"]
    assert by["o3"].settlement.penalty == 1500 and by["s2"].settlement.refund == 3000
    assert r.settlement is not None and r.settlement.selected and r.winner == by["o1"].address
    assert len(by["s1"].reports) == 2 and by["s1"].reward is not None and by["s1"].reward.forfeited == 0
    assert r.finalization is not None and r.bond is not None and not r.bond.punished
    assert [names[v.voter] for v in r.votes] == ["o2"] and r.votes[0].revealed
    # fund flows: in = deposits + bonds + vote deposits, credits by reason
    o1 = ledger.accounts[by["o1"].address]
    assert o1.deposits == 5000 and o1.bonds == 100 and o1.vote_deposits == 0 and o1.withdrawn == 0
    assert o1.credits[CreditReason.BOND_RETURN] == 100
    o2 = ledger.accounts[by["o2"].address]
    assert o2.vote_deposits == 4 and o2.credits[CreditReason.VOTE_DEPOSIT_RETURN] == 4
    assert o2.credits[CreditReason.BOND_RETURN] == 50  # the losing proposal's bond, at settle
    for a in ledger.accounts.values():
        assert session.core.credit_of(a.address) == a.outstanding
    # the same outcome whichever way it is read
    assert campaign_outcome(ledger, cid, names)["rounds"][0]["participants"] == ran["rounds"][0]["participants"]


def test_incremental_fold_equals_one_fold(session, ran) -> None:
    events = session.core.events(0)
    assert len(events) > 30
    once = snapshot(fold(LedgerState(), events))
    st = LedgerState()
    for i in range(0, len(events), 7):
        fold(st, events[i:i + 7])
    assert snapshot(st) == once
    # and the fetcher, block range by block range
    f = LedgerFetcher(session.core, chunk=5)
    head = session.chain.w3.eth.block_number
    for stop in range(0, head + 1, 9):
        f.sync(to_block=stop)
    got = f.sync()
    # the fetcher adds the settle blocks' timestamps (settledAt); the same fold with them gives the same ledger
    assert f.state.block_times
    with_times = snapshot(fold(LedgerState(block_times=dict(f.state.block_times)), events))
    assert got == dataclasses.replace(with_times, cursor=f.state.cursor)
    assert all(r.settlement.settled_at for r in got.rounds.values() if r.settlement is not None)


def test_withdrawals_and_a_dev_chain_revert(session, ran) -> None:
    core, chain = session.core, session.chain
    f = LedgerFetcher(core)
    before = f.sync()
    snap = chain.snapshot()
    try:
        who = next(a for a in before.accounts.values() if a.outstanding > 0)
        key = session._keys[_names(ran)[who.address]]
        core.as_participant(key).withdraw()
        after = f.sync()
        assert after.accounts[who.address].withdrawn == who.outstanding
        assert after.accounts[who.address].outstanding == 0 and after.restarts == 0
    finally:
        chain.revert(snap)
    # the withdrawal is gone; new blocks replace it: the fetcher notices and starts over
    creator = core.as_participant(chain.funder)
    cid = creator.create_campaign(core.campaign(0).cfg)
    creator.open_round(cid)
    again = f.sync()
    assert again.restarts == 1
    assert again.accounts[who.address].withdrawn == 0
    assert cid in again.campaigns and again.rounds.keys() == before.rounds.keys() | {max(again.rounds)}
    fresh = LedgerFetcher(core).sync()
    assert dataclasses.replace(again, restarts=0) == dataclasses.replace(fresh, cursor=again.cursor)


def test_inconsistent_events_are_refused() -> None:
    st = LedgerState()
    with pytest.raises(LedgerError, match="before its RoundOpened"):
        fold(st, [ChainEvent("Joined", {"roundId": 3, "account": "0x" + "11" * 20, "role": int(Role.OWNER),
                                        "deposit": 5}, 1, "0x00", 0)])
    unknown = snapshot(fold(LedgerState(), [ChainEvent("SomethingNew", {}, 1, "0x00", 0)]))
    assert unknown.events == 0 and unknown.extra["unknown_events"] == 1

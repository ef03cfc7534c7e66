"""A round's phase from ledger records and a timestamp, without a chain call (reads served from the
ledger's snapshot). It follows HCFLStorage.state() (contracts/modules/HCFLStorage.sol) line by line;
tests/ledger/test_phase.py compares the two at every deadline of several rounds."""
from __future__ import annotations

from hcfl.ledger.records import Ledger
from hcfl.protocol import Phase


def phase(ledger: Ledger, round_id: int, now: int) -> Phase:
    """The phase of `round_id` at block timestamp `now` (the ledger must be synced up to `now`)."""
    r = ledger.rounds[round_id]
    cfg = ledger.campaigns[r.campaign_id].config
    if now <= r.join_end:
        return Phase.JOINING
    if now <= r.propose_end:
        return Phase.PROPOSING
    if r.k == 0:
        return Phase.FINISHED
    if now <= r.commit_end:
        return Phase.COMMITTING
    if now <= r.reveal_end:
        return Phase.REVEALING
    s = r.settlement
    if s is None:
        return Phase.AWAITING_SETTLEMENT
    if not s.selected:
        return Phase.FINISHED
    if s.settled_at is None:
        raise ValueError(f"round {round_id}: the settlement's timestamp was not fetched")
    closed = r.training_closed_at
    if closed is None:
        train_end = s.settled_at + cfg.train_duration
        if now <= train_end:
            return Phase.TRAINING
        closed = train_end
    if r.finalization is None:
        return Phase.FINISHED  # the winner failed: punished without a vote
    vce = closed + cfg.vote_commit_duration
    if now <= vce:
        return Phase.VOTE_COMMITTING
    if now <= vce + cfg.vote_reveal_duration:
        return Phase.VOTE_REVEALING
    return Phase.FINISHED

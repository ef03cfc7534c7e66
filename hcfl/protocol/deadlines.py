"""When each phase of a round ends: one table for the coordinator (backend.gateway.ChainGateway.phase_end) and the
web UI (generated into backend/ui/generated/protocol.js as PHASE_DEADLINES, read by backend/ui/store.js).

A deadline (chain time, inclusive) is the first non-zero of some round fields plus campaign durations. The vote's
windows count from the moment the winner closed training (`train_closed_at`) or, while it has not, from the
training deadline. A phase that is not listed (AwaitingSettlement, Finished) waits for a transaction or is over.
"""
from __future__ import annotations

from collections.abc import Callable

from hcfl.protocol.enums import Phase

# phase -> (round fields, the first non-zero of which starts it; campaign durations added to it)
PHASE_DEADLINES: dict[Phase, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Phase.JOINING: (("join_end",), ()),
    Phase.PROPOSING: (("propose_end",), ()),
    Phase.COMMITTING: (("commit_end",), ()),
    Phase.REVEALING: (("reveal_end",), ()),
    Phase.TRAINING: (("train_end",), ()),
    Phase.VOTE_COMMITTING: (("train_closed_at", "train_end"), ("vote_commit_duration",)),
    Phase.VOTE_REVEALING: (("train_closed_at", "train_end"), ("vote_commit_duration", "vote_reveal_duration")),
}


def phase_deadline(phase: int, field: Callable[[str], int], duration: Callable[[str], int]) -> int:
    """The deadline of `phase` from the round's `field(name)` and the campaign's `duration(name)` (names as in
    PHASE_DEADLINES); 0 when the phase has none, or when its start is not known yet (0)."""
    try:
        rule = PHASE_DEADLINES.get(Phase(int(phase)))
    except ValueError:
        return 0
    if rule is None:
        return 0
    starts, durations = rule
    start = next((v for v in (int(field(name)) for name in starts) if v), 0)
    return start + sum(int(duration(name)) for name in durations) if start else 0

"""The deadline driver: every `poll` seconds, settle each round whose reveal deadline passed; on a dev chain
mine a block once the wall clock passed a deadline (phases follow block timestamps).

v2 derives phases from timestamps, so the driver sends only what needs a transaction: `settle` once the
reveal deadline passed. With `fast_forward` on a dev chain it moves the clock to the current phase's deadline
once everybody expected has acted (Joining/Proposing: `expect_joins` participants / `expect_proposals`
proposals, or else at least one owner and one station / one proposal and no new one for `quiet` seconds; Committing: every member
committed; Revealing: every committer revealed;
VoteCommitting/VoteRevealing: every eligible voter committed/revealed). Training closes by itself on chain
(finalized and every station reported) and is never fast-forwarded.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from backend.gateway import ChainGateway
from hcfl.ledger.records import RoundRecord
from hcfl.protocol import Phase, Role, phase_title

log = logging.getLogger(__name__)


class DeadlineDriver:
    """Every `poll` seconds: settle each round whose reveal deadline passed; on a dev chain mine a block once
    the wall clock passed a deadline (phases follow block timestamps); with `fast_forward` move the clock to
    the current phase's deadline once everybody expected has acted (module docstring)."""

    def __init__(self, gw: ChainGateway, poll: float = 2.0, fast_forward: bool = False,
                 on_tick: Callable[[], None] | None = None, quiet: float = 3.0,
                 expect_joins: int = 0, expect_proposals: int = 0) -> None:
        self.gw = gw
        self.poll = poll
        self.fast_forward = fast_forward and gw.chain.is_dev
        self.quiet = float(quiet)
        # Joining/Proposing end at once when this many joined/proposed (0: wait `quiet` seconds without news)
        self.expect_joins = int(expect_joins)
        self.expect_proposals = int(expect_proposals)
        self.on_tick = on_tick
        self.guard: Callable[[], bool] | None = None  # may this coordinator drive? (backend/watchdog.py)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_open = 0  # rounds below this id are known Finished
        self.last_phase: dict[int, Phase] = {}
        self._activity: dict[int, tuple[int, float]] = {}  # rid -> (joins + proposals seen, when it last changed)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hcfl-deadlines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.guard is None or self.guard():
                    self.tick()
            except Exception:  # noqa: BLE001 - the driver must survive node hiccups
                log.exception("deadline driver tick failed")
            if self.on_tick is not None:
                try:
                    self.on_tick()
                except Exception:  # noqa: BLE001
                    log.exception("training tick failed")
            self._stop.wait(self.poll)

    def tick(self) -> None:
        count = self.gw.round_count()
        all_finished = True
        for rid in range(self._first_open, count):
            phase = self.gw.phase(rid)
            r = self.gw.record(rid)
            if self.last_phase.get(rid) != phase:
                log.info("round %d: phase %s (ends %d)", rid, phase_title(phase), self.gw.phase_end(r, phase))
                self.last_phase[rid] = phase
            if phase in (Phase.FINISHED, Phase.NONE):
                if all_finished:
                    self._first_open = rid + 1
                continue
            all_finished = False
            if phase == Phase.AWAITING_SETTLEMENT:
                self._settle(rid)
                continue
            end = self.gw.phase_end(r, phase)
            if self.fast_forward and phase != Phase.TRAINING and self._everyone_acted(r, phase):
                with self.gw.lock:
                    if self.gw.chain.now() <= end:
                        log.info("round %d: fast-forwarding %s to its deadline", rid, phase_title(phase))
                        self.gw.chain.wait_until(end)
                        self.gw.invalidate()
            # deadline_passed first, for every phase: on a dev chain it mines the block that moves a phase past its end
            if end and self.gw.deadline_passed(end) and phase == Phase.REVEALING:
                self._settle(rid)

    def _settle(self, rid: int) -> None:
        if self.gw.settle(rid):
            after = self.gw.phase(rid)
            log.info("round %d: settled -> %s", rid, phase_title(after))
            self.last_phase[rid] = after

    def _quiet(self, r: RoundRecord, ready: bool) -> bool:
        """True once `ready` held and nothing new (join, proposal) arrived for `quiet` seconds."""
        seen = len(r.participants) + r.k
        last = self._activity.get(r.round_id)
        now = time.monotonic()
        if last is None or last[0] != seen:
            self._activity[r.round_id] = (seen, now)
            return False
        return ready and now - last[1] >= self.quiet

    def _everyone_acted(self, r: RoundRecord, phase: Phase) -> bool:
        parts = r.participants
        if phase == Phase.JOINING:
            roles = {p.role for p in parts}
            ready = Role.OWNER in roles and Role.STATION in roles
            if ready and self.expect_joins and len(parts) >= self.expect_joins:
                return True
            return self._quiet(r, ready)
        if phase == Phase.PROPOSING:
            if self.expect_proposals and r.k >= self.expect_proposals:
                return True
            return self._quiet(r, r.k > 0)
        if phase == Phase.COMMITTING:
            return bool(parts) and all(p.committed for p in parts)
        if phase == Phase.REVEALING:
            committed = [p for p in parts if p.committed]
            return bool(committed) and all(p.revealed for p in committed)
        if phase in (Phase.VOTE_COMMITTING, Phase.VOTE_REVEALING):
            winner = r.winner
            with self.gw.lock:
                voters = [a for a in r.revealed_owners if a != winner and self.gw.core.vote_weight(r.round_id, a) > 0]
            voted = {v.voter for v in r.votes}
            if phase == Phase.VOTE_COMMITTING:
                return all(a in voted for a in voters)
            return all(v.revealed for v in r.votes)
        return False

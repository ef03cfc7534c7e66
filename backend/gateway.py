"""The coordinator's one door to the chain (contract v2): a locked gateway around the typed v2 client
(hcfl.chain.v2.CoreClient), the event ledger (hcfl.ledger) and the gas payer.

Reads come from the ledger snapshot (events folded incrementally; one fetch per new block, shared by every
request); a round's phase is derived from the snapshot and the head block's timestamp (hcfl.ledger.phase, which
follows the contract's `state()` line by line), so a read makes no chain call while no block was added. The
embedded chain (eth-tester) is not thread-safe, so every web3 call goes through `ChainGateway.lock`; the
snapshot itself is immutable and read without it.

The JSON-RPC pass-through: backend.services.rpc_proxy; JSON views: backend.views; the deadline driver:
backend.services.deadlines.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from hcfl.chain.client import ChainEvent, ContractRevert, TxFailed
from hcfl.chain.provider import Chain
from hcfl.chain.v2.client import CoreClient, ParticipantV2
from hcfl.ledger.fetch import LedgerFetcher
from hcfl.ledger.phase import phase as ledger_phase
from hcfl.ledger.records import Ledger, ParticipantRecord, RoundRecord
from hcfl.protocol import Phase
from hcfl.protocol.deadlines import phase_deadline

log = logging.getLogger(__name__)


class ChainGateway:
    """The one door to the chain: a lock, the typed v2 client, the ledger and the gas payer (settle only)."""

    def __init__(self, chain: Chain, core: CoreClient, gas_payer: LocalAccount, from_block: int = 0) -> None:
        self.chain = chain
        self.core = core
        self.lock = threading.RLock()
        self.payer: ParticipantV2 = core.as_participant(gas_payer)
        self.chain_id = core.chain_id
        self.fetcher = LedgerFetcher(core, from_block=from_block)
        self._ledger: Ledger | None = None
        self._ledger_block = -1
        self._head_time = 0
        self._events: list[ChainEvent] = []  # the event cache of events(): blocks below _events_next
        self._events_next = 0
        # the read routes may use a snapshot up to `max_age` seconds old (0: check the head on every read); while
        # one thread refreshes it (under the chain lock), they read the current snapshot (backend/read_views.py)
        self.max_age = 0.0
        self._synced_at = -1e18
        self._snap: tuple[Ledger, int, int] | None = None
        self._node_down: str | None = None
        self._reading = threading.local()

    @property
    def address(self) -> str:
        return self.core.address

    # ------------------------------------------------------------ reads
    def ledger(self) -> Ledger:
        """The event ledger up to the head (folded incrementally; cached while no block is added). Inside
        `reading()`, within `max_age` seconds of the last head check or while another thread holds the chain lock,
        the current snapshot without a chain call."""
        snap = self._snap
        max_age = self.max_age if getattr(self._reading, "on", False) else 0.0
        if snap is not None and max_age > 0:
            if time.monotonic() - self._synced_at < max_age:
                return snap[0]
            if not self.lock.acquire(blocking=False):
                if self._node_down is not None:  # the last refresh found the node down: say so, not stale data
                    raise ConnectionError(self._node_down)
                return snap[0]
        else:
            self.lock.acquire()
        try:
            head = self.chain.block_number()
            snap = self._snap  # another thread may have refreshed it meanwhile
            if snap is None or head != snap[1]:
                ledger = self.fetcher.sync(head)
                self._snap = (ledger, head, int(self.chain.w3.eth.get_block(head)["timestamp"]))
                self._ledger, self._ledger_block, self._head_time = self._snap
            self._synced_at = time.monotonic()
            self._node_down = None
            return self._snap[0]  # type: ignore[index]
        except OSError as exc:  # requests' connection errors are OSErrors
            self._node_down = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.lock.release()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Within this block (the read routes, backend/read_views.py) ledger() may answer from a snapshot up to
        `max_age` seconds old; everywhere else (deadlines, training, uploads) it checks the head."""
        before = getattr(self._reading, "on", False)
        self._reading.on = True
        try:
            yield
        finally:
            self._reading.on = before

    def invalidate(self) -> None:
        """The chain moved (a transaction went through this coordinator): the next read checks the head."""
        self._synced_at = -1e18

    def snapshot(self) -> tuple[Ledger, int, int]:
        """(ledger, head block, head timestamp) of one refresh, read atomically."""
        self.ledger()
        assert self._snap is not None
        return self._snap

    def round_count(self) -> int:
        return len(self.ledger().rounds)

    def has_round(self, rid: int) -> bool:
        """Is `rid` a round? A round in the current snapshot is one for good (rounds are only ever added; a chain
        that reverts below the ledger's cursor restarts it), so that needs no chain call and never waits for the
        chain lock; anything else re-reads the head first (the round may be newer than the snapshot)."""
        snap = self._snap
        if snap is not None and 0 <= rid < len(snap[0].rounds):
            return True
        if 0 <= rid < self.round_count():
            return True
        before = getattr(self._reading, "on", False)
        self._reading.on = False  # an exact read: wait for the chain lock if need be
        try:
            return 0 <= rid < self.round_count()
        finally:
            self._reading.on = before

    def record(self, rid: int) -> RoundRecord:
        return self.ledger().rounds[rid]

    def phase(self, rid: int) -> Phase:
        """The round's phase at the head block's timestamp, from the ledger (no chain call of its own)."""
        ledger, _, now = self.snapshot()
        return ledger_phase(ledger, rid, now)

    def block_number(self) -> int:
        with self.lock:
            return self.chain.block_number()

    def now(self) -> int:
        """The chain's clock as the next block will see it (never behind the wall clock on dev nodes)."""
        with self.lock:
            latest = self.chain.now()
        return max(latest, int(time.time()))

    @staticmethod
    def settled_at(r: RoundRecord) -> int | None:
        return r.settlement.settled_at if r.settlement is not None else None

    def phase_end(self, r: RoundRecord, phase: Phase) -> int:
        """The deadline of `phase` (0 when the phase has none: awaiting settlement, finished): hcfl.protocol.deadlines."""
        cfg = self.ledger().campaigns[r.campaign_id].config
        settled = self.settled_at(r)
        fields = {"join_end": r.join_end, "propose_end": r.propose_end, "commit_end": r.commit_end,
                  "reveal_end": r.reveal_end, "train_end": settled + cfg.train_duration if settled is not None else 0,
                  "train_closed_at": r.training_closed_at or 0}
        return phase_deadline(phase, fields.__getitem__, lambda name: int(getattr(cfg, name)))

    def deadline_passed(self, deadline: int) -> bool:
        """True once a block past `deadline` exists. A dev node mines only on transactions, so its latest block
        can lag the wall clock: once the wall clock has passed the deadline, mine an empty block to bring its
        clock up (no time travel)."""
        with self.lock:
            if self.chain.now() > deadline:
                return True
            # eth-tester stamps a block with the time its *predecessor* was mined, so it may take two
            for _ in range(2):
                if not (self.chain.is_dev and time.time() > deadline + 1):
                    break
                self._mine()
                if self.chain.now() > deadline:
                    return True
        return False

    def _mine(self) -> None:
        if self.chain.kind == "embedded":
            self.chain._tester.mine_blocks(1)
        else:
            self.chain.w3.provider.make_request("evm_mine", [])
        self.invalidate()

    def participant(self, rid: int, address: str) -> ParticipantRecord | None:
        return self.record(rid).participant(to_checksum_address(address))

    def events(self, round_id: int | None = None) -> list[ChainEvent]:
        """All contract events (optionally one round's), from a cache that only fetches new blocks."""
        with self.lock:
            latest = self.chain.block_number()
            if latest + 1 < self._events_next:  # the chain went back (dev-node revert)
                self._events, self._events_next = [], 0
            if latest >= self._events_next:
                self._events.extend(self.core.events(from_block=self._events_next, to_block=latest))
                self._events_next = latest + 1
            cached = list(self._events)
        if round_id is None:
            return cached
        return [e for e in cached if e.args.get("roundId") == round_id]  # campaign events carry no roundId

    # ------------------------------------------------------------ permissionless transactions
    def settle(self, rid: int) -> bool:
        """`settle(rid)` from the gas payer; False when the chain refused (deadline not reached, settled...)."""
        with self.lock:
            try:
                self.payer.settle(rid)
            except ContractRevert as exc:
                log.debug("round %d: settle refused: %s", rid, exc)
                return False
            except TxFailed as exc:
                log.warning("round %d: settle failed: %s", rid, exc)
                return False
            finally:
                self.invalidate()
        return True

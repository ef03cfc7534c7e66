"""The one fetcher: reads HCFLCore's logs from a block cursor and folds them (hcfl.ledger.fold).

    fetcher = LedgerFetcher(core)        # hcfl.chain.v2.client.CoreClient
    ledger = fetcher.sync()              # frozen snapshot; call again for what came since

A dev chain can revert (snapshots, a restarted anvil): the fetcher remembers the hash of the last block it
folded, and when that block is gone or changed it starts over from `from_block` (counted in
`Ledger.restarts`). Logs are fetched in chunks of `chunk` blocks. Station rewards paid by contribution
scores carry the (score, prefixBefore) of their claimWithScore call, read from the transaction, and a
settlement carries its block's timestamp (settledAt, which starts the training clock).
"""
from __future__ import annotations

import logging
from typing import Any

from eth_utils import to_checksum_address

from hcfl.chain.client import ChainEvent
from hcfl.chain.v2.client import CoreClient
from hcfl.ledger.fold import LedgerState, fold, snapshot
from hcfl.ledger.records import Ledger

log = logging.getLogger(__name__)


class LedgerFetcher:
    def __init__(self, core: CoreClient, from_block: int = 0, chunk: int = 10_000) -> None:
        self.core = core
        self.from_block = from_block
        self.chunk = chunk
        self.state = LedgerState(cursor=from_block - 1)

    def _hash(self, block: int) -> bytes | None:
        try:
            b = self.core.w3.eth.get_block(block)
        except Exception:  # noqa: BLE001 - a block that no longer exists
            return None
        return bytes(b["hash"]) if b is not None else None

    def _reverted(self, head: int) -> bool:
        st = self.state
        if st.cursor_hash is None:
            return False
        return head < st.cursor or self._hash(st.cursor) != st.cursor_hash

    def restart(self) -> None:
        restarts = self.state.restarts + 1
        self.state = LedgerState(cursor=self.from_block - 1, restarts=restarts)

    def _score_call(self, ev: ChainEvent) -> tuple[int, int] | None:
        tx = self.core.w3.eth.get_transaction(ev.tx_hash)
        if tx.get("to") is None or to_checksum_address(tx["to"]) != self.core.address:
            return None  # called through another contract: the arguments are not in this call data
        try:
            fn, args = self.core.contract.decode_function_input(tx["input"])
        except ValueError:
            return None
        if fn.fn_name != "claimWithScore":
            return None
        return int(args["score"]), int(args["prefixBefore"])

    def _enrich(self, events: list[ChainEvent]) -> None:
        st = self.state
        for ev in events:
            if ev.name == "RoundSettled" and ev.block_number not in st.block_times:
                st.block_times[ev.block_number] = int(self.core.w3.eth.get_block(ev.block_number)["timestamp"])
            if ev.name == "StationRewarded" and ev.args.get("byContribution"):
                call = self._score_call(ev)
                if call is not None:
                    st.score_calls[(int(ev.args["roundId"]), to_checksum_address(ev.args["station"]))] = call

    def ingest(self, receipts: list[Any]) -> Ledger:
        """Fold the events of `receipts` instead of fetching logs: for a caller that sent EVERY transaction
        touching the contract since the cursor (the on-chain runner on the embedded chain, whose
        eth_getLogs scans every block per transaction and grows quadratically). The cursor moves to the
        last receipt's block."""
        if not receipts:
            return snapshot(self.state)
        if self._reverted(int(self.core.w3.eth.block_number)):
            raise RuntimeError("the chain reverted below the ledger's cursor: sync() instead")
        events = sorted((ev for rc in receipts for ev in self.core.receipt_events(rc)),
                        key=lambda e: (e.block_number, e.log_index))
        last = max(int(rc["blockNumber"]) for rc in receipts)
        if events and events[0].block_number <= self.state.cursor:
            raise ValueError(f"receipt from block {events[0].block_number}, at or below the cursor {self.state.cursor}")
        self._enrich(events)
        fold(self.state, events)
        self.state.cursor = last
        self.state.cursor_hash = self._hash(last)
        return snapshot(self.state)

    def sync(self, to_block: int | None = None) -> Ledger:
        """Fold every event up to `to_block` (default: the head) and return the snapshot."""
        w3 = self.core.w3
        head = int(w3.eth.block_number) if to_block is None else to_block
        if self._reverted(head):
            log.warning("chain reverted below block %d: the ledger starts over", self.state.cursor)
            self.restart()
        st = self.state
        start = st.cursor + 1
        while start <= head:
            end = min(head, start + self.chunk - 1)
            events = self.core.events(start, end)
            self._enrich(events)
            fold(st, events)
            st.cursor = end
            start = end + 1
        if head >= 0 and st.cursor == head:
            st.cursor_hash = self._hash(head)
        return snapshot(st)


def ledger_of(core: CoreClient, from_block: int = 0, **kw: Any) -> Ledger:
    """One-shot: every event of `core` from `from_block`, folded."""
    return LedgerFetcher(core, from_block, **kw).sync()

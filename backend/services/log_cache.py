"""`eth_getLogs` on the embedded chain, answered from a cache of every log (behind POST /rpc).

eth-tester answers `eth_getLogs` by walking every block of the range and every receipt in it, under the
gateway lock: a call from block 0 costs 0.2-0.4 s once the demo's chain has ~150 blocks, and the daemons,
the edge devices (inclusion roots) and the payout loops poll that way several times a second, so every other
request (a station's reportTraining among them) queued behind them for seconds. Here each log is fetched
from the node once, with the block that holds it, and a filter is answered by matching the cached logs:
same logs, same wire form and order as eth-tester's answer (the matching follows eth_tester.utils.filters).

What the cache cannot answer exactly is passed to the node unchanged: a `blockHash` filter, block tags other
than "latest", a range past the head, malformed addresses or topics. A chain that went back (a snapshot was
reverted: the cached head block's hash changed) is fetched again from block 0.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TOPIC = re.compile(r"^0x[0-9a-fA-F]{64}$")
_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{1,64}$")
_KEYS = frozenset({"fromBlock", "toBlock", "address", "topics"})

Fetch = Callable[[int, int], list[dict[str, Any]]]  # logs of blocks from..to (inclusive), wire form, in order
BlockHash = Callable[[int], str]  # the hash of block n (0x-hex)


@dataclass(frozen=True)
class _Query:
    start: int
    end: int
    addresses: frozenset[str] | None  # lower-case; None: any
    topics: tuple[frozenset[str] | None, ...]  # per position: lower-case alternatives; None: any


class LogCache:
    """Every log of one chain up to the last block asked for, in chain order; not thread-safe (the caller holds
    the gateway lock)."""

    def __init__(self, fetch: Fetch, block_hash: BlockHash) -> None:
        self._fetch = fetch
        self._block_hash = block_hash
        self._logs: list[dict[str, Any]] = []
        self._blocks: list[int] = []  # block number of each cached log (sorted)
        self._keys: list[tuple[str, tuple[str, ...]]] = []  # (address, topics), lower-case, of each cached log
        self._next = 0  # blocks below this one are cached
        self._tip_hash = ""  # hash of block _next - 1

    def answer(self, params: Any, head: int) -> list[dict[str, Any]] | None:
        """The logs matching `params` (eth_getLogs's params) with the chain at `head`, or None when the node must
        answer the request itself."""
        query = _parse(params, head)
        if query is None:
            return None
        self._catch_up(head)
        lo = bisect.bisect_left(self._blocks, query.start)
        hi = bisect.bisect_right(self._blocks, query.end)
        return [self._logs[i] for i in range(lo, hi) if _matches(self._keys[i], query)]

    def _catch_up(self, head: int) -> None:
        if self._next and (head + 1 < self._next or self._block_hash(self._next - 1) != self._tip_hash):
            self._logs, self._blocks, self._keys, self._next = [], [], [], 0  # the chain went back
        if head < self._next:
            return
        for entry in self._fetch(self._next, head):
            self._logs.append(entry)
            self._blocks.append(int(entry["blockNumber"], 16))
            self._keys.append((str(entry["address"]).lower(), tuple(str(t).lower() for t in entry["topics"])))
        self._next = head + 1
        self._tip_hash = self._block_hash(head)


def _block(value: Any, head: int, default: int) -> int | None:
    if value is None:
        return default
    if value == "latest":
        return head
    if isinstance(value, str) and _QUANTITY.match(value):
        return int(value, 16)
    return None


def _parse(params: Any, head: int) -> _Query | None:
    if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
        return None
    flt = params[0]
    if not set(flt) <= _KEYS:  # blockHash (or anything unknown): the node decides
        return None
    start, end = _block(flt.get("fromBlock"), head, head), _block(flt.get("toBlock"), head, head)
    if start is None or end is None or end > head:
        return None
    address = flt.get("address")
    addresses: frozenset[str] | None
    if address is None:
        addresses = None
    elif isinstance(address, str) and _ADDRESS.match(address):
        addresses = frozenset({address.lower()})
    elif isinstance(address, list) and address and all(isinstance(a, str) and _ADDRESS.match(a) for a in address):
        addresses = frozenset(a.lower() for a in address)
    else:
        return None
    raw_topics = flt.get("topics")
    if raw_topics is None:
        raw_topics = []
    if not isinstance(raw_topics, list):
        return None
    topics: list[frozenset[str] | None] = []
    for position in raw_topics:
        if position is None:
            topics.append(None)
        elif isinstance(position, str) and _TOPIC.match(position):
            topics.append(frozenset({position.lower()}))
        elif isinstance(position, list) and position and all(t is None or (isinstance(t, str) and _TOPIC.match(t))
                                                              for t in position):
            topics.append(None if None in position else frozenset(t.lower() for t in position))
        else:
            return None
    return _Query(start, end, addresses, tuple(topics))


def _matches(key: tuple[str, tuple[str, ...]], query: _Query) -> bool:
    address, topics = key
    if query.addresses is not None and address not in query.addresses:
        return False
    if len(topics) < len(query.topics):  # as eth-tester: a filter position needs a topic there, even a wildcard
        return False
    return all(want is None or have in want for have, want in zip(topics, query.topics))

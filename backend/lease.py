"""One coordinator drives a contract: a lease in the database and a beacon on the chain.

- Shared database: `DbLease` holds a row per deployment namespace (holder, expiry). A coordinator takes it at
  start-up (waiting up to one TTL for a holder that was killed to expire), renews it on every driver tick, and
  stops driving when it finds the row held by someone else.
- Separate databases: the only thing two coordinators share is the chain, so each one that drives a contract on a
  multi-process chain (anvil or an RPC node; an embedded chain lives inside its own process) sends a beacon every
  `interval` seconds: a zero-value transaction from its gas payer to itself whose data is
  `hcfl-coordinator:<contract>:<instance id>`. At start-up it looks back `2 * interval` seconds of blocks for a
  beacon of another instance on the same contract and refuses to start if it finds one; while running, a beacon
  of another instance that started beaconing before it makes it stop driving (the later one yields).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import time
import uuid
from typing import Any

log = logging.getLogger(__name__)

LEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    ns TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    info TEXT NOT NULL,
    expires REAL NOT NULL
);
"""
BEACON_PREFIX = b"hcfl-coordinator:"


class LeaseHeld(RuntimeError):
    """Another coordinator drives this contract."""


def instance_id() -> str:
    return uuid.uuid4().hex[:16]


class DbLease:
    def __init__(self, db_path: str, ns: str, holder: str, *, ttl: float = 10.0, url: str = "") -> None:
        self.db_path = db_path
        self.ns = ns
        self.holder = holder
        self.ttl = ttl
        self.info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "url": url, "holder": holder})
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.executescript(LEASE_SCHEMA)

    def _try(self) -> dict[str, Any] | None:
        """Take or renew the lease; the other holder's info when it is held and not expired."""
        now = time.time()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT holder, info, expires FROM leases WHERE ns = ?", (self.ns,)).fetchone()
            if row is not None and row[0] != self.holder and row[2] > now:
                db.execute("ROLLBACK")
                return {**json.loads(row[1]), "expires_in": round(row[2] - now, 1)}
            db.execute("INSERT INTO leases(ns, holder, info, expires) VALUES (?, ?, ?, ?) ON CONFLICT(ns) DO UPDATE "
                       "SET holder = excluded.holder, info = excluded.info, expires = excluded.expires",
                       (self.ns, self.holder, self.info, now + self.ttl))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return None

    def acquire(self, wait: float | None = None) -> None:
        """Take the lease, waiting up to `wait` (default: one TTL) for a holder that stopped renewing."""
        deadline = time.monotonic() + (self.ttl + 1 if wait is None else wait)
        while True:
            other = self._try()
            if other is None:
                return
            if time.monotonic() >= deadline:
                raise LeaseHeld(
                    f"another coordinator (pid {other.get('pid')} on {other.get('host')}, {other.get('url') or 'no url'}) "
                    f"holds the lease on {self.ns} in this database and renewed it within the last {self.ttl:.0f} s; "
                    "refusing to drive the same contract twice. Stop the other coordinator first.")
            time.sleep(min(1.0, max(0.1, other["expires_in"])))

    def renew(self) -> str | None:
        """Renew; a message when another coordinator holds the lease now."""
        other = self._try()
        if other is None:
            return None
        return (f"another coordinator (pid {other.get('pid')} on {other.get('host')}) took the lease on {self.ns}; "
                "this one stops driving")

    def release(self) -> None:
        try:
            self._db.execute("DELETE FROM leases WHERE ns = ? AND holder = ?", (self.ns, self.holder))
            self._db.close()
        except sqlite3.Error:
            pass


class ChainBeacon:
    """Beacon transactions on a shared chain (module docstring). They are sent by a key derived from the gas
    payer's (funded by it once when the chain charges for gas), so they never race the payer's own nonces."""

    def __init__(self, gw: Any, holder: str, *, interval: float = 10.0, known: set[str] | None = None) -> None:
        from eth_account import Account
        from eth_utils import keccak

        self.gw = gw
        self.holder = holder
        self.interval = interval
        self.known = set(known or ())  # earlier instances on this database (a restart is not a rival)
        self.marker = BEACON_PREFIX + f"{gw.address.lower()}:".encode()
        self.data = self.marker + holder.encode()
        payer = gw.payer.account
        self.account = Account.from_key(keccak(bytes(payer.key) + b"hcfl-coordinator-beacon"))
        self._last_beat = -1e18
        self._scanned = -1
        self._first_beat_block: int | None = None
        self.others: dict[str, tuple[int, int]] = {}  # other instance -> (first block, last block) seen

    def _scan(self, start: int, end: int) -> None:
        w3 = self.gw.chain.w3
        for b in range(max(0, start), end + 1):
            block = w3.eth.get_block(b, full_transactions=True)
            for tx in block["transactions"]:
                data = bytes(tx.get("input") or tx.get("data") or b"")
                if not data.startswith(self.marker):
                    continue
                who = data[len(self.marker):].decode(errors="replace")
                if who == self.holder:
                    if self._first_beat_block is None:
                        self._first_beat_block = b
                elif who not in self.known:
                    first, _ = self.others.get(who, (b, b))
                    self.others[who] = (first, b)

    def _head(self) -> int:
        return self.gw.chain.block_number()

    def look_back(self, wait: bool = True) -> None:
        """At start-up: refuse when another instance beacons. A beacon within the last 2 intervals may come from a
        coordinator that was killed: wait up to 2 intervals for a newer one before deciding."""
        with self.gw.lock:
            w3 = self.gw.chain.w3
            head = self._head()
            horizon = int(w3.eth.get_block(head)["timestamp"]) - 2 * self.interval
            b = head
            while b > 0 and int(w3.eth.get_block(b)["timestamp"]) >= horizon and head - b < 2000:
                b -= 1
            self._scan(b, head)
            self._scanned = head
        if not self.others:
            return
        last_seen = {who: last for who, (_, last) in self.others.items()}
        deadline = time.monotonic() + (2 * self.interval if wait else 0)
        while True:
            with self.gw.lock:
                head = self._head()
                if head > self._scanned:
                    self._scan(self._scanned + 1, head)
                    self._scanned = head
            fresh = [(who, last) for who, (_, last) in self.others.items() if last > last_seen.get(who, -1)]
            if fresh:
                who, block = fresh[0]
                raise LeaseHeld(
                    f"another coordinator (instance {who}) keeps sending beacons for contract {self.gw.address} "
                    f"(latest in block {block}): it drives this contract with its own database; refusing to drive it "
                    "twice. Stop the other coordinator first.")
            if time.monotonic() >= deadline:
                log.info("beacons of %s stopped: taking over contract %s", sorted(self.others), self.gw.address)
                self.known |= set(self.others)
                self.others.clear()
                return
            time.sleep(0.5)

    def beat(self) -> str | None:
        """Send a beacon when due and scan new blocks; a message when an earlier instance drives the contract."""
        with self.gw.lock:
            now = time.monotonic()
            if now - self._last_beat >= self.interval:
                self._send()
                self._last_beat = now
            head = self._head()
            if head > self._scanned:
                self._scan(self._scanned + 1, head)
                self._scanned = head
        mine = self._first_beat_block
        for who, (first, _) in self.others.items():
            if mine is None or first <= mine:
                return (f"another coordinator (instance {who}) drives contract {self.gw.address} (beacon in block "
                        f"{first}, before this one's first); this one stops driving")
        return None

    def _send(self) -> None:
        w3 = self.gw.chain.w3
        me = self.account
        gas = 21_000 + 40 * len(self.data) + 2000  # calldata floor of EIP-7623 (10 gas per token, 4 tokens a byte)
        price = int(w3.eth.gas_price)
        if price and int(w3.eth.get_balance(me.address)) < gas * price:
            payer = self.gw.payer
            fund = {"from": payer.address, "to": me.address, "value": 2000 * gas * price, "gas": 21_000,
                    "gasPrice": price, "chainId": self.gw.chain_id,
                    "nonce": self.gw.core.nonces.take(w3, payer.address, fresh=True)}
            self._push(payer.account.sign_transaction(fund), wait=True)
        tx = {"to": me.address, "value": 0, "data": "0x" + self.data.hex(), "gas": gas, "gasPrice": price,
              "chainId": self.gw.chain_id, "nonce": w3.eth.get_transaction_count(me.address, "pending")}
        self._push(me.sign_transaction(tx), wait=False)  # the next scan sees it mined
        self.gw.invalidate()

    def _push(self, signed: Any, wait: bool) -> None:
        w3 = self.gw.chain.w3
        raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
        h = w3.eth.send_raw_transaction(raw)
        if wait:
            w3.eth.wait_for_transaction_receipt(h, timeout=30)

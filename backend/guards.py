"""Opening the coordinator's state safely: the database must be intact, belong to this deployment, and no other
coordinator may drive the contract (backend/deployment.py, backend/lease.py, backend/integrity.py).

Every refusal is a SystemExit with a message that says what is wrong and what to do, never a traceback.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from backend.deployment import DeploymentMismatch, bind, locate
from backend.faults import DatabaseFault, Refusal
from backend.integrity import open_checked
from backend.lease import ChainBeacon, DbLease, LeaseHeld, instance_id
from backend.store import Store
from backend.watchdog import Watchdog

log = logging.getLogger(__name__)


def open_state(settings: Any, gw: Any) -> tuple[Store, Watchdog]:
    """The Store of `settings.db` bound to `gw`'s deployment, with the lease taken, and its Watchdog."""
    import sqlite3

    try:
        open_checked(settings.db)
        store = Store(settings.db, settings.data_dir, namespace=f"{gw.chain_id}:{gw.address}")
    except (DatabaseFault, sqlite3.DatabaseError) as exc:
        reason = exc if isinstance(exc, DatabaseFault) else (
            f"the database {settings.db} cannot be opened ({exc}); restore it from a backup or start with a fresh --db")
        raise SystemExit(f"hcfl serve: {reason}") from None
    holder = instance_id()
    lease: DbLease | None = None
    beacon: ChainBeacon | None = None
    try:
        with gw.lock:
            deployment = locate(gw.chain.w3, gw.address, gw.chain_id)
        bind(store, deployment, settings.db)
        if settings.db != ":memory:" and settings.background:
            lease = DbLease(settings.db, store.ns, holder, ttl=settings.lease_ttl,
                            url=f"http://{settings.host}:{settings.port}")
            lease.acquire()
        earlier = list(json.loads(store.get_meta(f"instances:{store.ns}") or "[]"))
        known = set(earlier)
        store.set_meta(f"instances:{store.ns}", json.dumps((earlier + [holder])[-50:]))
        if gw.chain.kind != "embedded" and settings.beacon_interval > 0 and settings.background:
            beacon = ChainBeacon(gw, holder, interval=settings.beacon_interval, known=known)
            beacon.look_back()
            beacon.beat()  # the first beacon (and the beacon key's gas) before serving
    except (DeploymentMismatch, LeaseHeld) as exc:
        if lease is not None:
            lease.release()
        store.close()
        raise SystemExit(f"hcfl serve: {exc}") from None
    log.info("state bound to %s; instance %s drives it", deployment.describe(), holder)
    return store, Watchdog(gw, store, None, deployment=deployment, lease=lease, beacon=beacon, refusal=Refusal())

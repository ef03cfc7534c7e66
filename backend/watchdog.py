"""The coordinator's watchdog: may it drive (lease, beacon, deployment), and what is down (health).

`step()` runs every `period` seconds in the watchdog's thread: it renews the database lease, sends/scans the
chain beacon when due and checks that the deploying block is still on the chain. The first failure is fatal: it
is recorded in `refusal` (every API route but /api/health then answers 503 with the reason), the deadline driver
(whose `guard()` is False from then on) and the training worker stop.

`health()` answers `/api/health`: 200 `{"ok": true, ...}` or 503 `{"ok": false, "down": {component: reason}}`
for the node, the database, the model store, the deployment and the lease.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from backend.deployment import Deployment, still_there
from backend.faults import DATABASE, MODEL_STORE, NODE, Refusal, classify, describe
from backend.integrity import IntegrityMonitor
from backend.lease import ChainBeacon, DbLease

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, gw: Any, store: Any, training: Any, *, deployment: Deployment | None,
                 lease: DbLease | None, beacon: ChainBeacon | None, refusal: Refusal | None = None,
                 check_every: float = 2.0) -> None:
        self.gw = gw
        self.store = store
        self.training = training
        self.deployment = deployment
        self.lease = lease
        self.beacon = beacon
        self.refusal = refusal if refusal is not None else Refusal()
        self.integrity = IntegrityMonitor(store)
        self.check_every = check_every
        self._last_deploy_check = -1e18
        self._health_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ may we drive?
    def guard(self) -> bool:
        return not self.refusal

    def start(self, period: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period,), name="hcfl-watchdog", daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            if self.step() is False and self.refusal:
                return

    def step(self) -> bool:
        if self.refusal:
            return False
        problem: tuple[str, str] | None = None
        try:
            if self.lease is not None and (msg := self.lease.renew()):
                problem = ("lease", msg)
            elif self.beacon is not None and (msg := self.beacon.beat()):
                problem = ("lease", msg)
            elif self.deployment is not None and time.monotonic() - self._last_deploy_check >= self.check_every:
                self._last_deploy_check = time.monotonic()
                if msg := still_there(self.gw.chain.w3, self.deployment):
                    problem = ("deployment", msg)
        except Exception as exc:  # noqa: BLE001 - node or database down: not fatal, the next tick retries
            component = classify(exc)
            log.warning("watchdog: a check failed: %s", (component or "bug"), exc_info=exc)
            return component is None  # a bug in the checks must not stop the coordinator; a fault pauses it
        if problem is not None:
            self.refusal.set(*problem)
            self.training._stop.set()
            self.training.wake.set()
            return False
        return True

    # ------------------------------------------------------------ /api/health
    def health(self) -> tuple[int, dict[str, Any]]:
        down: dict[str, str] = dict(self.refusal.reasons)
        body: dict[str, Any] = {"chain_id": self.gw.chain_id, "contract": self.gw.address}
        try:
            body["block"] = self.gw.block_number()
        except Exception as exc:  # noqa: BLE001
            down[NODE] = describe(NODE, exc) if classify(exc) == NODE else f"{type(exc).__name__}: {exc}"
            body["block"] = None
        with self._health_lock:
            for component, check in ((DATABASE, self.integrity.check_database),
                                     (MODEL_STORE, self.integrity.check_model_store)):
                try:
                    msg = check()
                except Exception as exc:  # noqa: BLE001 - a check that cannot run is itself a failure
                    msg = describe(classify(exc) or component, exc)
                if msg:
                    down[component] = msg
        if getattr(self.training, "fault", None):
            down.setdefault(DATABASE, self.training.fault)
        if down:
            return 503, {"ok": False, **body, "down": down}
        return 200, {"ok": True, **body}

    def close(self) -> None:
        thread = getattr(self, "_thread", None)
        if thread is not None:
            self._stop.set()
            thread.join(timeout=35)
        if self.lease is not None:
            self.lease.release()

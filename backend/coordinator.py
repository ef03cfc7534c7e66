"""The coordinator's parts and their lifecycle: `Settings` (the `hcfl serve` options) and `Coordinator` (chain
gateway, store, training service, deadline driver, JSON-RPC proxy), built from settings or passed in
ready-made (tests)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from backend import guards
from backend.faults import Refusal
from backend.gateway import ChainGateway
from backend.read_views import ReadViews
from backend.services.deadlines import DeadlineDriver
from backend.services.rpc_proxy import RpcProxy
from backend.services.training import TrainingManager
from backend.store import Store
from backend.views import EventFormatter
from backend.watchdog import Watchdog
from hcfl.chain.provider import connect
from hcfl.chain.v2.client import CoreClient

log = logging.getLogger(__name__)


@dataclass
class Settings:
    chain: str = "embedded"
    contract: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "hcfl-coordinator.sqlite"
    data_dir: str = "hcfl-data"
    key_file: str | None = None
    poll: float = 2.0
    round_timeout: float = 120.0
    max_station_samples: int = 10**6
    fast_forward: bool = False
    dataset_dir: str | None = None
    static_dir: str | None = None
    fast_forward_quiet: float = 3.0  # Joining/Proposing: seconds without a new join/proposal before the jump
    expect_joins: int = 0  # with fast_forward: Joining ends once this many joined (0: after the quiet time)
    expect_proposals: int = 0  # with fast_forward: Proposing ends once this many proposals exist (0: quiet time)
    background: bool = True  # run the deadline driver and the training worker
    read_max_age: float = 0.25  # multi-process chains: the read routes may use a ledger snapshot this many s old
    lease_ttl: float = 6.0  # the database lease on the contract expires this long after the last renewal
    beacon_interval: float = 30.0  # multi-process chains: seconds between on-chain beacons (0: none)


@dataclass
class Coordinator:
    gw: ChainGateway
    store: Store
    training: TrainingManager
    driver: DeadlineDriver
    settings: Settings
    formatter: EventFormatter = field(init=False)
    rpc: RpcProxy = field(init=False)
    owns_chain: bool = True
    watchdog: Watchdog | None = None  # lease, beacon, deployment and health (backend/watchdog.py)
    refusal: Refusal = field(default_factory=Refusal)
    views: ReadViews = field(init=False)

    def __post_init__(self) -> None:
        self.formatter = EventFormatter(self.gw.core.abi)
        self.rpc = RpcProxy(self.gw)
        self.views = ReadViews(self.gw, self.store)
        if self.watchdog is None:
            self.watchdog = Watchdog(self.gw, self.store, self.training, deployment=None, lease=None, beacon=None,
                                     refusal=self.refusal)
        self.refusal = self.watchdog.refusal
        self.driver.guard = self.watchdog.guard

    @classmethod
    def from_settings(cls, settings: Settings, chain: Any = None) -> "Coordinator":
        owns = chain is None
        key = Path(settings.key_file).read_text().strip() if settings.key_file else None
        chain = chain or connect(settings.chain, funder_key=key)
        payer = Account.from_key(key) if key else chain.funder
        if settings.contract:
            client = CoreClient(chain.w3, settings.contract)
            if not chain.w3.eth.get_code(client.address):
                raise SystemExit(f"no contract deployed at {client.address} on {settings.chain}")
            try:
                client.counts()
            except Exception:  # noqa: BLE001 - any failure: not an HCFLCore
                raise SystemExit(f"{client.address} on {settings.chain} is not an HCFLCore (contract v2)") from None
        else:
            client = CoreClient.deploy(chain, payer)
            log.info("deployed a fresh HCFLCore (v2) at %s (lens %s)", client.address,
                     client.lens.address if client.lens else None)
        gw = ChainGateway(chain, client, payer)
        if chain.kind != "embedded":
            gw.max_age = settings.read_max_age
        store, watchdog = guards.open_state(settings, gw)  # intact, this deployment's, and ours alone
        training = TrainingManager(store, gw, round_timeout=settings.round_timeout, poll=min(settings.poll, 1.0),
                                   dataset_dir=settings.dataset_dir, max_station_samples=settings.max_station_samples)
        driver = DeadlineDriver(gw, poll=settings.poll, fast_forward=settings.fast_forward,
                                quiet=settings.fast_forward_quiet, expect_joins=settings.expect_joins,
                                expect_proposals=settings.expect_proposals)
        log.info("coordinator on chain %s (id %d, %s), contract %s, gas payer %s, db %s",
                 settings.chain, gw.chain_id, chain.kind, client.address, payer.address, settings.db)
        watchdog.training = training
        return cls(gw=gw, store=store, training=training, driver=driver, settings=settings, owns_chain=owns,
                   watchdog=watchdog)

    def start(self) -> None:
        if self.settings.background:
            self.driver.start()
            self.training.start()
            if self.watchdog is not None:
                s = self.settings
                self.watchdog.start(period=max(0.2, min(2.0, s.lease_ttl / 4, s.beacon_interval / 2 or 2.0)))

    def stop(self) -> None:
        self.driver.stop()
        self.training.stop()
        if self.watchdog is not None:
            self.watchdog.close()
        self.rpc.close()
        self.store.close()
        if self.owns_chain:
            self.gw.chain.close()

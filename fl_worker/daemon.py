"""The base-station aggregator daemon (`hcfl aggregator`): pulls work from the coordinator, trains the
station's edge clients, uploads the station model and reports the round on chain with its own key.

Protocol: docs/protocol.md ("Training (daemons)"). One loop iteration:

    GET  /api/rounds/{rid}/task?station=ME
      train -> GET /api/rounds/{rid}/models/global/{g}   (X-HCFL-Model-Hash == keccak(body) == task hash,
                                                          decoded with fl_worker.wire.decode_state)
               build this station's clients from the TrainingPlan, StationTrainer.train_global_round
               PUT /api/rounds/{rid}/updates/{g}          (safetensors, EIP-191 signature of update_message)
               reportTraining(rid, g, updateHash, samples, accuracyBps, clientsRoot) on chain (contract v2;
               clientsRoot: the Merkle root over the edge clients' leaves in edge mode, else zero)
      wait  -> sleep --poll
      done  -> exit 0 (with --forever: go on with the next round ids this station serves)

What the coordinator says about the round is checked against the chain before any training: ω recomputed
from the served spec and training plan (fl_worker.plan.omega) and the label mask must be the selected
proposal's, and the station index / count must be this key's position among the round's revealed stations.
Models are only ever parsed as safetensors.

Network failures (coordinator or node down, 5xx) are retried with exponential backoff capped at
`max_backoff`; SIGTERM/SIGINT abandons the training step in progress (or finishes the short upload /
report step), logs and returns 0.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar

import httpx
import numpy as np
import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from fl_worker.data import load_dataset
from fl_worker.data.base import Split
from fl_worker.edge_pay import EdgePayConfig
from fl_worker.hfl import StationConfig, StationResult, StationTrainer
from fl_worker.local import TrainConfig, set_deterministic
from fl_worker.models import ModelSpec, build_model
from fl_worker.partition import PartitionConfig, partition
from fl_worker.plan import TrainingPlan as SharedTrainingPlan
from fl_worker.plan import omega as omega_of
from fl_worker.wire import WireFormatError, decode_state, state_hash
from hcfl.protocol import download_message, sign, update_message

log = logging.getLogger("hcfl.aggregator")

T = TypeVar("T")

MODEL_HASH_HEADER = "X-HCFL-Model-Hash"
ZERO_ROOT = "0x" + "00" * 32


# ============================================================================ wire-level schemas
class TrainingPlan(SharedTrainingPlan):
    """The coordinator's plan as a daemon reads it: unknown fields are ignored, so that a newer
    coordinator does not break older daemons."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TrainTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["train"]
    round_id: int = Field(ge=0)
    global_round: int = Field(ge=0)
    global_model_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    spec: ModelSpec
    training: TrainingPlan
    label_mask: int = Field(gt=0)
    station_index: int = Field(ge=0)
    num_stations: int = Field(ge=1)
    global_rounds: int = Field(default=0, ge=0)  # t (0: not told; then no model is fetched ahead)

    @field_validator("global_model_hash")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class ChainInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    chain_id: int
    contract: str
    rpc: str = "/rpc"


class DaemonConfig(BaseModel):
    """Everything `hcfl aggregator` is started with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coordinator: str = Field(description="base URL of the coordinator, e.g. http://127.0.0.1:8000")
    key: SecretStr = Field(description="the station's private key (hex)")
    round_id: int = Field(ge=0)
    rpc: str | None = Field(default=None, description="JSON-RPC URL; default {coordinator}/rpc")
    data_dir: Path | None = Field(default=None, description="simulation mode: local copy of the plan's dataset")
    mode: Literal["simulate", "silo", "edge"] = Field(
        default="simulate", description="simulate: the plan's partition of a shared dataset (demo, benches, tests); "
        "silo: the station's own data (--data); edge: the station's edge clients over Flower (--edge)")
    station_data: Path | None = Field(default=None, description="silo mode: the station's own data folder")
    edge_flower: str = Field(default="127.0.0.1:9091", description="edge mode: host:port of the cell's Flower server")
    edge_http: str = Field(default="127.0.0.1:9090", description="edge mode: host:port of the cell's HTTP endpoint")
    min_edge_clients: int = Field(default=1, ge=1)
    edge_timeout: float = Field(default=60.0, gt=0)
    long_poll: float = Field(default=25.0, ge=0, le=30, description="seconds the coordinator may hold a task request")
    poll: float = Field(default=2.0, gt=0)
    max_backoff: float = Field(default=30.0, gt=0)
    forever: bool = False
    http_timeout: float = Field(default=60.0, gt=0)
    max_model_bytes: int = Field(default=512 * 2**20, gt=0)
    edge_pay: EdgePayConfig | None = Field(default=None, description="edge mode: pay the edge clients (issue 10)")

    @field_validator("coordinator")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("coordinator must be an http(s):// URL")
        return v

    @classmethod
    def key_from_file(cls, path: Path) -> SecretStr:
        text = path.read_text().strip()
        try:
            Account.from_key(text)
        except Exception as exc:  # noqa: BLE001 - eth-keys raises several kinds
            raise ValueError(f"{path} does not hold a hex private key") from exc
        return SecretStr(text)


# ============================================================================ signatures
# ============================================================================ errors
class DaemonError(Exception):
    """Something the daemon cannot fix by retrying (bad config, not a station of the round, ...)."""


class RejectedModel(Exception):
    """The coordinator's global model or task failed a check; the step is refused (and retried later)."""


class Stopping(Exception):
    """Raised out of a step when SIGTERM/SIGINT asks the daemon to stop."""


class _Transient(Exception):
    """A failure worth retrying (5xx answer)."""


@dataclass(frozen=True)
class _RoundView:
    """What the chain says about the round (the daemon checks the coordinator's task against it)."""

    omega: str
    label_mask: int
    t: int
    stations: tuple[str, ...]  # revealed stations in join order
    phase: int


# ============================================================================ the daemon
class AggregatorDaemon:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.account: LocalAccount = Account.from_key(config.key.get_secret_value())
        self.address: str = self.account.address
        self.round_id = config.round_id
        self._stop = threading.Event()
        self._in_training = False
        self._http = httpx.Client(base_url=config.coordinator, timeout=config.http_timeout)
        self._chain: ChainInfo | None = None
        self._client: Any = None  # hcfl.chain.v2.client.CoreClient, connected lazily
        self._ledger: Any = None  # hcfl.ledger.LedgerFetcher over the same node
        self._participant: Any = None
        self._trainers: dict[tuple[Any, ...], StationTrainer] = {}
        self._dataset_cache: dict[tuple[str, str | None, int], Any] = {}
        self.rounds_done = 0
        self._reconciled: set[int] = set()
        self.cell: Any = None  # fl_worker.edge.cell.EdgeCell in edge mode
        # on-chain reports go out one after the other (nonce order) on their own thread
        self._reports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        # the per-round phase check (a chain call) runs beside the download and training, not before them
        self._checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phase")
        # set while the station has nothing urgent to do (its edge clients train, or it has no task): its reports and
        # its paymaster's accuracy measurements wait for it instead of competing with the task, the download and the
        # dispatch for this process (the cell shares it: EdgeCell.idle)
        self._idle = threading.Event()
        self._idle.set()
        self._prefetched: tuple[int, int, Future[tuple[bytes, str | None]]] | None = None  # (round, g, download)
        self._download_signatures: dict[int, str] = {}  # round -> signed download_message (the same every g)
        self._views: dict[int, _RoundView] = {}
        self._report_tx: dict[int, _ReportTx] = {}  # round -> how its next reports are sent (see _report)
        self._phase_checked: dict[int, float] = {}  # round -> when its phase was last read (monotonic)
        self._own_data: Any = None  # silo mode: fl_worker.edge.data.RawData
        self.last_cell_round: Any = None

    PHASE_CHECK_AGE_S = 2.0  # a global round's task is checked against a phase read at most this old
    REPORT_HOLD_S = 5.0  # at most this long a report waits for the station to be idle

    # ------------------------------------------------------------------ signals

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not self._stop.is_set():
            log.info("%s received: stopping%s", name, " (abandoning the step in progress)" if self._in_training else "")
        self._stop.set()
        if self._in_training:
            self._in_training = False
            raise Stopping(name)

    def stop(self) -> None:
        self._stop.set()
        self._idle.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopping("stop requested")

    # ------------------------------------------------------------------ retry
    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn` until it succeeds, backing off exponentially (capped) on network / 5xx failures."""
        delay = min(0.5, self.config.max_backoff)
        failures = 0
        while True:
            if self.stopping:
                raise Stopping("stop requested")
            try:
                result = fn()
                if failures:
                    log.info("%s: reachable again after %d failed attempt(s)", what, failures)
                return result
            except (httpx.TransportError, _Transient, OSError, TimeoutError) as exc:
                failures += 1
                log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, _short(exc), delay)
            except Exception as exc:  # web3 wraps connection errors in several types
                if not _is_network_error(exc):
                    raise
                failures += 1
                log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, _short(exc), delay)
            self._sleep(delay)
            delay = min(delay * 2, self.config.max_backoff)

    def _get(self, path: str, **params: Any) -> httpx.Response:
        response = self._http.get(path, params=params or None)
        if response.status_code >= 500:
            raise _Transient(f"GET {path}: HTTP {response.status_code}")
        return response

    # ------------------------------------------------------------------ chain
    def _connect(self) -> None:
        from hcfl.chain.v2.client import CoreClient
        from hcfl.ledger.fetch import LedgerFetcher

        def fetch() -> ChainInfo:
            r = self._get("/api/chain")
            if r.status_code != 200:
                raise DaemonError(f"GET /api/chain: HTTP {r.status_code}: {_detail(r)}")
            return ChainInfo.model_validate(r.json())

        self._chain = self._retry("GET /api/chain", fetch)
        rpc = self.config.rpc or f"{self.config.coordinator}/rpc"
        from hcfl.chain.provider import http_web3

        w3 = http_web3(rpc, self.config.http_timeout)
        chain_id = self._retry(f"chain id from {rpc}", lambda: int(w3.eth.chain_id))
        if chain_id != self._chain.chain_id:
            raise DaemonError(f"{rpc} is chain {chain_id} but the coordinator uses chain {self._chain.chain_id}")
        self._client = CoreClient(w3, self._chain.contract)
        self._ledger = LedgerFetcher(self._client)
        self._participant = self._client.as_participant(self.account)
        log.info("station %s: coordinator %s, contract %s on chain %d via %s", self.address,
                 self.config.coordinator, self._client.address, chain_id, rpc)

    def _round_view(self, round_id: int) -> _RoundView:
        """The round as the chain's events say (hcfl.ledger): selected proposal and revealed stations in join
        order (RoundRecord.revealed_stations), plus the phase (`state`)."""
        from hcfl.chain.client import ContractRevert
        from hcfl.protocol import Phase

        c = self._client
        cached = self._views.get(round_id)
        if cached is not None:  # proposal, label mask, t and the revealed stations are fixed from Training on
            phase = self._retry(f"phase of round {round_id}", lambda: int(c.state(round_id)))
            return _RoundView(cached.omega, cached.label_mask, cached.t, cached.stations, phase)

        def read() -> _RoundView:
            try:
                phase = int(c.state(round_id))
            except ContractRevert as exc:
                raise DaemonError(f"round {round_id} is not on chain ({exc.error})") from exc
            ledger = self._ledger.sync()
            record = ledger.rounds.get(round_id)
            if record is None:
                raise DaemonError(f"round {round_id} is not in the chain's events")
            revealed = tuple(record.revealed_stations)
            p = record.selected_proposal
            if p is None:
                return _RoundView("", 0, 0, revealed, phase)
            return _RoundView("0x" + bytes(p.spec_hash).hex(), int(p.label_mask), int(p.global_rounds), revealed,
                              phase)

        view = self._retry(f"round {round_id} from the chain", read)
        if view.phase == Phase.TRAINING and view.omega:
            self._views[round_id] = view
        return view

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        """Serve until the round is done (or forever); returns the process exit status."""
        set_deterministic(threads=1)
        torch.set_num_threads(1)
        log.info("aggregator for station %s, round %d (poll %.1fs, max backoff %.1fs%s)", self.address,
                 self.round_id, self.config.poll, self.config.max_backoff, ", forever" if self.config.forever else "")
        try:
            self._prepare_mode()
            self._connect()
            while not self.stopping:
                try:
                    status = self._step()
                except (Stopping, DaemonError):
                    raise
                except Exception:  # a long-running daemon logs, backs off and carries on
                    log.exception("round %d: step failed; retrying after a pause", self.round_id)
                    self._backoff_after_rejection()
                    continue
                if status != "train":
                    self._idle.set()
                if status == "done":
                    log.info("round %d: training is over (%d global round(s) served by this daemon)",
                             self.round_id, self.rounds_done)
                    if self.cell is not None:
                        self.cell.linger(10.0)  # let the edge clients fetch their last inclusion proofs
                        self._pay_edge(self.round_id)
                    if not self.config.forever:
                        return 0
                    self._next_round()
                elif status == "skip":
                    self._next_round()
                elif status == "wait":
                    self._sleep(self.config.poll)
        except Stopping:
            pass
        except DaemonError as exc:
            log.error("%s", exc)
            return 1
        finally:
            self._reports.shutdown(wait=True)
            self._checks.shutdown(wait=True, cancel_futures=True)
            self._http.close()
            if self.cell is not None:
                self.cell.stop()
        log.info("stopped cleanly")
        return 0

    def _prepare_mode(self) -> None:
        """Silo: read the station's own data now (a bad folder is a start-up error). Edge: open the cell."""
        if self.config.mode == "silo":
            from fl_worker.edge.data import EdgeDataError, load_edge_data

            if self.config.station_data is None:
                raise DaemonError("silo mode needs --data DIR")
            try:
                self._own_data = load_edge_data(self.config.station_data)
            except EdgeDataError as exc:
                raise DaemonError(str(exc)) from None
            log.info("station data: %d samples (%s)", len(self._own_data), self._own_data.source)
        elif self.config.mode == "edge" and self.cell is None:
            from fl_worker.edge.cell import CellConfig, EdgeCell

            self.cell = EdgeCell(self.account, CellConfig(flower=self.config.edge_flower, http=self.config.edge_http,
                                                          min_clients=self.config.min_edge_clients,
                                                          round_timeout=self.config.edge_timeout))
            self.cell.idle = self._idle
            self.cell.start()

    def _next_round(self) -> None:
        self.round_id += 1
        self.rounds_done = 0
        log.info("waiting for round %d", self.round_id)

    def _step(self) -> str:
        """One poll of the task endpoint and, if there is work, the whole global round. Returns
        'train' (did one), 'wait', 'done' or 'skip' (not a station of this round, with --forever)."""
        rid = self.round_id
        if self.config.edge_pay is not None:
            from fl_worker.edge_pay import announce_early

            announce_early(self, rid)  # edge payouts: the rule goes on chain before training can start
        params: dict[str, Any] = {"station": self.address}
        if self.config.long_poll:
            params["wait"] = self.config.long_poll
        if self._own_data is not None and len(self._own_data):
            params["samples"] = len(self._own_data)  # silo: the most this station can train on (caps its weight)
        self._in_training = True  # a long-polled request is abandoned on SIGTERM like a training step
        try:
            r = self._retry(f"GET task of round {rid}", lambda: self._get(f"/api/rounds/{rid}/task", **params))
        finally:
            self._in_training = False
        if r.status_code == 404:
            if self.config.forever:
                return "wait"
            raise DaemonError(f"round {rid} is unknown to the coordinator: {_detail(r)}")
        if r.status_code == 403:
            return self._not_selected(rid, _detail(r))
        if r.status_code != 200:
            log.warning("task of round %d: HTTP %d: %s", rid, r.status_code, _detail(r))
            return "wait"
        body = r.json()
        status = body.get("status") if isinstance(body, dict) else None
        if rid not in self._reconciled:
            self._reconcile(rid)
        if status == "wait" and r.headers.get("X-HCFL-Long-Poll"):
            return "polled"  # the coordinator held the request until something changed: ask again at once
        if status in ("wait", "done"):
            return str(status)
        try:
            task = TrainTask.model_validate(body)
        except ValidationError as exc:
            log.error("round %d: malformed task from the coordinator, not training it: %s", rid, exc)
            self._sleep(self.config.poll)
            return "wait"
        try:
            self._train_round(task)
        except RejectedModel as exc:
            log.error("round %d g=%d: %s -- not training it", rid, task.global_round, exc)
            self._backoff_after_rejection()
        return "train"

    def _not_selected(self, rid: int, detail: str) -> str:
        """403: not (yet) a selected station. Before Training a member that joined just waits."""
        from hcfl.protocol import Phase, Role

        view = self._round_view(rid)
        me = self._retry("participant view", lambda: self._client.participant(rid, self.address))
        if me.role == Role.STATION and view.phase < Phase.TRAINING:
            log.debug("round %d is in phase %d; waiting for Training", rid, view.phase)
            return "wait"
        if self.config.forever:
            log.info("round %d: this station is not selected (%s); skipping it", rid, detail)
            return "skip"
        raise DaemonError(f"station {self.address} is not a selected station of round {rid}: {detail}")

    def _reconcile(self, rid: int) -> None:
        """Report on chain what this station uploaded in earlier global rounds but never reported (the daemon
        died between the upload and the transaction): the coordinator's history holds those uploads."""
        from hcfl.protocol import Phase

        self._reconciled.add(rid)
        r = self._retry(f"GET training of round {rid}", lambda: self._get(f"/api/rounds/{rid}/training"))
        if r.status_code != 200:
            log.debug("round %d: no training history (HTTP %d)", rid, r.status_code)
            return
        try:
            history = r.json().get("history") or []
            mine = [(int(h["global_round"]), s) for h in history for s in h.get("stations", [])
                    if str(s.get("address", "")).lower() == self.address.lower()]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("round %d: unreadable training history (%s); not reconciling", rid, exc)
            return
        if not mine or self._round_view(rid).phase != Phase.TRAINING:
            return
        for g, entry in mine:
            if self._retry("hasReported", lambda: self._client.has_reported(rid, self.address, g)):  # noqa: B023 - called within this iteration
                continue
            update_hash = str(entry["update_hash"]).lower()
            samples, accuracy_bps = int(entry["samples"]), int(entry["accuracy_bps"])
            tx = self._report(rid, g, update_hash, samples, accuracy_bps, self._published_edge_root(rid, g))
            log.info("round %d g=%d: reported an earlier upload that was never reported: samples=%d accuracy_bps=%d "
                     "update=%s tx=%s", rid, g, samples, accuracy_bps, update_hash, tx)

    def _published_edge_root(self, rid: int, g: int) -> str:
        """The edge root this station sent with its upload of (rid, g), as the coordinator's inclusion manifest
        lists it (zero when none: silo mode, or the manifest is not there)."""
        import re

        r = self._retry(f"GET manifest {rid}/{g}", lambda: self._get(f"/api/rounds/{rid}/manifests/{g}"))
        if r.status_code != 200:
            return ZERO_ROOT
        try:
            for item in r.json().get("included", []):
                if str(item.get("address", "")).lower() == self.address.lower():
                    root = (item.get("edge_root") or {}).get("root")
                    if isinstance(root, str) and re.fullmatch(r"0x[0-9a-fA-F]{64}", root):
                        return root.lower()
        except (AttributeError, TypeError, ValueError):
            pass
        return ZERO_ROOT

    def _backoff_after_rejection(self) -> None:
        self._rejections = getattr(self, "_rejections", 0) + 1
        self._sleep(min(self.config.poll * 2 ** (self._rejections - 1), self.config.max_backoff))

    # ------------------------------------------------------------------ one global round
    def _train_round(self, task: TrainTask) -> None:
        rid, g = task.round_id, task.global_round
        if rid != self.round_id:
            raise RejectedModel(f"task is for round {rid}, not {self.round_id}")
        cached = self._views.get(rid)
        phase_check = None
        if cached is not None:
            # fixed from Training on: only the phase is read again, beside the work, and at most every
            # PHASE_CHECK_AGE_S (the coordinator and the contract refuse work outside Training on their own; this
            # check spares the station a wasted global round)
            view = cached
            now = time.monotonic()
            if now - self._phase_checked.get(rid, -1e9) >= self.PHASE_CHECK_AGE_S:
                self._phase_checked[rid] = now
                phase_check = self._checks.submit(self._round_view, rid)
        else:
            view = self._round_view(rid)
        self._check_task(task, view)
        t0 = time.perf_counter()
        global_state = self._download_global(task)
        if self.config.mode != "edge":
            trainer = self._trainer(task)
            log.info("round %d g=%d/%d: training %d samples on %d client(s) (station %d of %d, %s mode)", rid, g,
                     view.t, trainer.samples, len(trainer.clients), task.station_index, task.num_stations,
                     self.config.mode)
        self._in_training = True
        try:
            if self.config.mode == "edge":
                result = self._train_edge(task, global_state)  # the cell sets _idle while its clients train
            else:
                self._idle.set()
                result = trainer.train_global_round(global_state, g)
        finally:
            self._in_training = False
        if self.stopping:
            raise Stopping("stop requested")
        train_s = time.perf_counter() - t0
        if phase_check is not None and phase_check.done():  # the chain already answered: enforce it now
            self._check_task(task, phase_check.result())
        body = result.encode()
        update_hash = state_hash(body)
        accuracy_bps = max(0, min(10_000, result.local_accuracy_bps))
        if result.samples == 0:
            log.warning("round %d g=%d: this station holds no sample of labels %#x; uploading the unchanged model",
                        rid, g, task.label_mask)
        if not self._upload(task, body, update_hash, result.samples, accuracy_bps):
            return
        self._prefetch_next(task)
        clients_root = ZERO_ROOT
        if self.config.mode == "edge" and self.last_cell_round is not None and self.last_cell_round.global_round == g:
            clients_root = self.commit_edge_root(rid, g, self.last_cell_round.samples, self.last_cell_round.root)
        self._rejections = 0
        self.rounds_done += 1
        total_s = time.perf_counter() - t0

        def report() -> None:  # off the critical path: the daemon long-polls its next task meanwhile
            self._idle.wait(self.REPORT_HOLD_S)
            if phase_check is not None:  # (the coordinator refuses uploads outside Training on its own)
                self._check_task(task, phase_check.result())
            tx = self._report(rid, g, update_hash, result.samples, accuracy_bps, clients_root)
            log.info("round %d g=%d: samples=%d accuracy=%.4f (%d bps) train=%.2fs total=%.2fs update=%s tx=%s",
                     rid, g, result.samples, result.local_accuracy, accuracy_bps, train_s, total_s, update_hash, tx)

        self._idle.clear()
        self._reports.submit(self._logged(report, rid, g))

    @staticmethod
    def _logged(fn: Callable[[], None], rid: int, g: int) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Stopping:
                log.info("round %d g=%d: stopping before the report went out (reported at the next start)", rid, g)
            except Exception:  # noqa: BLE001 - the next start reconciles unreported uploads
                log.exception("round %d g=%d: reportTraining failed", rid, g)

        return run

    def _train_edge(self, task: TrainTask, global_state: dict[str, torch.Tensor]) -> StationResult:
        """kappa edge rounds with the cell's edge clients over Flower (fl_worker.edge.cell)."""
        from fl_worker.edge.cell import NoEdgeClients

        assert self._chain is not None and self.cell is not None
        plan = task.training
        from fl_worker.edge_pay import before_edge_round

        before_edge_round(self, task)  # edge payouts: the rule is announced before the first edge round
        try:
            cell_round = self.cell.train_global_round(
                chain_id=self._chain.chain_id, contract=self._chain.contract, round_id=task.round_id,
                g=task.global_round, spec=task.spec, label_mask=task.label_mask, global_state=global_state,
                edge_rounds=plan.edge_rounds, local_epochs=plan.local_epochs, batch_size=plan.batch_size, lr=plan.lr,
                seed=plan.seed)
        except NoEdgeClients as exc:
            raise RejectedModel(f"no update from the edge this global round: {exc}") from None
        self.last_cell_round = cell_round
        log.info("round %d g=%d: %d edge client(s) included (%d samples), root %s; absent %s; rejected %s; "
                 "edge compute=%.3fs flower=%.3fs", task.round_id, task.global_round, len(cell_round.leaves),
                 cell_round.samples, cell_round.root[:12], cell_round.absent or "none",
                 [f"{r.address[:10]}: {r.reason}" for r in cell_round.rejected] or "none",
                 cell_round.seconds_critical_compute, cell_round.seconds_flower)
        return StationResult(task.station_index, task.global_round, cell_round.state, cell_round.samples,
                             cell_round.accuracy)

    def _pay_edge(self, rid: int) -> None:
        """Edge payouts of round `rid` (fl_worker.edge_pay): settle, post, serve proofs while clients claim."""
        from fl_worker.edge_pay import after_round, linger

        if after_round(self, rid) is not None:
            linger(self, rid, 60.0)

    def commit_edge_root(self, rid: int, g: int, samples: int, root: str) -> str:
        """The one place where the station commits its edge clients' Merkle root of (rid, g): the root goes on
        chain as reportTraining's clientsRoot (contract v2), and is published off chain too: signed by this
        station (edge_root_message) on its edge endpoint (/edge/manifest, /edge/proofs) and sent to the
        coordinator with the upload (X-HCFL-Edge-Root), which lists it in the round's inclusion manifest.
        Returns the root to report."""
        log.info("round %d g=%d: edge root %s over %d samples goes on chain with the report", rid, g, root, samples)
        return root

    def _check_task(self, task: TrainTask, view: _RoundView) -> None:
        from hcfl.protocol import Phase

        if view.phase != Phase.TRAINING:
            raise RejectedModel(f"the coordinator says train but round {task.round_id} is in phase "
                                f"{Phase(view.phase).name} on chain")
        served = omega_of(task.spec, task.training)
        if served != view.omega:
            raise RejectedModel(f"the served spec and plan hash to ω {served}, not the selected proposal's {view.omega}")
        if task.label_mask != view.label_mask:
            raise RejectedModel(f"label mask {task.label_mask:#x} is not the proposal's {view.label_mask:#x}")
        if task.global_round >= view.t:
            raise RejectedModel(f"global round {task.global_round} is out of range (t = {view.t})")
        if self.address not in view.stations:
            raise DaemonError(f"station {self.address} is not a revealed station of round {task.round_id}")
        index = view.stations.index(self.address)
        if (task.station_index, task.num_stations) != (index, len(view.stations)):
            raise RejectedModel(f"station index {task.station_index}/{task.num_stations} does not match the chain's "
                                f"{index}/{len(view.stations)}")

    def _model_cap(self, spec: ModelSpec) -> int:
        """The most bytes a global model of `spec` may have (its safetensors size and 1 MiB of header room)."""
        return min(self.config.max_model_bytes, _model_bytes(spec) + 2**20)

    def _fetch_global(self, rid: int, g: int, spec: ModelSpec, wait: float = 0.0) -> tuple[bytes, str | None]:
        """The bytes of global model g and the coordinator's hash header (`wait`: long-poll for a model that the
        close of g - 1 is about to produce). Checked by _download_global."""
        path = f"/api/rounds/{rid}/models/global/{g}"
        cap = self._model_cap(spec)
        assert self._chain is not None
        if rid not in self._download_signatures:
            self._download_signatures[rid] = sign(self.account, download_message(self._chain.chain_id,
                                                                                        self._chain.contract, rid))
        signed = {"X-HCFL-Station": self.address, "X-HCFL-Signature": self._download_signatures[rid]}
        params = {"wait": wait} if wait else None

        def fetch() -> tuple[bytes, str | None]:
            with self._http.stream("GET", path, headers=signed, params=params,
                                   timeout=httpx.Timeout(self.config.http_timeout + wait)) as r:
                if r.status_code >= 500:
                    raise _Transient(f"GET {path}: HTTP {r.status_code}")
                if r.status_code != 200:
                    r.read()
                    raise RejectedModel(f"GET {path}: HTTP {r.status_code}: {_detail(r)}")
                chunks, size = [], 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise RejectedModel(f"global model {g} is larger than {cap} bytes; refused")
                    chunks.append(chunk)
                return b"".join(chunks), r.headers.get(MODEL_HASH_HEADER)

        return self._retry(f"GET {path}", fetch)

    def _prefetch_next(self, task: TrainTask) -> None:
        """After the upload of g: ask (long-poll) for global model g + 1 beside the task long-poll, so the model
        arrives with the task instead of one round trip after it."""
        rid, nxt = task.round_id, task.global_round + 1
        self._prefetched = None
        if nxt < task.global_rounds and self.config.long_poll:
            future: Future[tuple[bytes, str | None]] = Future()

            def fetch() -> None:  # a daemon thread: a stopping daemon does not wait for its long-poll
                try:
                    future.set_result(self._fetch_global(rid, nxt, task.spec, self.config.long_poll))
                except BaseException as exc:  # noqa: BLE001 - handed to _download_global, which fetches again
                    future.set_exception(exc)

            threading.Thread(target=fetch, name="prefetch", daemon=True).start()
            self._prefetched = (rid, nxt, future)

    def _download_global(self, task: TrainTask) -> dict[str, torch.Tensor]:
        rid, g = task.round_id, task.global_round
        cap = self._model_cap(task.spec)
        fetched = None
        if self._prefetched is not None and self._prefetched[:2] == (rid, g):
            try:
                fetched = self._prefetched[2].result()
            except Exception as exc:  # noqa: BLE001 - fetched again below, with the usual retries and errors
                log.debug("round %d g=%d: prefetched model unusable (%s); downloading it", rid, g, exc)
        self._prefetched = None
        data, header = fetched if fetched is not None else self._fetch_global(rid, g, task.spec)
        actual = state_hash(data)
        if header is None:
            raise RejectedModel(f"global model {g} came without {MODEL_HASH_HEADER}")
        if header.lower() != task.global_model_hash:
            raise RejectedModel(f"global model {g}: {MODEL_HASH_HEADER} {header} differs from the task's "
                                f"{task.global_model_hash}")
        if actual != task.global_model_hash:
            raise RejectedModel(f"global model {g}: hash mismatch: announced {task.global_model_hash}, "
                                f"the {len(data)} bytes received hash to {actual}")
        try:
            return decode_state(data, task.spec, max_bytes=cap)  # its hash was checked just above
        except WireFormatError as exc:
            raise RejectedModel(f"global model {g} is not a valid model for the spec: {exc}") from exc

    def _trainer(self, task: TrainTask) -> StationTrainer:
        plan = task.training
        key = (task.round_id, task.spec, plan, task.label_mask, task.station_index, task.num_stations)
        if key not in self._trainers:
            self._trainers.clear()
            clients = self._station_clients(plan, task.station_index, task.num_stations, task.label_mask, task.spec)
            config = StationConfig(
                edge_rounds=plan.edge_rounds,
                train=TrainConfig(local_epochs=plan.local_epochs, batch_size=plan.batch_size, lr=plan.lr),
                seed=plan.seed,
            )
            self._trainers[key] = StationTrainer(task.spec, clients, config, station_id=task.station_index,
                                                 labels_mask=task.label_mask)
        return self._trainers[key]

    def _station_clients(self, plan: TrainingPlan, index: int, count: int, label_mask: int,
                         spec: ModelSpec | None = None) -> list[Split]:
        if self.config.mode == "silo":
            from fl_worker.edge.data import EdgeDataError, fit_to_spec

            assert spec is not None
            try:
                return [fit_to_spec(self._own_data, spec).filter_labels(label_mask)]
            except EdgeDataError as exc:
                raise DaemonError(f"the station's data does not fit the round's model: {exc}") from None
        data_dir = self.config.data_dir or (Path(plan.simulation.data_dir) if plan.simulation.data_dir else None)
        cache_key = (plan.dataset, str(data_dir) if data_dir else None, plan.seed)
        if cache_key not in self._dataset_cache:
            try:
                self._dataset_cache[cache_key] = load_dataset(plan.dataset, data_dir, seed=plan.seed)
            except FileNotFoundError as exc:
                raise DaemonError(str(exc)) from exc
        train = self._dataset_cache[cache_key].train
        return station_clients(train, plan, index, count, label_mask)

    def _upload(self, task: TrainTask, body: bytes, update_hash: str, samples: int, accuracy_bps: int) -> bool:
        assert self._chain is not None
        rid, g = task.round_id, task.global_round
        message = update_message(self._chain.chain_id, self._chain.contract, rid, g, update_hash, samples, accuracy_bps)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-HCFL-Station": self.address,
            "X-HCFL-Samples": str(samples),
            "X-HCFL-Accuracy-Bps": str(accuracy_bps),
            "X-HCFL-Signature": sign(self.account, message),
        }
        if self.config.mode == "edge" and self.last_cell_round is not None and self.last_cell_round.global_round == g:
            headers["X-HCFL-Edge-Root"] = self.last_cell_round.root
            headers["X-HCFL-Edge-Root-Signature"] = self.last_cell_round.root_signature
        path = f"/api/rounds/{rid}/updates/{g}"

        def put() -> httpx.Response:
            r = self._http.put(path, content=body, headers=headers)
            if r.status_code >= 500:
                raise _Transient(f"PUT {path}: HTTP {r.status_code}")
            return r

        r = self._retry(f"PUT {path}", put)
        if r.status_code == 200:
            answer = r.json()
            if str(answer.get("update_hash", update_hash)).lower() != update_hash:
                log.warning("round %d g=%d: coordinator acknowledged hash %s, not %s", rid, g,
                            answer.get("update_hash"), update_hash)
            return True
        log.warning("round %d g=%d: upload refused (HTTP %d: %s); not reporting this round", rid, g, r.status_code,
                    _detail(r))
        return False

    def _report(self, rid: int, g: int, update_hash: str, samples: int, accuracy_bps: int,
                clients_root: str = "0x" + "00" * 32) -> str:
        from hcfl.chain.client import ContractRevert

        attempts = 0

        def send() -> str:
            nonlocal attempts
            attempts += 1
            try:
                known = self._report_tx.get(rid)
                send_with = known.send_with() if known is not None else {}
                receipt = self._participant.report_training(rid, g, bytes.fromhex(update_hash[2:]), samples, accuracy_bps,
                                                            bytes.fromhex(clients_root[2:]), **send_with)
            except ContractRevert as exc:
                if exc.error == "AlreadyReported":
                    log.info("round %d g=%d: already reported on chain", rid, g)
                    return "already-reported"
                log.error("round %d g=%d: reportTraining reverted: %s", rid, g, exc)
                return f"reverted:{exc.error}"
            except Exception as exc:
                if _is_network_error(exc):
                    raise
                # e.g. 'nonce too low' when the key was used elsewhere, or out of gas with the remembered limit: re-read
                # the nonce, the gas price and the estimate, and try again
                self._client.nonces.forget(self.address)
                self._report_tx.pop(rid, None)
                if attempts >= 3:
                    log.error("round %d g=%d: reportTraining failed %d times (%s: %s); giving up on it", rid, g,
                              attempts, type(exc).__name__, _short(exc))
                    return f"failed:{type(exc).__name__}"
                raise _Transient(f"reportTraining: {type(exc).__name__}: {_short(exc)}") from exc
            self._report_tx[rid] = _ReportTx.after(receipt, known)
            return "0x" + bytes(receipt["transactionHash"]).hex()

        return self._retry(f"reportTraining({rid}, {g})", send)


@dataclass
class _ReportTx:
    """How a round's later reports are sent: a report asks the node for its gas estimate (on the embedded chain the
    transaction runs again in the coordinator's process), gas price and nonce, then waits for its receipt; reports 2..t
    of the round reuse what the first one learned. 1.5 x its gas use covers the refunds (at most 1/5 of it) and the
    63/64 rule; the gas price is reused for at most PRICE_AGE_S (within one block on a public chain); the nonce
    continues the client's local count. A failed send forgets all of it (the retry asks the node again)."""

    gas: int
    gas_price: int
    priced_at: float

    PRICE_AGE_S = 2.0

    @classmethod
    def after(cls, receipt: Any, before: "_ReportTx | None" = None) -> "_ReportTx":
        """What the report of `receipt` taught (`before`: what it was sent with, if anything)."""
        gas = max(int(receipt["gasUsed"]) * 3 // 2 + 20_000, before.gas if before is not None else 0)
        if before is not None and before.price_fresh():
            return cls(gas, before.gas_price, before.priced_at)
        return cls(gas, int(receipt["effectiveGasPrice"]), time.monotonic())

    def price_fresh(self) -> bool:
        return time.monotonic() - self.priced_at <= self.PRICE_AGE_S

    def send_with(self) -> dict[str, Any]:
        if self.price_fresh():
            return {"gas": self.gas, "gas_price": self.gas_price, "fresh_nonce": False}
        return {"gas": self.gas, "fresh_nonce": False}


# ============================================================================ data
def station_clients(train: Split, plan: TrainingPlan, index: int, count: int, label_mask: int) -> list[Split]:
    """Station `index` of `count`: its clients' datasets from the plan's two-level partition of the training
    split, restricted to `label_mask` (and to `samples_per_station` samples, spread over the clients)."""
    sim = plan.simulation
    method = {"label-skew": "label_skew"}.get(sim.partition, sim.partition)
    config = PartitionConfig(method=method, stations=count, clients_per_station=sim.clients_per_station,
                             alpha=sim.alpha, degree=sim.heterogeneity, seed=plan.seed)
    parts = partition(train.y.numpy(), config)
    clients = [train.subset(torch.as_tensor(idx, dtype=torch.int64)).filter_labels(label_mask) for idx in parts[index]]
    cap = sim.samples_per_station
    total = sum(len(c) for c in clients)
    if cap is not None and total > cap:
        keep = [len(c) * cap // total for c in clients]
        for i in np.argsort([-len(c) for c in clients], kind="stable")[: cap - sum(keep)]:
            keep[int(i)] += 1
        clients = [c.subset(range(k)) for c, k in zip(clients, keep)]
    return clients


@lru_cache(maxsize=16)
def _model_bytes(spec: ModelSpec) -> int:
    """The tensor bytes of a model of `spec` (asked for every download: built once per spec)."""
    return sum(v.numel() * v.element_size() for v in build_model(spec).state_dict().values())


# ============================================================================ helpers
def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
        if isinstance(body, dict) and "detail" in body:
            return str(body["detail"])
    except Exception:  # noqa: BLE001 - not JSON
        pass
    return r.text[:200]


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _is_network_error(exc: BaseException) -> bool:
    """web3 / requests / aiohttp connection failures (anything in the cause chain)."""
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError,
                             httpx.TransportError)):
            return True
        if isinstance(seen, requests.HTTPError) and seen.response is not None and seen.response.status_code >= 500:
            return True
        name = type(seen).__name__
        if name in ("ProviderConnectionError", "TimeExhausted", "Web3RPCError") and "connect" in str(seen).lower():
            return True
        if name in ("ProviderConnectionError", "TimeExhausted"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

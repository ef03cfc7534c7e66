"""A minimal but real coordinator for the aggregator-daemon tests: the training part of docs/protocol.md
(task, global model, signed update uploads, `/api/chain`, the `/rpc` pass-through) over HTTP on loopback,
plus the on-chain set-up of a round in Training. It verifies upload signatures against the chain and decodes
uploads with `fl_worker.wire.decode_state` like the coordinator does; it can be stopped and restarted on the
same port (its state lives in the object, as the coordinator's lives in its database)."""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from eth_utils import to_checksum_address

from fl_worker.daemon import TrainingPlan
from fl_worker.hfl import StationResult, aggregate_stations
from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.plan import omega
from fl_worker.wire import WireFormatError, decode_state, encode_state, state_hash
from hcfl.chain.client import ContractRevert
from hcfl.chain.provider import Chain
from hcfl.chain.v2.client import CoreClient as HCFLClient
from hcfl.chain.v2.client import ParticipantV2 as Participant
from hcfl.protocol import CampaignConfig, Phase, ProposalSpec, Role, new_salt, recover_signer, update_message

log = logging.getLogger(__name__)

RPC_ALLOWED = ("eth_", "net_version", "web3_clientVersion")
D = 60  # pre-training phase durations (s, fast-forwarded)


# ============================================================================ chain set-up
def setup_training_round(chain: Chain, client: HCFLClient, owners: list[Participant], stations: list[Participant],
                         spec: ModelSpec, plan: TrainingPlan, t: int, label_mask: int) -> int:
    """Create a round, join (owners then stations), propose ω of `spec` and `plan` with `t` global rounds, commit, reveal and
    settle: returns the round id, left in Training with every station revealed."""
    o1 = owners[0]
    for p in owners + stations:  # the stations' daemons send with the same keys from other processes
        client.nonces.forget(p.address)
    cfg = CampaignConfig(join_duration=D, propose_duration=D, commit_duration=D, reveal_duration=D,
                         train_duration=10**6, vote_commit_duration=D, vote_reveal_duration=D)
    rid = o1.open_round(o1.create_campaign(cfg))
    for p in owners:
        p.join(rid, Role.OWNER, deposit=10**17)
    for p in stations:
        p.join(rid, Role.STATION, deposit=10**17)

    def past(field: str) -> None:
        """Past a deadline (contract v2 derives the phase from the clock)."""
        chain.wait_until(getattr(client.round(rid), field))

    past("join_end")
    w = omega(spec, plan)
    o1.propose(rid, ProposalSpec(spec_hash=bytes.fromhex(w[2:]), uri=f"/api/specs/{w}",
                                 promised_acc_bps=5000, global_rounds=t, label_mask=label_mask, price=10**15),
               bond=10**16)
    past("propose_end")
    salts = {p.address: new_salt() for p in owners + stations}
    claims = {**{p.address: [10**16] for p in owners}, **{p.address: [10**14] for p in stations}}
    for p in owners + stations:
        p.commit_claims(rid, claims[p.address], salts[p.address])
    past("commit_end")
    for p in owners + stations:
        p.reveal(rid, claims[p.address], salts[p.address])
    past("reveal_end")
    try:  # unless a coordinator's deadline driver settled first
        o1.settle(rid)
    except ContractRevert:
        pass
    deadline = time.monotonic() + 30
    while client.state(rid) != Phase.TRAINING:
        if time.monotonic() > deadline:
            raise TimeoutError(f"round {rid} stuck in {client.state(rid)!r}")
        time.sleep(0.1)
    assert client.state(rid) == Phase.TRAINING
    return rid


# ============================================================================ the driver
@dataclass
class Upload:
    station: str
    samples: int
    accuracy_bps: int
    update_hash: str
    state: dict[str, Any]


@dataclass
class DriverState:
    g: int = 0
    opened_at: float = field(default_factory=time.monotonic)
    globals_: dict[int, bytes] = field(default_factory=dict)
    uploads: dict[int, dict[str, Upload]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Driver:
    def __init__(self, chain: Chain, client: HCFLClient, rid: int, spec: ModelSpec, plan: TrainingPlan, t: int,
                 label_mask: int, *, round_timeout: float = 60.0, tamper_global: bool = False,
                 hold: dict[str, int] | None = None) -> None:
        self.chain, self.client, self.rid = chain, client, rid
        self.spec, self.plan, self.t, self.label_mask = spec, plan, t, label_mask
        self.round_timeout = round_timeout
        self.tamper_global = tamper_global
        self.hold = dict(hold or {})  # station -> first global round it is told to wait for (test hook)
        from hcfl.ledger.fetch import ledger_of

        self.stations = ledger_of(client).rounds[rid].revealed_stations
        self.state = DriverState()
        self.state.globals_[0] = encode_state(state_of(build_model(spec)))
        self.lock = threading.RLock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> "Driver":
        handler = type("Handler", (_Handler,), {"driver": self})
        server = _Server(("127.0.0.1", port or self.port), handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._closed.clear()
        serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        tick = threading.Thread(target=self._ticker, daemon=True)
        self._threads = [serve, tick]
        for th in self._threads:
            th.start()
        with self.lock:
            self.state.opened_at = time.monotonic()  # a restarted coordinator restarts its round clock
        return self

    def stop(self) -> None:
        self._closed.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for th in self._threads:
            th.join(timeout=5)

    def _ticker(self) -> None:
        while not self._closed.wait(0.1):
            with self.lock:
                s = self.state
                if s.g < self.t and s.uploads.get(s.g) and time.monotonic() - s.opened_at > self.round_timeout:
                    log.info("driver: closing g=%d by timeout with %d upload(s)", s.g, len(s.uploads[s.g]))
                    self._close_round()

    def _close_round(self) -> None:
        s = self.state
        ups = list(s.uploads[s.g].values())
        results = [StationResult(self.stations.index(u.station), s.g, u.state, u.samples, u.accuracy_bps / 1e4)
                   for u in ups]
        body = encode_state(aggregate_stations(results))
        s.history.append({"global_round": s.g, "global_model_hash": state_hash(s.globals_[s.g]),
                          "stations": [{"address": u.station, "samples": u.samples, "accuracy_bps": u.accuracy_bps,
                                        "update_hash": u.update_hash} for u in ups]})
        s.g += 1
        s.globals_[s.g] = body
        s.opened_at = time.monotonic()

    @property
    def done(self) -> bool:
        with self.lock:
            return self.state.g >= self.t

    # ------------------------------------------------------------------ endpoints
    def task(self, station: str) -> tuple[int, dict[str, Any]]:
        try:
            station = to_checksum_address(station)
        except ValueError:
            return 400, {"detail": "bad station address"}
        if station not in self.stations:
            return 403, {"detail": f"{station} is not a selected station of round {self.rid}"}
        with self.lock:
            s = self.state
            if s.g >= self.t:
                return 200, {"status": "done"}
            if station in s.uploads.get(s.g, {}) or s.g >= self.hold.get(station, self.t):
                return 200, {"status": "wait"}
            return 200, {"status": "train", "round_id": self.rid, "global_round": s.g,
                         "global_model_hash": state_hash(s.globals_[s.g]), "spec": self.spec.model_dump(mode="json"),
                         "training": self.plan.model_dump(mode="json"), "label_mask": self.label_mask,
                         "station_index": self.stations.index(station), "num_stations": len(self.stations)}

    def training(self) -> dict[str, Any]:
        with self.lock:
            s = self.state
            return {"global_round": s.g, "t": self.t, "status": "done" if s.g >= self.t else "training",
                    "history": list(s.history), "result": None}

    def global_model(self, g: int) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            body = self.state.globals_.get(g)
        if body is None:
            return 404, b'{"detail": "no such global model"}', {"Content-Type": "application/json"}
        headers = {"Content-Type": "application/octet-stream", "X-HCFL-Model-Hash": state_hash(body)}
        if self.tamper_global:  # a man in the middle: same announced hash, one byte changed
            body = body[:-1] + bytes([body[-1] ^ 0x01])
        return 200, body, headers

    def upload(self, g: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def refuse(code: int, detail: str) -> tuple[int, dict[str, Any]]:
            with self.lock:
                self.state.rejected.append(detail)
            return code, {"detail": detail}

        try:
            station = to_checksum_address(headers["x-hcfl-station"])
            samples = int(headers["x-hcfl-samples"])
            acc = int(headers["x-hcfl-accuracy-bps"])
            signature = headers["x-hcfl-signature"]
        except (KeyError, ValueError) as exc:
            return refuse(400, f"bad upload headers: {exc}")
        if not 0 <= acc <= 10_000 or samples < 0:
            return refuse(400, "accuracy or samples out of range")
        update_hash = state_hash(body)
        message = update_message(self.client.chain_id, self.client.address, self.rid, g, update_hash, samples, acc)
        try:
            signer = recover_signer(message, signature)
        except Exception as exc:  # noqa: BLE001
            return refuse(401, f"bad signature: {exc}")
        if signer != station:
            return refuse(401, f"signature recovers to {signer}, not {station}")
        view = self.client.participant(self.rid, station)
        if view.role != Role.STATION or not view.revealed:
            return refuse(403, "not a revealed station of the round")
        if self.client.state(self.rid) != Phase.TRAINING:
            return refuse(409, "round is not in Training")
        try:
            state = decode_state(body, self.spec, max_bytes=4 * 2**20)
        except WireFormatError as exc:
            return refuse(422, f"bad model: {exc}")
        with self.lock:
            s = self.state
            if g != s.g:
                return refuse(409, f"global round {g} is not the current one ({s.g})")
            if station in s.uploads.setdefault(g, {}):
                return refuse(409, "already uploaded for this global round")
            s.uploads[g][station] = Upload(station, samples, acc, update_hash, state)
            if len(s.uploads[g]) == len(self.stations):
                self._close_round()
        return 200, {"accepted": True, "update_hash": update_hash}

    def rpc(self, body: bytes) -> tuple[int, bytes]:
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, b'{"detail": "not JSON"}'
        calls = payload if isinstance(payload, list) else [payload]
        for call in calls:
            method = str(call.get("method", "")) if isinstance(call, dict) else ""
            if not method.startswith(RPC_ALLOWED) or method.startswith("eth_sign"):
                return 403, json.dumps({"detail": f"method {method!r} not allowed"}).encode()
        r = httpx.post(self.chain.rpc_url, content=body, headers={"Content-Type": "application/json"}, timeout=60)
        return r.status_code, r.content


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that hung up: not news
        log.debug("driver: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    driver: Driver
    # HTTP/1.0: one request per connection, so stop() really cuts every client off

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet
        log.debug("driver: " + fmt, *args)

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        headers = headers or {"Content-Type": "application/json"}
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode())

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:  # noqa: N802
        d = self.driver
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        with d.lock:
            d.state.requests.append(f"GET {url.path}")
        if url.path == "/api/chain":
            return self._json(200, {"chain_id": d.client.chain_id, "contract": d.client.address, "rpc": "/rpc",
                                    "abi": []})
        if len(parts) >= 4 and parts[:2] == ["api", "rounds"]:
            if not parts[2].isdigit() or int(parts[2]) != d.rid:
                return self._json(404, {"detail": "unknown round"})
            if parts[3] == "training" and len(parts) == 4:
                return self._json(200, d.training())
            if parts[3] == "task" and len(parts) == 4:
                station = parse_qs(url.query).get("station", [""])[0]
                return self._json(*d.task(station))
            if parts[3:5] == ["models", "global"] and len(parts) == 6 and parts[5].isdigit():
                code, body, headers = d.global_model(int(parts[5]))
                return self._send(code, body, headers)
        return self._json(404, {"detail": "not found"})

    def do_PUT(self) -> None:  # noqa: N802
        d = self.driver
        parts = urlparse(self.path).path.strip("/").split("/")
        body = self._body()
        with d.lock:
            d.state.requests.append(f"PUT {self.path}")
        if len(parts) == 5 and parts[:2] == ["api", "rounds"] and parts[3] == "updates" and parts[4].isdigit():
            if not parts[2].isdigit() or int(parts[2]) != d.rid:
                return self._json(404, {"detail": "unknown round"})
            headers = {k.lower(): v for k, v in self.headers.items()}
            return self._json(*d.upload(int(parts[4]), body, headers))
        return self._json(404, {"detail": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path == "/rpc":
            code, body = self.driver.rpc(self._body())
            return self._send(code, body)
        self._body()
        return self._json(404, {"detail": "not found"})

"""A base station's cell: the Flower server its edge clients connect to, and the small HTTP endpoint that
tells them what the round is and serves their inclusion proofs.

Transport: Flower's compat gRPC stack (`start_grpc_server` + `SimpleClientManager`, the server half of
`flwr.server.start_server`) kept open for the daemon's lifetime; every edge round is one Flower
`fit_clients` call with a timeout, so a client that dies or stalls becomes a failure and never blocks the
round. Why compat and not the Message API: docs/protocol.md ("Edge tier").

One global round (`EdgeCell.train_global_round`): for each of kappa edge rounds, wait (up to the timeout)
for `min_clients` connected clients, send the station model, check every reply (signature by the client's
key over edge_update_message, safetensors that decode against the spec with finite values, a positive
sample count within the cap, one reply per address) and average the accepted ones by samples with
fl_worker.aggregate.weighted_average. Fewer than `min_clients` accepted replies fail the global round.
The leaves of the clients whose updates were included build the round's Merkle tree (protocol.py).
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from torch import Tensor

from fl_worker.aggregate import weighted_average
from fl_worker.edge.protocol import EdgeLeaf, build_tree, make_proof
from fl_worker.models import ModelSpec
from hcfl.merkle import MerkleTree
from hcfl.net import free_port
from hcfl.protocol import edge_root_message, edge_update_message, recover_signer, sign

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
log = logging.getLogger("hcfl.cell")

PARAMS_TYPE = "safetensors"


class NoEdgeClients(Exception):
    """Not enough edge clients connected / answered within the timeout."""


@dataclass(frozen=True)
class CellConfig:
    flower: str = "127.0.0.1:0"  # host:port of the Flower server (port 0: any free one)
    http: str = "127.0.0.1:0"  # host:port of the edge HTTP endpoint
    min_clients: int = 1
    round_timeout: float = 60.0
    max_client_samples: int = 10**7


@dataclass
class Rejection:
    address: str
    edge_round: int
    reason: str


@dataclass
class CellRound:
    """One global round of the cell: the model to upload and the inclusion evidence."""

    round_id: int
    global_round: int
    state: dict[str, Tensor]
    samples: int
    accuracy: float
    leaves: list[EdgeLeaf]
    root: str
    root_signature: str
    rejected: list[Rejection] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # known clients that were not included
    seconds_flower: float = 0.0
    seconds_critical_compute: float = 0.0  # sum over edge rounds of the slowest accepted client's training time
    bytes_down: int = 0
    bytes_up: int = 0

    @cached_property
    def tree(self) -> MerkleTree:
        """The Merkle tree over `leaves` (build_tree), built once for all the proofs the clients ask for."""
        return build_tree(self.leaves)

    def manifest(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "global_round": self.global_round, "root": self.root,
                "samples": self.samples, "root_signature": self.root_signature,
                "leaves": [leaf.model_dump() for leaf in self.leaves], "absent": self.absent,
                "rejected": [vars(r) for r in self.rejected]}


class EdgeCell:
    def __init__(self, account: LocalAccount, config: CellConfig) -> None:
        self.account = account
        self.config = config
        self._cond = threading.Condition()
        self._info: dict[str, Any] = {}
        self._rounds: dict[tuple[int, int], CellRound] = {}
        self._current: tuple[int, int] | None = None
        self.known: set[str] = set()
        self.served: set[tuple[int, int, str]] = set()  # (round, g, address) proofs handed out
        self._grpc: Any = None
        self._http: ThreadingHTTPServer | None = None
        self.flower_address = ""
        self.http_address = ""
        self.paymaster: Any = None  # fl_worker.edge_pay.EdgePaymaster when the station pays its edge clients
        # set while the cell waits for its edge clients' training (and while the station has no task); cleared from
        # the last reply of an edge round to the next dispatch: background work (accuracy measurements, the station's
        # reports) waits for it; the daemon shares its own
        self.idle = threading.Event()
        self.idle.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        from flwr.server.client_manager import SimpleClientManager
        from flwr.server.superlink.fleet.grpc_bidi.grpc_server import start_grpc_server

        # a client that dies mid-stream makes grpc log the bridge's GrpcBridgeClosed with a traceback; the cell
        # logs the failed client itself (fit failures), so that library trace is not repeated here
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        self.clients = SimpleClientManager()
        host, port = _split(self.config.flower)
        if port == 0:
            port = free_port(host)
        self._grpc = start_grpc_server(client_manager=self.clients, server_address=f"{host}:{port}")
        self._fits = ThreadPoolExecutor(max_workers=32, thread_name_prefix="edge-fit")
        self.flower_address = f"{host}:{port}"
        hhost, hport = _split(self.config.http)
        self._http = ThreadingHTTPServer((hhost, hport), _handler(self))
        self._http.daemon_threads = True
        self.http_address = f"{hhost}:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, name="edge-http", daemon=True).start()
        log.info("cell of %s: Flower server %s, edge endpoint http://%s (min %d client(s), timeout %.0fs)",
                 self.account.address, self.flower_address, self.http_address, self.config.min_clients,
                 self.config.round_timeout)

    def stop(self) -> None:
        if self._grpc is not None:
            self._disconnect_clients()
            self._grpc.stop(grace=1)
            self._grpc = None
            self._fits.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def _disconnect_clients(self) -> None:
        """Tell every connected client to disconnect (Flower's ReconnectIns), so the gRPC streams end cleanly."""
        from flwr.common import ReconnectIns
        from flwr.server.server import reconnect_clients

        proxies = list(self.clients.all().values())
        if proxies:
            try:
                reconnect_clients([(p, ReconnectIns(seconds=None)) for p in proxies], max_workers=None, timeout=3)
            except Exception as exc:  # noqa: BLE001 - shutting down anyway
                log.debug("disconnecting edge clients: %s", exc)

    # ------------------------------------------------------------------ what the edge clients read
    def announce(self, chain_id: int, contract: str, round_id: int, spec: ModelSpec, label_mask: int) -> None:
        with self._cond:
            self._info = {"station": self.account.address, "flower": self.flower_address, "chain_id": chain_id,
                          "contract": to_checksum_address(contract), "round_id": round_id,
                          "spec": spec.model_dump(mode="json"), "label_mask": hex(label_mask)}
            self._cond.notify_all()

    def info(self, wait: float) -> dict[str, Any]:
        deadline = time.monotonic() + max(0.0, min(wait, 60.0))
        with self._cond:
            while not self._info and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return dict(self._info) if self._info else {"station": self.account.address, "flower": self.flower_address,
                                                         "spec": None}

    def manifest(self, round_id: int, g: int) -> CellRound | None:
        with self._cond:
            return self._rounds.get((round_id, g))

    def linger(self, timeout: float) -> None:
        """Before the station exits: wait (up to `timeout`) until every included client of the last global
        round fetched its proof."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self._rounds:
                return
            rid, g = max(self._rounds)
            want = {(rid, g, leaf.address) for leaf in self._rounds[(rid, g)].leaves}
            while not want <= self.served and time.monotonic() < deadline:
                self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def is_open(self, round_id: int, g: int) -> bool:
        with self._cond:
            return self._current == (round_id, g)

    # ------------------------------------------------------------------ one global round
    def train_global_round(self, *, chain_id: int, contract: str, round_id: int, g: int, spec: ModelSpec,
                           label_mask: int, global_state: Mapping[str, Tensor], edge_rounds: int, local_epochs: int,
                           batch_size: int, lr: float, seed: int) -> CellRound:
        from flwr.common import Code, FitIns, Parameters
        from flwr.server.server import fit_client

        from fl_worker.wire import encode_state

        self.idle.clear()
        self.announce(chain_id, contract, round_id, spec, label_mask)
        with self._cond:
            self._current = (round_id, g)
        t_flower = 0.0
        critical = 0.0
        down = up = 0
        state: dict[str, Tensor] = dict(global_state)
        included: dict[str, EdgeLeaf] = {}
        accuracy: dict[str, tuple[float, int]] = {}
        rejected: list[Rejection] = []
        try:
            for e in range(edge_rounds):
                if not self.clients.wait_for(self.config.min_clients, timeout=int(max(1, self.config.round_timeout))):
                    raise NoEdgeClients(f"round {round_id} g={g}: only {self.clients.num_available()} edge client(s) "
                                        f"connected to {self.flower_address} within {self.config.round_timeout:.0f}s, "
                                        f"{self.config.min_clients} needed")
                body = encode_state(state)
                config = {"round_id": round_id, "global_round": g, "edge_round": e, "spec": spec.model_dump_json(),
                          "label_mask": hex(label_mask), "local_epochs": local_epochs, "batch_size": batch_size,
                          "lr": float(lr), "seed": seed, "chain_id": chain_id, "contract": to_checksum_address(contract),
                          "station": self.account.address}
                proxies = list(self.clients.all().values())
                ins = FitIns(Parameters([body], PARAMS_TYPE), config)
                t0 = time.perf_counter()
                # Flower's fit_clients, but every reply is checked as it arrives, while the slower clients still train
                futures = [self._fits.submit(fit_client, p, ins, self.config.round_timeout, g * 1000 + e)
                           for p in proxies]
                self.idle.set()
                down += len(body) * len(proxies)
                accepted: list[tuple[str, dict[str, Tensor], int]] = []
                failures: list[Any] = []
                seen: set[str] = set()
                slowest = 0.0
                for future in as_completed(futures):
                    if all(f.done() for f in futures):
                        self.idle.clear()  # the last reply is in: the next dispatch (or the upload) is urgent
                    if future.exception() is not None:
                        failures.append(future.exception())
                        continue
                    _proxy, res = future.result()
                    if res.status.code != Code.OK:
                        failures.append(res)
                        continue
                    up += sum(len(t) for t in res.parameters.tensors)
                    verdict = self._check(res, spec, chain_id, contract, round_id, g, e, seen)
                    if isinstance(verdict, Rejection):
                        rejected.append(verdict)
                        log.warning("round %d g=%d edge round %d: rejected %s: %s", round_id, g, e, verdict.address,
                                    verdict.reason)
                        continue
                    address, client_state, update_hash, samples = verdict
                    refused = self._observe(round_id, address, client_state, samples, res.metrics)
                    if refused:
                        rejected.append(Rejection(address, e, refused))
                        log.warning("round %d g=%d edge round %d: rejected %s: %s", round_id, g, e, address, refused)
                        continue
                    seen.add(address)
                    self.known.add(address)
                    accepted.append((address, client_state, samples))
                    included[address] = EdgeLeaf(address=address, update_hash=update_hash, samples=samples)
                    spent = res.metrics.get("train_seconds", 0.0)
                    slowest = max(slowest, float(spent) if isinstance(spent, (int, float)) else 0.0)
                    acc = res.metrics.get("accuracy", 0.0)
                    accuracy[address] = (min(1.0, max(0.0, float(acc))) if isinstance(acc, (int, float)) else 0.0, samples)
                if failures:
                    log.warning("round %d g=%d edge round %d: %d edge client(s) failed or timed out", round_id, g, e,
                                len(failures))
                if len(accepted) < self.config.min_clients:
                    raise NoEdgeClients(f"round {round_id} g={g} edge round {e}: {len(accepted)} acceptable update(s), "
                                        f"{self.config.min_clients} needed ({len(failures)} failed, {len(rejected)} rejected)")
                t_flower += time.perf_counter() - t0
                # in address order, not arrival order: the same replies always average to the same bits
                state = weighted_average([(st, n) for _a, st, n in sorted(accepted, key=lambda a: a[0].lower())])
                critical += slowest
                log.info("round %d g=%d edge round %d/%d: %d update(s) averaged over Flower in %.3fs", round_id, g,
                         e + 1, edge_rounds, len(accepted), time.perf_counter() - t0)
        finally:
            with self._cond:
                self._current = None
        leaves = sorted(included.values(), key=lambda leaf: leaf.address.lower())
        root = "0x" + build_tree(leaves).root.hex()
        samples = sum(leaf.samples for leaf in leaves)

        signature = sign(self.account, edge_root_message(chain_id, contract, self.account.address, round_id, g,
                                                                root, samples))
        total = sum(n for _, n in accuracy.values()) or 1
        result = CellRound(round_id, g, state, samples, sum(a * n for a, n in accuracy.values()) / total, leaves, root,
                           signature, rejected, sorted(self.known - set(included)), t_flower, critical, down, up)
        with self._cond:
            self._rounds[(round_id, g)] = result
        return result

    def _observe(self, rid: int, address: str, state: dict[str, Tensor], samples: int, metrics: Any) -> str | None:
        """The paymaster's measurements of an accepted update (None: keep it; a string: reject it)."""
        if self.paymaster is None:
            return None
        return self.paymaster.observe(rid, address, state, samples, dict(metrics))

    def rounds_of(self, round_id: int) -> list[CellRound]:
        with self._cond:
            return [r for (rid, _g), r in sorted(self._rounds.items()) if rid == round_id]

    def _check(self, res: Any, spec: ModelSpec, chain_id: int, contract: str, rid: int, g: int, e: int,
               seen: set[str]) -> tuple[str, dict[str, Tensor], str, int] | Rejection:
        from flwr.common import Code

        from fl_worker.wire import WireFormatError, decode_state, state_hash

        address = str(res.metrics.get("address", ""))
        if not is_address(address):
            return Rejection(address[:42], e, "no valid address in the reply")
        address = to_checksum_address(address)
        if res.status.code != Code.OK:
            return Rejection(address, e, f"client error: {res.status.message[:200]}")
        if address in seen:
            return Rejection(address, e, "second reply from the same address in this edge round")
        samples = int(res.num_examples)
        if not 0 < samples <= self.config.max_client_samples:
            return Rejection(address, e, f"sample count {samples} outside 1..{self.config.max_client_samples}")
        if len(res.parameters.tensors) != 1 or res.parameters.tensor_type != PARAMS_TYPE:
            return Rejection(address, e, "reply is not one safetensors model")
        body = bytes(res.parameters.tensors[0])
        update_hash = state_hash(body)
        message = edge_update_message(chain_id, contract, self.account.address, rid, g, e, update_hash, samples)
        try:
            signer = recover_signer(message, str(res.metrics.get("signature", "")))
        except Exception:  # noqa: BLE001 - malformed signature
            signer = ""
        if signer != address:
            return Rejection(address, e, "signature does not recover to the client's address for this update")
        try:
            client_state = decode_state(body, spec)
        except WireFormatError as exc:
            return Rejection(address, e, f"model rejected: {exc}"[:300])
        return address, client_state, update_hash, samples


# ============================================================================ HTTP
_PROOF = re.compile(r"^/edge/proofs/(\d{1,12})/(\d{1,9})/(0x[0-9a-fA-F]{40})$")
_MANIFEST = re.compile(r"^/edge/manifest/(\d{1,12})/(\d{1,9})$")


def _handler(cell: EdgeCell) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # requests are logged at debug level only
            log.debug("edge http: " + fmt, *args)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            if url.path.startswith("/edge/pay/"):
                answer = cell.paymaster.route(url.path) if cell.paymaster is not None else None
                self._send(*(answer or (404, {"detail": "this station pays no edge rewards"})))
                return
            if url.path == "/edge/info":
                try:
                    wait = float(parse_qs(url.query).get("wait", ["0"])[0])
                except ValueError:
                    wait = 0.0
                self._send(200, cell.info(wait if wait == wait else 0.0))
                return
            m = _MANIFEST.match(url.path)
            if m:
                found = cell.manifest(int(m.group(1)), int(m.group(2)))
                if found is None:
                    self._send(404, {"detail": "no manifest for this round (yet)"})
                else:
                    self._send(200, found.manifest())
                return
            m = _PROOF.match(url.path)
            if m:
                rid, g, address = int(m.group(1)), int(m.group(2)), m.group(3)
                found = cell.manifest(rid, g)
                if found is None:
                    self._send(409, {"detail": "no manifest for this round (yet)"})
                    return
                hit = make_proof(found.tree, found.leaves, address)
                if hit is None:
                    self._send(404, {"detail": f"{to_checksum_address(address)} is not included in g={g}"})
                    return
                leaf, proof = hit
                with cell._cond:
                    cell.served.add((rid, g, leaf.address))
                    cell._cond.notify_all()
                self._send(200, {"station": cell.account.address, "round_id": rid, "global_round": g,
                                 "root": found.root, "samples": found.samples, "root_signature": found.root_signature,
                                 "leaf": leaf.model_dump(), "proof": proof})
                return
            self._send(404, {"detail": "not found"})

    return Handler


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "127.0.0.1").strip("[]"), int(port)



"""`hcfl edge-client`: one edge device. It holds its own data, joins its station's cell as a Flower client
(compat `start_client`, gRPC), trains when the station asks, signs every update with its own Ethereum key
(EIP-191 over hcfl.protocol.edge_update_message) and afterwards verifies, for every global round
it trained in, the station's Merkle proof that its update was included.

Start-up: GET {station}/edge/info (long-polled until the station knows its round's model), check the data
against the model (fl_worker.edge.data), then connect to the station's Flower server.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from fl_worker.edge.data import EdgeDataError, RawData, fit_to_spec
from fl_worker.edge.protocol import InclusionProof
from fl_worker.models import ModelSpec
from hcfl.protocol import edge_root_message, edge_update_message, recover_signer, sign

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
log = logging.getLogger("hcfl.edge_client")

PARAMS_TYPE = "safetensors"


class EdgeClientError(Exception):
    """A condition the device's owner must fix (message printed without a traceback)."""


@dataclass
class StationInfo:
    station: str
    flower: str
    chain_id: int
    contract: str
    round_id: int
    spec: ModelSpec
    label_mask: int


@dataclass
class Inclusion:
    """What the client learned about one global round it trained in."""

    round_id: int
    global_round: int
    included: bool | None = None  # None: not known yet
    verified: bool = False
    samples: int = 0
    root: str = ""
    on_chain: bool = False  # verified against the station's clientsRoot on chain (`--rpc`)
    detail: str = ""


@dataclass
class EdgeClientState:
    address: str
    station: str = ""
    trained: dict[tuple[int, int], Inclusion] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)  # round id -> fl_worker.edge.paying record
    paying: bool = False  # a payout thread runs (--rpc): training waits briefly until it showed the terms

    def wait_for_terms(self, round_id: int, timeout: float = 15.0) -> None:
        """Until the payout thread showed this round's rule and expected payout (or failed), at most `timeout`."""
        end = time.monotonic() + timeout
        while self.paying and time.monotonic() < end:
            rec = self.payouts.get(str(round_id), {})
            if "expected_wei" in rec or "error" in rec:
                return
            time.sleep(0.1)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            rows = [vars(i).copy() for i in self.trained.values()]
        return {"address": self.address, "station": self.station, "rounds": rows, "payouts": dict(self.payouts)}


# ============================================================================ the Flower client
def make_flower_client(account: LocalAccount, raw: RawData, state: EdgeClientState, train_delay: float = 0.0):
    """A flwr Client that trains on `raw` for whatever station holds the other end."""
    import torch
    from flwr.client import Client
    from flwr.common import Code, FitIns, FitRes, Parameters, Status

    from fl_worker.local import TrainConfig, derive_seed, train_local_stats
    from fl_worker.models import build_model
    from fl_worker.wire import WireFormatError, decode_state, encode_state, state_hash

    cache: dict[tuple[ModelSpec, int], Any] = {}
    models: dict[ModelSpec, Any] = {}

    class EdgeFlowerClient(Client):
        def fit(self, ins: FitIns) -> FitRes:
            t_fit = time.perf_counter()
            cfg = ins.config
            try:
                spec = ModelSpec.model_validate_json(str(cfg["spec"]))
                mask = int(str(cfg["label_mask"]), 0)
                rid, g, e = int(cfg["round_id"]), int(cfg["global_round"]), int(cfg["edge_round"])
                if (spec, mask) not in cache:
                    cache.clear()
                    cache[(spec, mask)] = fit_to_spec(raw, spec).filter_labels(mask)
                data = cache[(spec, mask)]
                if len(data) == 0:
                    raise EdgeDataError(f"no sample of this device has one of the round's labels {mask:#x}")
                if len(ins.parameters.tensors) != 1 or ins.parameters.tensor_type != PARAMS_TYPE:
                    raise WireFormatError("the station sent no safetensors model")
                start = decode_state(bytes(ins.parameters.tensors[0]), spec)
            except (EdgeDataError, WireFormatError, KeyError, ValueError) as exc:
                log.error("cannot train: %s", exc)
                return FitRes(Status(Code.FIT_NOT_IMPLEMENTED, str(exc)[:300]), Parameters([], ""), 0, {})
            state.wait_for_terms(rid)  # the announced rule and the expected payout are shown before training
            torch.set_num_threads(1)
            if models.get(spec) is None:  # one module per spec, every parameter and buffer loaded from the station
                models.clear()
                models[spec] = build_model(spec)
            model = models[spec]
            model.load_state_dict(start)
            config = TrainConfig(local_epochs=int(cfg["local_epochs"]), batch_size=int(cfg["batch_size"]), lr=float(cfg["lr"]))
            seed = derive_seed(int(cfg["seed"]), rid, g, e, int(account.address, 16) & 0xFFFFFFFF)
            t_start = time.perf_counter()
            loss, accuracy = train_local_stats(model, data, config, seed)  # accuracy: over its last local epoch
            t_end = time.perf_counter()
            t_train = t_end - t_start
            if train_delay:
                time.sleep(train_delay)
            body = encode_state(model.state_dict())  # encode_state copies the tensors itself
            update_hash = state_hash(body)

            message = edge_update_message(int(cfg["chain_id"]), str(cfg["contract"]), str(cfg["station"]), rid, g, e,
                                          update_hash, len(data))
            newest = newest_sample_time(raw)
            with state.lock:
                state.station = str(cfg["station"])
                state.trained.setdefault((rid, g), Inclusion(rid, g))
            signature = sign(account, message)
            log.info("round %d g=%d edge round %d: trained %d samples in %.3fs (+%.3fs before, +%.3fs after), loss %.4f, "
                     "accuracy %.4f, update %s", rid, g, e, len(data), t_train, t_start - t_fit,
                     time.perf_counter() - t_end, loss, accuracy, update_hash[:12])
            return FitRes(Status(Code.OK, "ok"), Parameters([body], PARAMS_TYPE), len(data),
                          {"address": account.address, "signature": signature,
                           "accuracy": float(accuracy), "loss": float(loss), "train_seconds": float(t_train),
                           "newest_sample_time": newest})

    return EdgeFlowerClient()


def newest_sample_time(raw: RawData) -> int:
    """Generation time (unix s) of the device's newest sample: its data's `t` array when present (RawData.t),
    else the modification time of its data files."""
    t = getattr(raw, "t", None)
    if t is not None and len(t):
        return int(max(t))
    return int(getattr(raw, "mtime", 0) or 0)


# ============================================================================ station HTTP
def fetch_info(http: httpx.Client, stop: threading.Event, wait: float = 20.0) -> StationInfo:
    """The station's cell description, long-polling until it knows its round's model."""
    delay = 0.5
    while not stop.is_set():
        try:
            r = http.get("/edge/info", params={"wait": wait}, timeout=wait + 10)
        except httpx.TransportError as exc:
            log.warning("station unreachable (%s); retrying in %.1fs", exc, delay)
            stop.wait(delay)
            delay = min(delay * 2, 2.0)  # loopback: the station comes up within seconds
            continue
        if r.status_code != 200:
            raise EdgeClientError(f"GET /edge/info: HTTP {r.status_code}: {r.text[:200]}")
        body = r.json()
        if body.get("spec") is None:
            continue
        return StationInfo(station=body["station"], flower=body["flower"], chain_id=int(body["chain_id"]),
                           contract=body["contract"], round_id=int(body["round_id"]),
                           spec=ModelSpec.model_validate(body["spec"]), label_mask=int(str(body["label_mask"]), 0))
    raise EdgeClientError("stopped")


class ChainRoots:
    """The station's on-chain clientsRoot of (round, g): its TrainingReported event, read from the device's own
    chain node (`--rpc`), at the contract and chain id the station names (pinned with `--contract`).

    The events are scanned incrementally: only blocks added since the last scan, and only when the head moved
    (an eth_getLogs from block 0 on every poll costs the node a scan of the whole chain, and the embedded
    chain's is quadratic in its length). `from_block`: the head before the device joined its cell (a station can
    only report a global round that includes this device's update after the device trained in it)."""

    def __init__(self, rpc: str, info: StationInfo, pinned_contract: str | None = None, from_block: int = 0) -> None:
        from eth_utils import to_checksum_address

        from hcfl.chain.provider import http_web3
        from hcfl.chain.v2.client import CoreClient

        if pinned_contract and to_checksum_address(pinned_contract) != to_checksum_address(info.contract):
            raise EdgeClientError(f"the station names contract {info.contract}, not the pinned {pinned_contract}")
        w3 = http_web3(rpc, 30)
        try:
            chain_id = int(w3.eth.chain_id)
            code = w3.eth.get_code(to_checksum_address(info.contract))
        except Exception as exc:  # noqa: BLE001 - transport errors of several kinds
            raise EdgeClientError(f"chain node {rpc} unreachable: {exc}") from None
        if chain_id != info.chain_id:
            raise EdgeClientError(f"the node {rpc} is chain {chain_id}, the station names chain {info.chain_id}")
        if not code:
            raise EdgeClientError(f"no contract at {info.contract} on chain {chain_id}")
        self.core = CoreClient(w3, info.contract)
        self.station = to_checksum_address(info.station)
        self._next = max(0, from_block)  # first block not scanned yet
        self._roots: dict[tuple[int, int], str] = {}  # (round, g) -> the clientsRoot reported on chain

    def root(self, round_id: int, g: int) -> str | None:
        """The clientsRoot the station reported for (round_id, g), or None while it has not reported."""
        if (round_id, g) not in self._roots:
            self._scan()
        return self._roots.get((round_id, g))

    def _scan(self) -> None:
        head = int(self.core.w3.eth.block_number)
        if head < self._next:
            return
        logs = self.core.contract.events.TrainingReported().get_logs(
            from_block=self._next, to_block=head, argument_filters={"station": self.station})
        for entry in logs:
            key = (int(entry["args"]["roundId"]), int(entry["args"]["globalRound"]))
            self._roots.setdefault(key, "0x" + bytes(entry["args"]["clientsRoot"]).hex())
        self._next = head + 1


def fetch_committed_root(http: httpx.Client, proof: InclusionProof, info: StationInfo) -> str:
    """The root the station signed for (round, g) (edge_root_message), checked against the station's address:
    what a device without a chain node (`--rpc`) can check; with one, check_inclusion uses the chain's root."""

    message = edge_root_message(info.chain_id, info.contract, info.station, proof.round_id, proof.global_round,
                                proof.root, proof.samples)
    try:
        signer = recover_signer(message, proof.root_signature)
    except Exception as exc:  # noqa: BLE001 - malformed signature
        raise EdgeClientError(f"root signature unreadable: {exc}") from None
    if signer != info.station:
        raise EdgeClientError(f"root of g={proof.global_round} is signed by {signer}, not the station {info.station}")
    return proof.root


def check_inclusion(http: httpx.Client, info: StationInfo, address: str, item: Inclusion,
                    chain: ChainRoots | None = None) -> bool:
    """Ask the station for the proof of (round, g); True once the answer is final (included or not). With
    `chain`, the proof must lead to the clientsRoot the station reported ON CHAIN (not final until it did)."""
    on_chain = None
    if chain is not None:
        # the on-chain root first: until the station reported (g), asking it for the proof is wasted work on both ends
        on_chain = chain.root(item.round_id, item.global_round)
        if on_chain is None:
            return False
    r = http.get(f"/edge/proofs/{item.round_id}/{item.global_round}/{address}")
    if r.status_code == 409:  # not closed yet
        return False
    if r.status_code == 404:
        item.included, item.verified, item.detail = False, False, r.json().get("detail", "not included")
        log.warning("round %d g=%d: this device's update was NOT included: %s", item.round_id, item.global_round,
                    item.detail)
        return True
    if r.status_code != 200:
        return False
    proof = InclusionProof.model_validate(r.json())
    if proof.leaf.address != address or (proof.round_id, proof.global_round) != (item.round_id, item.global_round):
        item.included, item.detail = False, "the station served a proof for another leaf"
        return True
    if on_chain is not None:
        root, where = on_chain, "the on-chain clientsRoot"
        item.on_chain = True
    else:
        root, where = fetch_committed_root(http, proof, info), "the station's signed root (no --rpc: not on chain)"
    item.root, item.samples = root, proof.leaf.samples
    item.included = item.verified = proof.verifies(root)
    if item.verified:
        log.info("round %d g=%d: inclusion proof verified against %s %s (%d samples)", item.round_id,
                 item.global_round, where, root[:12], proof.leaf.samples)
    else:
        item.detail = f"proof does not lead to {where}"
        log.error("round %d g=%d: the station's inclusion proof does NOT verify against %s %s", item.round_id,
                  item.global_round, where, root)
    return True


# ============================================================================ the process
class EdgeClientProcess:
    def __init__(self, station_url: str, account: LocalAccount, raw: RawData, *, report: Path | None = None,
                 flower: str | None = None, train_delay: float = 0.0, rpc: str | None = None,
                 costs: list[str] | None = None, auto_claim: bool = True, contract: str | None = None) -> None:
        self.station_url = station_url.rstrip("/")
        self.account = account
        self.raw = raw
        self.report = report
        self.flower_override = flower
        self.train_delay = train_delay
        self.state = EdgeClientState(account.address)
        self.stop = threading.Event()
        self.http = httpx.Client(base_url=self.station_url, timeout=30)
        self.rpc = rpc
        self.costs = costs
        self.auto_claim = auto_claim
        self.contract = contract  # pinned HCFLCore address (--contract): the station must name this one

    def _flower_address(self, info: StationInfo) -> str:
        if self.flower_override:
            return self.flower_override
        host, _, port = info.flower.rpartition(":")
        if host in ("0.0.0.0", "[::]", "", "::"):
            host = urlparse(self.station_url).hostname or "127.0.0.1"
        return f"{host}:{port}"

    def _write_report(self) -> None:
        if self.report is None:
            return
        tmp = self.report.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state.as_json(), indent=1))
        tmp.replace(self.report)

    def _head_block(self) -> int:
        """The chain's head before this device trains (where ChainRoots starts scanning); 0 when unknown."""
        if not self.rpc:
            return 0
        try:
            r = httpx.post(self.rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                           timeout=30)
            return int(r.json()["result"], 16)
        except Exception as exc:  # noqa: BLE001 - scan from block 0 then
            log.debug("head block unknown (%s): inclusion roots are looked up from block 0", exc)
            return 0

    def _proof_loop(self, info: StationInfo, from_block: int = 0) -> None:
        chain = None
        if self.rpc:
            try:
                chain = ChainRoots(self.rpc, info, self.contract, from_block)
            except EdgeClientError as exc:
                log.error("inclusion proofs cannot be checked on chain: %s", exc)
                return
        while not self.stop.wait(0.3):
            with self.state.lock:
                pending = [i for i in self.state.trained.values() if i.included is None]
            for item in pending:
                try:
                    if check_inclusion(self.http, info, self.account.address, item, chain):
                        self._write_report()
                except (httpx.TransportError, EdgeClientError, ValueError) as exc:
                    log.debug("proof of g=%d not available yet: %s", item.global_round, exc)

    def run(self) -> int:
        from flwr.compat.client.app import start_client

        if self.rpc:
            from fl_worker.edge.paying import pay_loop

            self.state.paying = True
            threading.Thread(target=pay_loop, args=(self,), name="payouts", daemon=True).start()
        info = fetch_info(self.http, self.stop)
        fit_to_spec(self.raw, info.spec)  # EdgeDataError before joining: wrong shapes or labels
        if len(fit_to_spec(self.raw, info.spec).filter_labels(info.label_mask)) == 0:
            raise EdgeDataError(f"none of the samples has one of round {info.round_id}'s labels {info.label_mask:#x}")
        self.state.station = info.station
        self._write_report()
        log.info("edge client %s: %d samples (%s); station %s, round %d, Flower server %s", self.account.address,
                 len(self.raw), self.raw.source, info.station, info.round_id, self._flower_address(info))
        threading.Thread(target=self._proof_loop, args=(info, self._head_block()), name="proofs", daemon=True).start()
        client = make_flower_client(self.account, self.raw, self.state, self.train_delay)
        while not self.stop.is_set():
            try:
                start_client(server_address=self._flower_address(info), client=client, insecure=True,
                             max_wait_time=60.0)
                log.info("the station closed the connection")
            except Exception as exc:  # noqa: BLE001 - grpc raises its own kinds when the station goes away
                if self.stop.is_set():
                    break
                log.warning("connection to the station lost (%s); reconnecting", type(exc).__name__)
            self.stop.wait(1.0)
        return 0

    def shutdown(self) -> None:
        self.stop.set()
        self._write_report()


def load_key(path: Path) -> LocalAccount:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise EdgeClientError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        return Account.from_key(text)
    except Exception:  # noqa: BLE001 - eth-keys raises several kinds
        raise EdgeClientError(f"{path} does not hold a hex private key") from None


def install_signal_handlers(process: EdgeClientProcess) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        process.shutdown()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)

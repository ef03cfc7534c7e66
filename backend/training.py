"""The coordinator's training state machine (docs/protocol.md, "Training").

Per round in `Training` on chain: open g = 0 with the spec's initial model, accept signed station
uploads for the current g, close g when every selected station uploaded (or `round_timeout` seconds
after it opened with at least one upload), average by samples, evaluate on the validation split,
open g + 1; after t global rounds compute contribution scores and publish the result the winner signs.
Every step is written to the Store first, so a restarted coordinator continues at the stored g.

Integrity (issue 9): a station's aggregation weight is its declared sample count clipped to its cap (recorded
when it first asks for a task); an update whose distance from the previous global model is far beyond the
others' is clipped, one pointing against the others is left out, and both are recorded as evidence. Every
closed global round publishes an inclusion manifest (`manifest-{g}.json`, GET /api/rounds/{rid}/manifests/{g}):
a Merkle root (hcfl.merkle) over the included stations' leaves (address, update hash, weight). A station
that missed the previous global round is not waited for: the round closes once every live station uploaded.
Global models before the final one go only to the round's selected stations (signed request).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

from backend.chain_watch import ChainGateway, hex32, revealed_stations, selected_proposal
from backend.schemas import TrainingPlan
from backend.store import GlobalRow, Store, TrainingRow, UploadRow
from hcfl.chain.v2.types import Phase, Role

log = logging.getLogger(__name__)

MAX_MODEL_BYTES = 256 * 1024 * 1024
MANIFEST_LEAF_TYPES = ("address", "bytes32", "uint256")  # (station, update hash, aggregation weight)
# contribution scores (V2-RULES.md, Training): leaves (station, score, prefixBefore) in the stations' order
SCORE_LEAF_TYPES = ("address", "uint256", "uint256")


class ApiError(Exception):
    """A refusal with an HTTP status (mapped to {"detail": ...} by the app)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def checksum(address: str, what: str = "address") -> str:
    if not isinstance(address, str) or not is_address(address):
        raise ApiError(422, f"{what} is not a 20-byte hex address: {address!r}"[:200])
    return to_checksum_address(address)


def recover_signer(message: str, signature: str) -> str:
    """The address that personal_sign'ed `message` (EIP-191); ApiError(400) for a malformed signature."""
    text = signature.strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ApiError(400, "signature is not hex") from None
    if len(raw) != 65:
        raise ApiError(400, f"signature must be 65 bytes, got {len(raw)}")
    try:
        return Account.recover_message(encode_defunct(text=message), signature=raw)
    except Exception as exc:  # noqa: BLE001 - eth_keys raises several types for bad (r, s, v)
        raise ApiError(400, f"invalid signature: {type(exc).__name__}") from None


def update_message(chain_id: int, contract: str, rid: int, g: int, update_hash: str, samples: int, accuracy_bps: int) -> str:
    return f"hcfl-update:{chain_id}:{contract}:{rid}:{g}:{update_hash}:{samples}:{accuracy_bps}"


def download_message(chain_id: int, contract: str, rid: int) -> str:
    return f"hcfl-download:{chain_id}:{contract}:{rid}"


def signed_by(messages: list[str], signature: str, expected: str) -> bool:
    """True when `signature` over one of `messages` recovers to `expected` (contract spelled checksummed or lower)."""
    return any(recover_signer(m, signature) == expected for m in messages)


# ------------------------------------------------------------------ data the coordinator evaluates on
@dataclass
class _Validation:
    split: Any  # fl_worker Split or None


class ValidationData:
    """Cached validation splits: the test split of the plan's dataset (seeded as the plan says)."""

    def __init__(self, dataset_dir: str | None = None) -> None:
        self.dataset_dir = dataset_dir
        self._cache: dict[tuple[str, str | None, int], _Validation] = {}
        self._lock = threading.Lock()

    def get(self, plan: TrainingPlan):
        key = (plan.dataset, plan.simulation.data_dir, plan.seed)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = _Validation(self._load(plan))
            return self._cache[key].split

    def _load(self, plan: TrainingPlan):
        from fl_worker.data import load_dataset

        for directory in (self.dataset_dir, plan.simulation.data_dir):
            if plan.dataset in ("mnist", "cifar10") and directory is None:
                continue
            try:
                return load_dataset(plan.dataset, directory, seed=plan.seed).test
            except Exception as exc:  # noqa: BLE001 - missing local copy: train without validation
                log.warning("no validation data for %s in %s: %s", plan.dataset, directory, exc)
        return None


class TrainingManager:
    def __init__(self, store: Store, gw: ChainGateway, *, round_timeout: float = 120.0, poll: float = 1.0,
                 dataset_dir: str | None = None, max_station_samples: int = 10**6, outlier_norm_factor: float = 5.0,
                 outlier_min_cosine: float = -0.5) -> None:
        self.store = store
        self.max_station_samples = int(max_station_samples)
        self.outlier_norm_factor = float(outlier_norm_factor)
        self.outlier_min_cosine = float(outlier_min_cosine)
        self.changed = threading.Condition()  # notified whenever a global round opens, closes or gets an upload
        self._generation = 0
        self.gw = gw
        self.round_timeout = float(round_timeout)
        self.poll = poll
        self.validation = ValidationData(dataset_dir)
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._skip: set[int] = set()  # rounds that will never train (finished without Training)
        self._warned: set[int] = set()
        self._specs: dict[str, tuple[Any, TrainingPlan]] = {}
        self._seen: dict[int, dict[str, float]] = {}  # round -> station -> last task request (unix time)

    def _notify(self) -> None:
        with self.changed:
            self._generation += 1
            self.changed.notify_all()

    # ------------------------------------------------------------ per-station caps (recorded at task time)
    def _caps_path(self, rid: int) -> Path:
        return self.store.round_dir(rid) / "station-caps.json"

    def station_caps(self, rid: int) -> dict[str, int]:
        path = self._caps_path(rid)
        return {k: int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}

    def _record_cap(self, rid: int, station: str, declared: int | None) -> None:
        with self.lock:
            caps = self.station_caps(rid)
            if station in caps:
                return
            caps[station] = min(self.max_station_samples, int(declared)) if declared else self.max_station_samples
            Store.write_file(self._caps_path(rid), json.dumps(caps, sort_keys=True).encode())
            log.info("round %d: sample cap of %s recorded at %d", rid, station, caps[station])

    def dead_stations(self, tr: TrainingRow) -> set[str]:
        """Stations that uploaded nothing in the previous global round (not waited for any more)."""
        if tr.g == 0:
            return set()
        return set(tr.stations) - {u.station for u in self.store.uploads(tr.round_id, tr.g - 1)}

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hcfl-training", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        import torch

        torch.set_num_threads(1)
        import fl_worker.contribution  # noqa: F401 - pay the imports (scikit-learn, ...) before the first close
        import fl_worker.data  # noqa: F401
        import fl_worker.hfl  # noqa: F401

        for tr in self.store.trainings("training"):
            log.info("round %d: resuming training at global round %d/%d", tr.round_id, tr.g, tr.t)
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the worker alive; the next tick retries
                log.exception("training tick failed")
            self.wake.wait(self.poll)
            self.wake.clear()

    # ------------------------------------------------------------ specs
    def spec_of(self, omega: str):
        from fl_worker.models import ModelSpec

        omega = omega.lower()
        if omega not in self._specs:
            stored = self.store.get_spec(omega)
            if stored is None:
                return None
            self._specs[omega] = (ModelSpec.model_validate(stored[0]), TrainingPlan.model_validate(stored[1]))
        return self._specs[omega]

    # ------------------------------------------------------------ the worker's step
    def tick(self) -> None:
        count = self.gw.round_count()
        for rid in range(count):
            if rid in self._skip:
                continue
            tr = self.store.get_training(rid)
            if tr is not None and tr.status != "training":
                self._skip.add(rid)
                continue
            phase = self.gw.phase(rid)
            if tr is None:
                if phase == Phase.TRAINING:
                    self._open(rid, self.gw.record(rid))
                elif phase == Phase.FINISHED:
                    self._skip.add(rid)
                continue
            if phase != Phase.TRAINING:
                with self.lock:
                    log.warning("round %d left Training on chain at global round %d/%d; training stops", rid, tr.g, tr.t)
                    self.store.set_status(rid, "abandoned")
                continue
            self._maybe_close(tr)

    def _open(self, rid: int, record) -> None:
        from fl_worker.models import build_model, state_of
        from fl_worker.wire import encode_state, state_hash

        proposal = selected_proposal(record)
        if proposal is None:
            return
        omega = hex32(proposal.spec_hash)
        found = self.spec_of(omega)
        if found is None:
            if rid not in self._warned:
                log.warning("round %d: selected proposal's spec %s is unknown here (POST /api/specs); cannot train", rid, omega)
                self._warned.add(rid)
            return
        spec, _plan = found
        stations = revealed_stations(record)
        data = encode_state(state_of(build_model(spec)))
        h = state_hash(data)
        path = self.store.round_dir(rid) / "global-0.safetensors"
        Store.write_file(path, data)
        with self.lock:
            if self.store.get_training(rid) is not None:
                return
            self.store.open_training(
                TrainingRow(round_id=rid, omega=omega, status="training", g=0, t=int(proposal.global_rounds),
                            label_mask=int(proposal.label_mask), stations=stations, opened_at=time.time()),
                GlobalRow(rid, 0, h, str(path), None),
            )
        self._notify()
        log.info("round %d: training opened: %s, t=%d, %d stations, label mask %#x, initial model %s",
                 rid, spec.arch, proposal.global_rounds, len(stations), proposal.label_mask, h[:12])

    def _maybe_close(self, tr: TrainingRow) -> None:
        ups = self.store.uploads(tr.round_id, tr.g)
        live = set(tr.stations) - self.dead_stations(tr)
        everyone = bool(ups) and {u.station for u in ups} >= live
        timed_out = ups and time.time() - tr.opened_at >= self.round_timeout
        if everyone or timed_out:
            with self.lock:
                current = self.store.get_training(tr.round_id)
                if current is None or current.status != "training" or current.g != tr.g:
                    return
                self._close(current, self.store.uploads(tr.round_id, tr.g))

    def _close(self, tr: TrainingRow, ups: list[UploadRow]) -> None:
        import torch

        from fl_worker.hfl import StationResult, aggregate_stations
        from fl_worker.local import evaluate
        from fl_worker.models import build_model
        from fl_worker.wire import decode_state, encode_state, state_hash

        t0 = time.perf_counter()
        spec, plan = self.spec_of(tr.omega)
        prev = self._global_row(tr.round_id, tr.g)
        prev_state = decode_state(Path(prev.path).read_bytes(), spec, prev.hash)
        order = {a: j for j, a in enumerate(tr.stations)}
        caps = self.station_caps(tr.round_id)
        results = []
        evidence: list[dict[str, Any]] = []
        for u in sorted(ups, key=lambda u: order.get(u.station, 10**9)):
            state = decode_state(Path(u.path).read_bytes(), spec, u.update_hash)
            cap = caps.get(u.station, self.max_station_samples)
            weight = min(int(u.samples), cap)
            if weight < u.samples:
                evidence.append({"station": u.station, "update_hash": u.update_hash, "action": "weight-clipped",
                                 "declared_samples": int(u.samples), "cap": cap})
            results.append(StationResult(order[u.station], tr.g, state, weight, u.accuracy_bps / 10_000))
        results, outliers = screen_updates(results, prev_state, self.outlier_norm_factor, self.outlier_min_cosine)
        for o in outliers:
            o.update({"station": tr.stations[o.pop("station_id")]})
            o["update_hash"] = next(u.update_hash for u in ups if u.station == o["station"])
        evidence += outliers
        with torch.no_grad():
            if sum(r.samples for r in results) > 0:
                new_state = aggregate_stations(results)
            else:
                new_state = {k: v.clone() for k, v in prev_state.items()}
        validation = self.validation.get(plan)
        accuracy: float | None = None
        if validation is not None:
            model = build_model(spec)
            model.load_state_dict(new_state)
            try:
                accuracy = evaluate(model, validation, tr.label_mask)
            except ValueError as exc:
                log.warning("round %d: cannot evaluate: %s", tr.round_id, exc)
        data = encode_state(new_state)
        h = state_hash(data)
        g_next = tr.g + 1
        path = self.store.round_dir(tr.round_id) / f"global-{g_next}.safetensors"
        Store.write_file(path, data)
        done = g_next >= tr.t
        self._write_manifest(tr, ups, results, evidence, h)
        result = None
        if done:
            result = self._result(tr, spec, validation, results, prev_state, h, accuracy)
        self.store.advance_training(tr.round_id, GlobalRow(tr.round_id, g_next, h, str(path), accuracy), done=done, result=result)
        log.info("round %d: global round %d/%d closed: %d/%d stations, %d samples, accuracy %s, model %s (%.2fs)",
                 tr.round_id, tr.g + 1, tr.t, len(results), len(tr.stations), sum(r.samples for r in results),
                 "n/a" if accuracy is None else f"{accuracy:.4f}", h[:12], time.perf_counter() - t0)
        self._notify()
        if evidence:
            log.warning("round %d: global round %d: integrity evidence recorded: %s", tr.round_id, tr.g + 1, evidence)
        if result is not None:
            log.info("round %d: training done: final model %s, accuracy %s bps, scores %s; the winner may finalize",
                     tr.round_id, h[:12], result["achieved_acc_bps"], result["scores"])

    def _write_manifest(self, tr: TrainingRow, ups: list[UploadRow], included: list[Any], evidence: list[dict[str, Any]],
                        model_hash: str) -> None:
        """The inclusion manifest of global round tr.g: which updates went into the aggregate, with what weight."""
        from hcfl.merkle import MerkleTree

        by_station = {u.station: u for u in ups}
        leaves = sorted(((tr.stations[r.station_id], by_station[tr.stations[r.station_id]].update_hash, int(r.samples))
                         for r in included), key=lambda leaf: leaf[0].lower())
        tree = MerkleTree.build(MANIFEST_LEAF_TYPES, [(a, bytes.fromhex(h[2:]), w) for a, h, w in leaves]) if leaves else None
        manifest = {
            "round_id": tr.round_id, "global_round": tr.g, "leaf_types": list(MANIFEST_LEAF_TYPES),
            "root": "0x" + tree.root.hex() if tree else None, "global_model_hash": model_hash,
            "included": [{"address": a, "update_hash": h, "weight": w,
                          "declared_samples": int(by_station[a].samples),
                          "edge_root": self._edge_roots(tr.round_id).get(f"{tr.g}:{a}")} for a, h, w in leaves],
            "absent": [a for a in tr.stations if a not in by_station],
            "evidence": evidence,
        }
        Store.write_file(self.store.round_dir(tr.round_id) / f"manifest-{tr.g}.json",
                         json.dumps(manifest, indent=1, sort_keys=True).encode())

    def manifest(self, rid: int, g: int) -> dict[str, Any]:
        self._known_round(rid)
        path = self.store.round_dir(rid) / f"manifest-{g}.json"
        if g < 0 or not path.exists():
            raise ApiError(404, f"no inclusion manifest for global round {g} of round {rid} (not closed yet)")
        return json.loads(path.read_text())

    def _edge_roots(self, rid: int) -> dict[str, Any]:
        path = self.store.round_dir(rid) / "edge-roots.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _record_edge_root(self, rid: int, g: int, station: str, root: str, signature: str, samples: int) -> None:
        """A station's signed root over its edge clients' leaves (fl_worker.edge.protocol); checked, then listed."""
        import re

        from fl_worker.edge.protocol import edge_root_message

        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", root):
            raise ApiError(422, "X-HCFL-Edge-Root must be a 0x-prefixed 32-byte hex value")
        message = edge_root_message(self.gw.chain_id, self.gw.address, station, rid, g, root, samples)
        if recover_signer(message, signature) != station:
            raise ApiError(403, "X-HCFL-Edge-Root-Signature does not recover to X-HCFL-Station for this root")
        with self.lock:
            roots = self._edge_roots(rid)
            roots[f"{g}:{station}"] = {"root": root.lower(), "samples": samples, "signature": signature}
            Store.write_file(self.store.round_dir(rid) / "edge-roots.json", json.dumps(roots, sort_keys=True).encode())

    def _result(self, tr: TrainingRow, spec, validation, results, prev_state, final_hash: str,
                accuracy: float | None) -> dict[str, Any]:
        by_station = {tr.stations[r.station_id]: r for r in results}
        scores = round_scores(tr.stations, [(tr.stations[r.station_id], r.state, r.samples) for r in results], spec,
                              validation, tr.label_mask, prev_state, tr.round_id)
        if accuracy is None:  # fall back to the stations' own sample-weighted accuracy
            total = sum(r.samples for r in by_station.values()) or 1
            achieved = sum(int(round(r.local_accuracy * 10_000)) * r.samples for r in by_station.values()) // total
        else:
            achieved = int(round(accuracy * 10_000))
        return {"global_model_hash": final_hash, "achieved_acc_bps": max(0, min(10_000, achieved)),
                "scores": scores, "stations": list(tr.stations), **score_tree(tr.stations, scores),
                "validation_hash": self._publish_validation(tr.round_id, validation)}

    def _publish_validation(self, rid: int, validation) -> str:
        """The validation split the scores and the accuracy were computed on, published as safetensors
        (X, y) at GET /api/rounds/{rid}/validation; its keccak256 goes on chain with finalizeTraining."""
        from fl_worker.wire import encode_state, state_hash

        if validation is None:
            return hex32(b"\0" * 32)
        data = encode_state({"X": validation.X, "y": validation.y})
        Store.write_file(self.store.round_dir(rid) / "validation.safetensors", data)
        return state_hash(data)

    def validation_split(self, rid: int) -> tuple[bytes, str]:
        from fl_worker.wire import state_hash

        self._known_round(rid)
        path = self.store.round_dir(rid) / "validation.safetensors"
        if not path.exists():
            raise ApiError(404, f"round {rid} has no published validation split (training not done)")
        data = path.read_bytes()
        return data, state_hash(data)

    # ------------------------------------------------------------ requests
    def _known_round(self, rid: int) -> None:
        if rid < 0 or rid >= self.gw.round_count():
            raise ApiError(404, f"unknown round {rid}")

    def task_wait(self, rid: int, station: str, wait: float = 0.0, samples: int | None = None) -> tuple[dict[str, Any], bool]:
        """`task`, held up to `wait` seconds while the answer is "wait" and the round's training is open (HTTP
        long-poll; before training opens the answer comes at once). Returns (answer, held)."""
        deadline = time.monotonic() + max(0.0, min(float(wait), 30.0))
        seen = self._generation
        answer = self.task(rid, station, samples)
        held = False
        while (answer.get("status") == "wait" and time.monotonic() < deadline and not self._stop.is_set()
               and (tr := self.store.get_training(rid)) is not None and tr.status == "training"):
            held = True
            with self.changed:
                if self._generation == seen:
                    self.changed.wait(min(1.0, deadline - time.monotonic()))
                seen = self._generation
            answer = self.task(rid, station, samples)
        return answer, held

    def task(self, rid: int, station: str, samples: int | None = None) -> dict[str, Any]:
        self._known_round(rid)
        station = checksum(station, "station")
        tr = self.store.get_training(rid)
        if tr is None:
            phase = self.gw.phase(rid)
            p = self.gw.participant(rid, station)
            if p is None or p.role != Role.STATION:
                raise ApiError(403, f"{station} is not a station of round {rid}")
            self._mark_seen(rid, station)
            if phase < Phase.TRAINING:
                return {"status": "wait", "reason": "round not in Training yet"}
            if phase == Phase.TRAINING:
                if not p.revealed:
                    raise ApiError(403, f"{station} is not a selected (revealed) station of round {rid}")
                return {"status": "wait", "reason": "training not opened yet (is the proposal's spec posted?)"}
            return {"status": "done", "reason": "round over without training here"}
        if station not in tr.stations:
            raise ApiError(403, f"{station} is not a selected station of round {rid}")
        self._mark_seen(rid, station)
        if tr.status != "training":
            return {"status": "done"}
        if any(u.station == station for u in self.store.uploads(rid, tr.g)):
            return {"status": "wait", "reason": f"already uploaded for global round {tr.g}"}
        spec, plan = self.spec_of(tr.omega)
        g = self._global_row(rid, tr.g)
        self._record_cap(rid, station, samples)
        return {
            "status": "train", "round_id": rid, "global_round": tr.g, "global_model_hash": g.hash,
            "spec": spec.model_dump(mode="json"), "training": plan.model_dump(mode="json"),
            "label_mask": tr.label_mask, "station_index": tr.stations.index(station),
            "num_stations": len(tr.stations), "global_rounds": tr.t,
        }

    def _mark_seen(self, rid: int, station: str) -> None:
        """A station's daemon asked for its task: the UI tells "daemon seen" from "no daemon seen" by it."""
        with self.lock:
            self._seen.setdefault(rid, {})[station] = time.time()

    def stations_seen(self, rid: int) -> dict[str, float]:
        with self.lock:
            return dict(self._seen.get(rid, {}))

    def global_model(self, rid: int, g: int, station: str = "", signature: str = "") -> tuple[bytes, str]:
        """Global model g < t: only for the round's selected stations, by a request signed with
        download_message (the signature an owner uses for the final model)."""
        self._known_round(rid)
        if not station or not signature:
            raise ApiError(403, "intermediate global models go to the round's selected stations only: send "
                                "X-HCFL-Station and X-HCFL-Signature (EIP-191 over hcfl-download:chainId:contract:round)")
        station = checksum(station, "X-HCFL-Station")
        contract = self.gw.address
        if not signed_by([download_message(self.gw.chain_id, c, rid) for c in (contract, contract.lower())], signature,
                         station):
            raise ApiError(403, "signature does not recover to X-HCFL-Station")
        tr = self.store.get_training(rid)
        if tr is not None and station not in tr.stations:
            raise ApiError(403, f"{station} is not a selected station of round {rid}")
        if tr is None:
            raise ApiError(404, f"round {rid} has no training state (not in Training yet)")
        if g < 0:
            raise ApiError(404, f"no global round {g}")
        if g >= tr.t:
            raise ApiError(403, "the final model is only for paying owners: GET /api/rounds/{rid}/models/final")
        row = self.store.get_global(rid, g)
        if row is None:
            raise ApiError(404, f"global model {g} of round {rid} does not exist yet (current global round {tr.g})")
        return Path(row.path).read_bytes(), row.hash

    def upload(self, rid: int, g: int, station: str, samples: int, accuracy_bps: int, signature: str, body: bytes,
               edge_root: str | None = None, edge_root_signature: str | None = None) -> dict[str, Any]:
        from fl_worker.wire import WireFormatError, decode_state, state_hash

        self._known_round(rid)
        station = checksum(station, "X-HCFL-Station")
        update_hash = state_hash(body)
        contract = self.gw.address
        msgs = [update_message(self.gw.chain_id, c, rid, g, update_hash, samples, accuracy_bps) for c in (contract, contract.lower())]
        if not signed_by(msgs, signature, station):
            raise ApiError(403, "signature does not recover to X-HCFL-Station for this upload")
        if self.gw.phase(rid) != Phase.TRAINING:
            raise ApiError(409, f"round {rid} is not in Training")
        p = self.gw.participant(rid, station)
        if p is None or p.role != Role.STATION or not p.revealed:
            raise ApiError(403, f"{station} is not a revealed station of round {rid}")
        tr = self.store.get_training(rid)
        if tr is None:
            raise ApiError(409, f"training of round {rid} has not opened yet")
        if station not in tr.stations:
            raise ApiError(403, f"{station} is not a selected station of round {rid}")
        if tr.status != "training":
            raise ApiError(409, f"training of round {rid} is over")
        if g != tr.g:
            raise ApiError(409, f"global round {g} is not the current one ({tr.g})")
        if any(u.station == station for u in self.store.uploads(rid, g)):
            raise ApiError(409, f"{station} already uploaded for global round {g}")
        spec, _plan = self.spec_of(tr.omega)
        try:
            decode_state(body, spec, max_bytes=MAX_MODEL_BYTES)
        except WireFormatError as exc:
            raise ApiError(400, f"model rejected: {exc}"[:500]) from None
        if edge_root is not None:
            self._record_edge_root(rid, g, station, edge_root, edge_root_signature or "", samples)
        path = self.store.round_dir(rid) / f"update-{g}-{station}.safetensors"
        Store.write_file(path, body)
        with self.lock:
            current = self.store.get_training(rid)
            if current is None or current.g != g or current.status != "training":
                raise ApiError(409, f"global round {g} closed meanwhile")
            if not self.store.add_upload(UploadRow(rid, g, station, samples, accuracy_bps, update_hash, str(path), time.time())):
                raise ApiError(409, f"{station} already uploaded for global round {g}")
            n = len(self.store.uploads(rid, g))
        log.info("round %d: global round %d: upload %d/%d from %s (%d samples, %d bps)",
                 rid, g, n, len(tr.stations), station, samples, accuracy_bps)
        self.wake.set()
        self._notify()
        return {"accepted": True, "update_hash": update_hash, "global_round": g}

    def audit_artifact(self, rid: int, g: int, station: str | None, account: str, signature: str) -> tuple[bytes, str]:
        """What `hcfl audit` recomputes the contribution scores from (docs/protocol.md, "Score audit"): the global model
        that global round g started from (station None) or a station's uploaded update of g, once training is done.
        The last round's updates rebuild the final model, so they go only to the round's revealed participants
        (owners and stations), by a request signed with download_message, as the final model does."""
        self._known_round(rid)
        account = checksum(account, "X-HCFL-Account")
        contract = self.gw.address
        if not signed_by([download_message(self.gw.chain_id, c, rid) for c in (contract, contract.lower())], signature,
                         account):
            raise ApiError(403, "signature does not recover to X-HCFL-Account")
        p = self.gw.participant(rid, account)
        if p is None or not p.revealed:
            raise ApiError(403, f"{account} is not a revealed owner or station of round {rid}")
        tr = self.store.get_training(rid)
        if tr is None or tr.status != "done":
            raise ApiError(409, f"round {rid} has no finished training (audit artifacts come after the last round)")
        if not 0 <= g < tr.t:
            raise ApiError(404, f"no global round {g} in round {rid} (t = {tr.t})")
        if station is None:
            row = self._global_row(rid, g)
            return Path(row.path).read_bytes(), row.hash
        station = checksum(station, "station")
        up = next((u for u in self.store.uploads(rid, g) if u.station == station), None)
        if up is None:
            raise ApiError(404, f"{station} uploaded nothing for global round {g} of round {rid}")
        return Path(up.path).read_bytes(), up.update_hash

    def final_model(self, rid: int, owner: str, signature: str) -> tuple[bytes, str]:
        self._known_round(rid)
        owner = checksum(owner, "X-HCFL-Owner")
        contract = self.gw.address
        msgs = [download_message(self.gw.chain_id, c, rid) for c in (contract, contract.lower())]
        if not signed_by(msgs, signature, owner):
            raise ApiError(403, "signature does not recover to X-HCFL-Owner")
        p = self.gw.participant(rid, owner)
        if p is None or p.role != Role.OWNER or not p.revealed:
            raise ApiError(403, f"{owner} is not a revealed (paying) owner of round {rid}")
        tr = self.store.get_training(rid)
        if tr is None or tr.status != "done":
            raise ApiError(409, f"round {rid} has no final model yet")
        row = self._global_row(rid, tr.t)
        return Path(row.path).read_bytes(), row.hash

    def _global_row(self, rid: int, g: int) -> GlobalRow:
        """The stored global model g of round `rid` (written before the round moved past it)."""
        row = self.store.get_global(rid, g)
        if row is None:
            raise ApiError(409, f"round {rid}: global model {g} is not stored on this coordinator")
        return row

    def training_view(self, rid: int) -> dict[str, Any]:
        self._known_round(rid)
        tr = self.store.get_training(rid)
        if tr is None:
            phase = self.gw.phase(rid)
            proposal = selected_proposal(self.gw.record(rid))
            t = 0
            note = None
            if proposal is not None and phase >= Phase.TRAINING:
                t = int(proposal.global_rounds)
            status = "waiting" if phase <= Phase.TRAINING else "done"
            if phase == Phase.TRAINING:
                note = "training not opened yet (is the selected proposal's spec posted?)"
            return {"round_id": rid, "global_round": 0, "t": t, "status": status, "history": [], "result": None, "note": note,
                    "stations_seen": self.stations_seen(rid)}
        globals_ = {gr.g: gr for gr in self.store.globals_of(rid)}
        ups = self.store.uploads(rid)
        history = []
        for g in range(min(tr.g, tr.t)):
            produced = globals_.get(g + 1)
            history.append({
                "global_round": g, "accuracy": produced.accuracy if produced else None,
                "global_model_hash": produced.hash if produced else "",
                "stations": [{"address": u.station, "samples": u.samples, "accuracy_bps": u.accuracy_bps,
                              "update_hash": u.update_hash} for u in ups if u.g == g],
            })
        status = "training" if tr.status == "training" else "done"
        return {
            "round_id": rid, "global_round": tr.g, "t": tr.t, "status": status, "stations": tr.stations,
            "uploaded": [u.station for u in ups if u.g == tr.g] if tr.status == "training" else [],
            "pending": [{"address": u.station, "samples": u.samples, "accuracy_bps": u.accuracy_bps,
                         "update_hash": u.update_hash} for u in ups if u.g == tr.g] if tr.status == "training" else [],
            "initial_model_hash": globals_[0].hash if 0 in globals_ else None, "history": history,
            "result": tr.result, "note": "training stopped: the round left Training on chain" if tr.status == "abandoned" else None,
            "stations_seen": self.stations_seen(rid),
        }


def round_scores(stations: list[str], included: list[tuple[str, Any, int]], spec, validation, label_mask: int,
                 prev_state: dict[str, Any], round_id: int = -1) -> list[int]:
    """The contribution scores of a round, one per selected station (in `stations` order): Shapley for <= 8
    included updates, else leave-one-out (fl_worker.contribution), on `validation`, over the last global round's
    `included` (station, state as aggregated, aggregation weight) in the stations' order, from `prev_state`;
    sample shares in bps without validation data. The coordinator and `hcfl audit` (backend.audit_scores) both
    call this one definition."""
    from fl_worker.contribution import contribution_scores, to_score_ints

    order = {a: j for j, a in enumerate(stations)}
    live = sorted(included, key=lambda x: order.get(x[0], 10**9))
    scored: list[int] | None = None
    if validation is not None and live:
        try:
            raw = contribution_scores(
                [(state, n) for _, state, n in live], spec, validation,
                method="shapley" if len(live) <= 8 else "loo", labels_mask=label_mask, previous_global=prev_state,
            )
            scored = to_score_ints(raw)
        except ValueError as exc:
            log.warning("round %d: contribution scores unavailable (%s); using sample shares", round_id, exc)
    if scored is None:  # no validation data: sample shares in bps
        total = sum(n for _, _, n in live) or 1
        scored = [n * 10_000 // total for _, _, n in live]
    per_live = {a: s for (a, _, _), s in zip(live, scored)}
    return [max(0, int(per_live.get(a, 0))) for a in stations]


def clip_update(state: dict[str, Any], prev_state: dict[str, Any], scale: float) -> dict[str, Any]:
    """`prev + (state - prev) * scale` per tensor: a norm-clipped update (screen_updates; the auditor redoes it)."""
    return {k: (prev_state[k].double() + (state[k].double() - prev_state[k].double()) * scale).to(state[k].dtype)
            for k in prev_state}


def score_tree(stations: list[str], scores: list[int]) -> dict[str, Any]:
    """The contribution-score Merkle tree (V2-RULES.md): leaves (station, score, prefixBefore) in the stations'
    order, built with hcfl.merkle; every station's leaf with its proof (what claimWithScore needs)."""
    from hcfl.merkle import MerkleTree

    prefixes, total = [], 0
    for sc in scores:
        prefixes.append(total)
        total += int(sc)
    if not stations or total == 0:  # no valid scores: the chain falls back to Equal (no root)
        return {"scores_root": hex32(b"\0" * 32), "scores_total": 0, "score_leaves": []}
    values = [(to_checksum_address(a), int(sc), int(pb)) for a, sc, pb in zip(stations, scores, prefixes)]
    tree = MerkleTree.build(SCORE_LEAF_TYPES, values)
    leaves = [{"station": a, "score": sc, "prefix_before": pb, "proof": [hex32(x) for x in tree.proof(i)]}
              for i, (a, sc, pb) in enumerate(values)]
    return {"scores_root": hex32(tree.root), "scores_total": total, "score_leaves": leaves}


def screen_updates(results: list[Any], prev_state: dict[str, Any], norm_factor: float,
                   min_cosine: float) -> tuple[list[Any], list[dict[str, Any]]]:
    """Outlier screening of station updates against the previous global model (needs >= 3 updates).

    An update whose distance from the previous model exceeds `norm_factor` x the median distance is clipped
    to that bound; one whose direction has cosine < `min_cosine` with the mean of the others' directions is
    left out. Returns the (possibly clipped) results to aggregate and the evidence, one dict per action."""
    import torch

    from fl_worker.hfl import StationResult

    if len(results) < 3:
        return results, []
    keys = list(prev_state)

    def flat(state: dict[str, Any]) -> Any:
        return torch.cat([(state[k].detach().double() - prev_state[k].double()).flatten() for k in keys])

    deltas = [flat(r.state) for r in results]
    norms = [float(d.norm()) for d in deltas]
    median = float(torch.tensor(norms, dtype=torch.float64).median())
    evidence: list[dict[str, Any]] = []
    kept: list[Any] = []
    for i, (r, d, n) in enumerate(zip(results, deltas, norms)):
        others = torch.stack([x for j, x in enumerate(deltas) if j != i]).mean(dim=0)
        denom = float(d.norm() * others.norm())
        cosine = float(d @ others) / denom if denom > 0 else 1.0
        if cosine < min_cosine:
            evidence.append({"station_id": r.station_id, "action": "left-out", "cosine": round(cosine, 6),
                             "min_cosine": min_cosine, "norm": round(n, 6), "median_norm": round(median, 6)})
            continue
        bound = norm_factor * median
        if median > 0 and n > bound:
            scale = bound / n
            state = clip_update(r.state, prev_state, scale)
            evidence.append({"station_id": r.station_id, "action": "norm-clipped", "norm": round(n, 6),
                             "median_norm": round(median, 6), "bound": round(bound, 6), "scale": scale})
            r = StationResult(r.station_id, r.round_index, state, r.samples, r.local_accuracy)
        kept.append(r)
    return kept, evidence

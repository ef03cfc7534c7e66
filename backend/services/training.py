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
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from backend.auth import checksum, require_signature
from backend.errors import ApiError
from backend.faults import DatabaseFault
from backend.gateway import ChainGateway
from backend.integrity import read_model, remember_verified
from backend.schemas import TrainingPlan
from backend.store import GlobalRow, Store, TrainingRow, UploadRow
from backend.views import hex32
from fl_worker.data import load_dataset
from fl_worker.data.base import Split
from fl_worker.hfl import StationResult
from fl_worker.models import ModelSpec
from fl_worker.plan import omega as omega_of
from fl_worker.strategy import ScreenedFedAvg, Strategy
from fl_worker.wire import WireFormatError, decode_state, encode_state, state_hash
from hcfl.merkle import MerkleTree
from hcfl.protocol import Phase, Role, edge_root_message, update_message
from hcfl.protocol.leaves import MANIFEST_LEAF_TYPES, score_tree

log = logging.getLogger(__name__)

MAX_MODEL_BYTES = 256 * 1024 * 1024


# ------------------------------------------------------------------ data the coordinator evaluates on
class ValidationData:
    """Cached validation splits: the test split of the plan's dataset (seeded as the plan says)."""

    def __init__(self, dataset_dir: str | None = None) -> None:
        self.dataset_dir = dataset_dir
        self._cache: dict[tuple[str, str | None, int], Split | None] = {}
        self._lock = threading.Lock()

    def get(self, plan: TrainingPlan) -> Split | None:
        key = (plan.dataset, plan.simulation.data_dir, plan.seed)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._load(plan)
            return self._cache[key]

    def _load(self, plan: TrainingPlan) -> Split | None:
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
                 dataset_dir: str | None = None, max_station_samples: int = 10**6,
                 strategy: Strategy | None = None) -> None:
        self.store = store
        self.max_station_samples = int(max_station_samples)
        self.strategy: Strategy = strategy or ScreenedFedAvg()  # aggregate, evaluate, score (fl_worker.strategy)
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
        self._specs: dict[str, tuple[ModelSpec, TrainingPlan]] = {}
        self._seen: dict[int, dict[str, float]] = {}  # round -> station -> last task request (unix time)
        self.fault: str | None = None  # lost training state found (backend/watchdog.py reports it)
        # (round, g, station; "" for the global model g) -> (hash, decoded state): what the close of g aggregates,
        # as the upload checks decoded it and the previous close computed it; a restarted coordinator (or a hash
        # that differs) reads and verifies the file instead
        self._decoded: dict[tuple[int, int, str], tuple[str, dict[str, torch.Tensor]]] = {}

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
        torch.set_num_threads(1)
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
    def spec_of(self, omega: str) -> tuple[ModelSpec, TrainingPlan] | None:
        omega = omega.lower()
        if omega not in self._specs:
            stored = self.store.get_spec(omega)
            if stored is None:
                return None
            spec, plan = ModelSpec.model_validate(stored[0]), TrainingPlan.model_validate(stored[1])
            if omega_of(spec, plan) != omega:  # a row written before ω covered the plan, or a tampered one
                log.error("the stored spec and plan under %s hash to %s: refusing them", omega, omega_of(spec, plan))
                return None
            self._specs[omega] = (spec, plan)
        return self._specs[omega]

    def _require_spec(self, omega: str) -> tuple[ModelSpec, TrainingPlan]:
        got = self.spec_of(omega)
        if got is None:
            raise ApiError(409, f"the model spec and training plan of ω {omega} are not stored on this coordinator")
        return got

    # ------------------------------------------------------------ the worker's step
    # the worker reads the chain at most this often; an upload's wake closes from the store alone (the upload
    # itself was checked against the chain's phase), so the close does not queue behind the embedded chain
    # executing the stations' reportTraining transactions
    CHAIN_TICK_S = 1.0
    # an upload reuses the round's phase read from the chain this recently (by the worker or another upload)
    UPLOAD_PHASE_AGE_S = 2.0

    def _phase(self, rid: int, max_age: float = 0.0) -> Phase:
        """The round's phase on chain, or the one read at most `max_age` seconds ago."""
        cache = self.__dict__.setdefault("_phases", {})
        hit = cache.get(rid)
        now = time.monotonic()
        if hit is not None and now - hit[1] <= max_age:
            return hit[0]
        phase = self.gw.phase(rid)
        cache[rid] = (phase, now)
        return phase

    def tick(self) -> None:
        # first from the store alone: a global round closes as soon as its uploads are in, never queued behind a
        # chain read; the chain (new rounds, a round that left Training) is read at most every CHAIN_TICK_S
        for tr in self.store.trainings("training"):
            self._maybe_close(tr)
        now = time.monotonic()
        if now - getattr(self, "_chain_tick_at", -1e9) < self.CHAIN_TICK_S:
            return
        self._chain_tick_at = now
        count = self.gw.round_count()
        for rid in range(count):
            if rid in self._skip:
                continue
            row = self.store.get_training(rid)
            if row is not None and row.status != "training":
                self._skip.add(rid)
                continue
            phase = self._phase(rid)
            if row is None:
                if phase == Phase.TRAINING:
                    self._open(rid, self.gw.record(rid))
                elif phase == Phase.FINISHED:
                    self._skip.add(rid)
                continue
            if phase != Phase.TRAINING:
                with self.lock:
                    log.warning("round %d left Training on chain at global round %d/%d; training stops", rid, row.g, row.t)
                    self.store.set_status(rid, "abandoned")
                continue
            self._maybe_close(row)

    def _open(self, rid: int, record) -> None:
        proposal = record.selected_proposal
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
        if record.reports:
            self.fault = (f"round {rid} is in Training with {len(record.reports)} station report(s) on chain, but this "
                          "coordinator's database has no training state for it: the state was lost (deleted WAL or "
                          "database file?); refusing to restart its training from scratch")
            raise DatabaseFault(self.fault)
        stations = record.revealed_stations
        data = encode_state(self.strategy.initialize_parameters(spec))
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
        t0 = time.perf_counter()
        spec, plan = self._require_spec(tr.omega)
        prev = self._global_row(tr.round_id, tr.g)
        prev_state = self._state(tr.round_id, tr.g, "", prev.path, prev.hash, spec)
        order = {a: j for j, a in enumerate(tr.stations)}
        caps = self.station_caps(tr.round_id)
        results = []
        evidence: list[dict[str, Any]] = []
        for u in sorted(ups, key=lambda u: order.get(u.station, 10**9)):
            state = self._state(tr.round_id, tr.g, u.station, u.path, u.update_hash, spec)
            cap = caps.get(u.station, self.max_station_samples)
            weight = min(int(u.samples), cap)
            if weight < u.samples:
                evidence.append({"station": u.station, "update_hash": u.update_hash, "action": "weight-clipped",
                                 "declared_samples": int(u.samples), "cap": cap})
            results.append(StationResult(order[u.station], tr.g, state, weight, u.accuracy_bps / 10_000))
        t_compute = time.perf_counter()
        fit = self.strategy.aggregate_fit(tr.g, results, prev_state)
        results = fit.included
        for o in fit.evidence:
            o.update({"station": tr.stations[o.pop("station_id")]})
            o["update_hash"] = next(u.update_hash for u in ups if u.station == o["station"])
        evidence += fit.evidence
        validation = self.validation.get(plan)
        accuracy = self.strategy.evaluate(tr.g, spec, fit.state, validation, tr.label_mask)
        compute = time.perf_counter() - t_compute  # aggregation and validation (the scores below, last round)
        data = encode_state(fit.state)
        h = state_hash(data)
        g_next = tr.g + 1
        path = self.store.round_dir(tr.round_id) / f"global-{g_next}.safetensors"
        Store.write_file(path, data)
        remember_verified(path, h, data)
        done = g_next >= tr.t
        self._write_manifest(tr, ups, results, evidence, h)
        result = None
        if done:
            t_scores = time.perf_counter()
            result = self._result(tr, spec, validation, results, prev_state, h, accuracy)
            compute += time.perf_counter() - t_scores
        self.store.advance_training(tr.round_id, GlobalRow(tr.round_id, g_next, h, str(path), accuracy), done=done, result=result)
        for key in [k for k in self._decoded if k[0] == tr.round_id and k[1] <= tr.g]:
            del self._decoded[key]
        if not done:
            self._decoded[(tr.round_id, g_next, "")] = (h, fit.state)
        log.info("round %d: global round %d/%d closed: %d/%d stations, %d samples, accuracy %s, model %s (%.3fs, compute "
                 "%.3fs)", tr.round_id, tr.g + 1, tr.t, len(results), len(tr.stations), sum(r.samples for r in results),
                 "n/a" if accuracy is None else f"{accuracy:.4f}", h[:12], time.perf_counter() - t0, compute)
        self._notify()
        if evidence:
            log.warning("round %d: global round %d: integrity evidence recorded: %s", tr.round_id, tr.g + 1, evidence)
        if result is not None:
            log.info("round %d: training done: final model %s, accuracy %s bps, scores %s; the winner may finalize",
                     tr.round_id, h[:12], result["achieved_acc_bps"], result["scores"])

    def _state(self, rid: int, g: int, who: str, path: str, expected_hash: str, spec: ModelSpec) -> dict[str, torch.Tensor]:
        """A model of global round g (`who`: a station's update, "" the global model) as the close aggregates it."""
        hit = self._decoded.get((rid, g, who))
        if hit is not None and hit[0] == expected_hash:
            return hit[1]
        return decode_state(read_model(path, expected_hash), spec)  # read_model verified the hash

    def _write_manifest(self, tr: TrainingRow, ups: list[UploadRow], included: list[Any], evidence: list[dict[str, Any]],
                        model_hash: str) -> None:
        """The inclusion manifest of global round tr.g: which updates went into the aggregate, with what weight."""
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
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", root):
            raise ApiError(422, "X-HCFL-Edge-Root must be a 0x-prefixed 32-byte hex value")
        require_signature(edge_root_message(self.gw.chain_id, self.gw.address, station, rid, g, root, samples), signature,
                          station, "X-HCFL-Edge-Root-Signature does not recover to X-HCFL-Station for this root")
        with self.lock:
            roots = self._edge_roots(rid)
            roots[f"{g}:{station}"] = {"root": root.lower(), "samples": samples, "signature": signature}
            Store.write_file(self.store.round_dir(rid) / "edge-roots.json", json.dumps(roots, sort_keys=True).encode())

    def _result(self, tr: TrainingRow, spec, validation, results, prev_state, final_hash: str,
                accuracy: float | None) -> dict[str, Any]:
        by_station = {tr.stations[r.station_id]: r for r in results}
        scores = self.strategy.score(tr.stations, [(tr.stations[r.station_id], r.state, r.samples) for r in results],
                                     spec, validation, tr.label_mask, prev_state, tr.round_id)
        if accuracy is None:  # fall back to the stations' own sample-weighted accuracy
            total = sum(r.samples for r in by_station.values()) or 1
            achieved = sum(int(round(r.local_accuracy * 10_000)) * r.samples for r in by_station.values()) // total
        else:
            achieved = int(round(accuracy * 10_000))
        # rewards only for included work: (station, includedRounds) from this round's manifests (hcfl/inclusion.py)
        from hcfl.inclusion import inclusion_record

        manifests = [self.manifest(tr.round_id, g) for g in range(tr.t)]
        return {"global_model_hash": final_hash, "achieved_acc_bps": max(0, min(10_000, achieved)),
                "scores": scores, "stations": list(tr.stations), **score_tree(tr.stations, scores),
                "validation_hash": self._publish_validation(tr.round_id, validation),
                **inclusion_record(tr.stations, manifests)}

    def _publish_validation(self, rid: int, validation) -> str:
        """The validation split the scores and the accuracy were computed on, published as safetensors
        (X, y) at GET /api/rounds/{rid}/validation; its keccak256 goes on chain with finalizeTraining."""
        if validation is None:
            return hex32(b"\0" * 32)
        data = encode_state({"X": validation.X, "y": validation.y})
        Store.write_file(self.store.round_dir(rid) / "validation.safetensors", data)
        return state_hash(data)

    def validation_split(self, rid: int) -> tuple[bytes, str]:
        self._known_round(rid)
        path = self.store.round_dir(rid) / "validation.safetensors"
        if not path.exists():
            raise ApiError(404, f"round {rid} has no published validation split (training not done)")
        tr = self.store.get_training(rid)
        if tr is not None and tr.result and tr.result.get("validation_hash"):
            return read_model(path, tr.result["validation_hash"]), tr.result["validation_hash"]
        data = path.read_bytes()
        return data, state_hash(data)

    # ------------------------------------------------------------ requests
    def _known_round(self, rid: int) -> None:
        if rid >= 0 and self.store.get_training(rid) is not None:  # training state exists: no chain read needed
            return
        if rid < 0 or rid >= self.gw.round_count():
            raise ApiError(404, f"unknown round {rid}")

    def _hold(self, wait: float, waiting: Callable[[], bool]) -> bool:
        """HTTP long-poll: while `waiting()` (asked again after every change: a global round opens or closes, an
        upload arrives), hold the request up to `wait` seconds (at most 30). True if it held at all."""
        deadline = time.monotonic() + max(0.0, min(float(wait), 30.0))
        seen = self._generation
        held = False
        while waiting() and time.monotonic() < deadline and not self._stop.is_set():
            held = True
            with self.changed:
                if self._generation == seen:
                    self.changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                seen = self._generation
        return held

    def task_wait(self, rid: int, station: str, wait: float = 0.0, samples: int | None = None) -> tuple[dict[str, Any], bool]:
        """`task`, held up to `wait` seconds while the answer is "wait" and the round's training is open (HTTP
        long-poll; before training opens the answer comes at once). Returns (answer, held)."""
        answer: dict[str, Any] = {}

        def waiting() -> bool:
            answer.clear()
            answer.update(self.task(rid, station, samples))
            tr = self.store.get_training(rid)
            return answer.get("status") == "wait" and tr is not None and tr.status == "training"

        held = self._hold(wait, waiting)
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
        spec, plan = self._require_spec(tr.omega)
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

    def global_model(self, rid: int, g: int, station: str, wait: float = 0.0) -> tuple[bytes, str]:
        """Global model g < t: only for the round's selected stations (`station`: the signed request's signer,
        backend.deps). `wait`: a model that does not exist yet but will (g < t, training open) is waited for up to
        this many seconds (HTTP long-poll: a station asks for the next global model while it asks for its next task,
        and gets both as soon as the global round closes)."""
        def coming() -> bool:  # not there yet, but this station will get it once the open global round closes
            tr = self.store.get_training(rid)
            return (self.store.get_global(rid, g) is None and tr is not None and tr.status == "training"
                    and station in tr.stations and tr.g < g < tr.t)

        self._hold(wait, coming)
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
        return read_model(row.path, row.hash), row.hash

    def upload(self, rid: int, g: int, station: str, samples: int, accuracy_bps: int, signature: str, body: bytes,
               edge_root: str | None = None, edge_root_signature: str | None = None) -> dict[str, Any]:
        self._known_round(rid)
        station = checksum(station, "X-HCFL-Station")
        update_hash = state_hash(body)
        require_signature(update_message(self.gw.chain_id, self.gw.address, rid, g, update_hash, samples, accuracy_bps),
                          signature, station, "signature does not recover to X-HCFL-Station for this upload")
        if self._phase(rid, self.UPLOAD_PHASE_AGE_S) != Phase.TRAINING:
            raise ApiError(409, f"round {rid} is not in Training")
        tr = self.store.get_training(rid)
        if tr is None or station not in tr.stations:  # tr.stations: the revealed stations, from the chain at open
            p = self.gw.participant(rid, station)
            if p is None or p.role != Role.STATION or not p.revealed:
                raise ApiError(403, f"{station} is not a revealed station of round {rid}")
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
        spec, _plan = self._require_spec(tr.omega)
        try:
            state = decode_state(body, spec, max_bytes=MAX_MODEL_BYTES)
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
            self._decoded[(rid, g, station)] = (update_hash, state)
            remember_verified(path, update_hash, body)
            n = len(self.store.uploads(rid, g))
        log.info("round %d: global round %d: upload %d/%d from %s (%d samples, %d bps)",
                 rid, g, n, len(tr.stations), station, samples, accuracy_bps)
        self._notify()
        # the upload that completes the global round closes it here, at once: the worker thread may be in the
        # middle of a chain read queued behind the embedded chain's transactions (it retries on failure)
        current = self.store.get_training(rid)
        if current is not None and current.status == "training" and current.g == g:
            try:
                self._maybe_close(current)
            except Exception:  # noqa: BLE001 - the upload stands; the worker's next tick closes the round
                log.exception("round %d: closing global round %d after the last upload failed", rid, g)
        self.wake.set()
        return {"accepted": True, "update_hash": update_hash, "global_round": g}

    def audit_artifact(self, rid: int, g: int, station: str | None, account: str) -> tuple[bytes, str]:
        """What `hcfl audit` recomputes the contribution scores from (docs/protocol.md, "Score audit"): the global model
        that global round g started from (station None) or a station's uploaded update of g, once training is done.
        The last round's updates rebuild the final model, so they go only to the round's revealed participants
        (owners and stations; `account`: the signed request's signer, backend.deps), as the final model does."""
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
            return read_model(row.path, row.hash), row.hash
        station = checksum(station, "station")
        up = next((u for u in self.store.uploads(rid, g) if u.station == station), None)
        if up is None:
            raise ApiError(404, f"{station} uploaded nothing for global round {g} of round {rid}")
        return read_model(up.path, up.update_hash), up.update_hash

    def final_model(self, rid: int, owner: str) -> tuple[bytes, str]:
        """The final model: only for the round's revealed (paying) owners (`owner`: the signed request's signer)."""
        p = self.gw.participant(rid, owner)
        if p is None or p.role != Role.OWNER or not p.revealed:
            raise ApiError(403, f"{owner} is not a revealed (paying) owner of round {rid}")
        tr = self.store.get_training(rid)
        if tr is None or tr.status != "done":
            raise ApiError(409, f"round {rid} has no final model yet")
        row = self._global_row(rid, tr.t)
        return read_model(row.path, row.hash), row.hash

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
            proposal = self.gw.record(rid).selected_proposal
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

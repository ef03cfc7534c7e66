"""Coordinator-side training integrity (issue 9) with two in-test stations over HTTP: a self-declared sample
count is clipped to the cap the station committed at task time, every closed global round publishes an
inclusion manifest whose Merkle root covers exactly the included updates, a station that missed a round is
not waited for, the task route long-polls; and outlier updates are clipped or left out with evidence."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
import torch
from coord_helpers import Station, make_round

from backend.manifest_audit import audit_manifests, check_round
from fl_worker.hfl import StationResult
from fl_worker.strategy import screen_updates
from hcfl.merkle import MerkleTree
from hcfl.protocol.leaves import MANIFEST_LEAF_TYPES

pytestmark = pytest.mark.slow


def _task(base: str, rid: int, station: Station, **params) -> httpx.Response:
    return httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": station.account.address, **params}, timeout=60)


def _upload(base: str, rid: int, st: Station, task: dict, live, declared: int | None = None) -> None:
    g = task["global_round"]
    body, h, samples, acc = st.train(base, task)
    headers = st.upload_headers(live.chain_id, live.contract, rid, g, h, declared or samples, acc)
    r = httpx.put(f"{base}/api/rounds/{rid}/updates/{g}", content=body, headers=headers, timeout=60)
    assert r.status_code == 200, r.text


def _wait_g(base: str, rid: int, g: int, timeout: float) -> float:
    t0 = time.monotonic()
    while httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json()["global_round"] < g:
        assert time.monotonic() - t0 < timeout, f"global round {g} did not open within {timeout}s"
        time.sleep(0.05)
    return time.monotonic() - t0


def test_caps_manifests_dead_stations_and_long_poll(live):
    base = live.base
    setup = make_round(base, live.client, live.funder, global_rounds=3)
    rid = setup.rid
    a, b = (Station(p, j, 2) for j, p in enumerate(setup.stations))
    tm = live.coord.training
    t0 = time.monotonic()
    while httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json()["status"] != "training":
        assert time.monotonic() - t0 < 30, "training did not open"
        time.sleep(0.1)

    # g = 0: a commits its true sample count at task time, then declares 2^62 in a validly signed upload
    task_a = _task(base, rid, a, samples=a.trainer.samples).json()
    assert task_a["status"] == "train"
    _upload(base, rid, a, task_a, live, declared=2**62)
    # a's next task request is held open (long-poll) until g = 0 closes, i.e. until b uploads
    held: dict = {}
    poller = threading.Thread(target=lambda: held.update(r=_task(base, rid, a, wait=30), t=time.monotonic()))
    poller.start()
    time.sleep(1.0)
    assert poller.is_alive()  # still held: a already uploaded for g = 0
    _upload(base, rid, b, _task(base, rid, b).json(), live)
    uploaded_b = time.monotonic()
    poller.join(30)
    assert held["r"].json()["status"] == "train" and held["r"].json()["global_round"] == 1
    assert held["r"].headers.get("X-HCFL-Long-Poll") == "1" and held["t"] - uploaded_b < 5

    m0 = httpx.get(f"{base}/api/rounds/{rid}/manifests/0", timeout=30).json()
    weights = {i["address"]: i["weight"] for i in m0["included"]}
    assert weights == {a.account.address: a.trainer.samples, b.account.address: b.trainer.samples}
    assert [e["action"] for e in m0["evidence"]] == ["weight-clipped"]
    assert m0["evidence"][0]["declared_samples"] == 2**62 and m0["evidence"][0]["cap"] == a.trainer.samples
    leaves = [(i["address"], bytes.fromhex(i["update_hash"][2:]), i["weight"]) for i in m0["included"]]
    assert m0["root"] == "0x" + MerkleTree.build(MANIFEST_LEAF_TYPES, leaves).root.hex()  # anyone can recompute it
    assert httpx.get(f"{base}/api/rounds/{rid}/manifests/1", timeout=30).status_code == 404

    # g = 1: b is gone; the round closes by the timeout with a's update only
    previous = tm.round_timeout
    tm.round_timeout = 1.0
    try:
        _upload(base, rid, a, held["r"].json(), live)
        _wait_g(base, rid, 2, 30)
    finally:
        tm.round_timeout = previous  # 60 s: g = 2 would wait this long for a live station
    m1 = httpx.get(f"{base}/api/rounds/{rid}/manifests/1", timeout=30).json()
    assert m1["absent"] == [b.account.address] and [i["address"] for i in m1["included"]] == [a.account.address]

    # g = 2: b missed g = 1, so g = 2 closes as soon as a (every live station) uploaded
    task = _task(base, rid, a).json()
    assert task["global_round"] == 2
    _upload(base, rid, a, task, live)
    t0 = time.monotonic()
    while httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json()["status"] != "done":
        assert time.monotonic() - t0 < 10, "the last round waited for the dead station"
        time.sleep(0.05)
    assert httpx.get(f"{base}/api/rounds/{rid}/manifests/2", timeout=30).json()["absent"] == [b.account.address]

    # the chain side: a reports its included updates; b reports g = 0 (included) and, like a killed daemon's
    # key used by hand, g = 1 which it never uploaded. The manifest audit names exactly that report.
    manifests = [httpx.get(f"{base}/api/rounds/{rid}/manifests/{g}", timeout=30).json() for g in range(3)]
    for g, m in enumerate(manifests):
        for item in m["included"]:
            st = a if item["address"] == a.account.address else b
            st.p.report_training(rid, g, bytes.fromhex(item["update_hash"][2:]), item["weight"], 5000)
    b.p.report_training(rid, 1, b"\x42" * 32, 500, 9000)
    findings = audit_manifests(live.client, base)
    mine = [f for f in findings if f.round_id == rid]
    assert [(f.global_round, f.station, f.problem) for f in mine] == [
        (1, b.account.address, "reported on chain but its update is not in the aggregate")]


def test_manifest_recomputation_catches_tampering():
    leaf = {"address": "0x" + "11" * 20, "update_hash": "0x" + "aa" * 32, "weight": 10}
    other = {"address": "0x" + "22" * 20, "update_hash": "0x" + "bb" * 32, "weight": 20}
    values = [(x["address"], bytes.fromhex(x["update_hash"][2:]), x["weight"]) for x in (leaf, other)]
    root = "0x" + MerkleTree.build(MANIFEST_LEAF_TYPES, values).root.hex()
    good = {"root": root, "included": [leaf, other]}
    reports = {(leaf["address"], 0): leaf["update_hash"], (other["address"], 0): other["update_hash"]}
    assert check_round([good], reports, 0) == []
    inflated = {"root": root, "included": [{**leaf, "weight": 10**9}, other]}
    assert "is not the root" in check_round([inflated], reports, 0)[0].problem
    swapped = {**reports, (leaf["address"], 0): "0x" + "cc" * 32}
    assert "differs from the reported" in check_round([good], swapped, 0)[0].problem
    dropped = {"root": "0x" + MerkleTree.build(MANIFEST_LEAF_TYPES, values[1:]).root.hex(), "included": [other]}
    assert [f.problem for f in check_round([dropped], reports, 0)] == [
        "reported on chain but its update is not in the aggregate"]


def _result(i: int, state: dict[str, torch.Tensor], samples: int = 100) -> StationResult:
    return StationResult(i, 0, state, samples, 0.5)


def test_outlier_updates_are_clipped_or_left_out_with_evidence():
    torch.manual_seed(0)
    prev = {"w": torch.zeros(50), "b": torch.zeros(3)}
    base_dir = torch.randn(53)

    def update(scale: float, noise: float = 0.1) -> dict[str, torch.Tensor]:
        flat = base_dir * scale + noise * torch.randn(53)
        return {"w": flat[:50].clone(), "b": flat[50:].clone()}

    honest = [_result(i, update(1.0)) for i in range(3)]
    huge = _result(3, update(1000.0))
    opposite = _result(4, update(-1.0))
    kept, evidence = screen_updates([*honest, huge, opposite], prev, norm_factor=5.0, min_cosine=-0.5)
    assert [r.station_id for r in kept] == [0, 1, 2, 3]
    actions = {e["station_id"]: e["action"] for e in evidence}
    assert actions == {3: "norm-clipped", 4: "left-out"}
    clipped = torch.cat([kept[3].state["w"], kept[3].state["b"]])
    bound = next(e["bound"] for e in evidence if e["station_id"] == 3)
    assert abs(float(clipped.norm()) - bound) < 1e-3
    # honest updates pass untouched; fewer than three updates are never screened
    assert all(torch.equal(k.state["w"], h.state["w"]) for k, h in zip(kept[:3], honest))
    assert screen_updates([honest[0], huge], prev, 5.0, -0.5) == ([honest[0], huge], [])

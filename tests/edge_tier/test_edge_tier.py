"""The edge tier with real processes on loopback: `hcfl edge-client` processes (and a misbehaving plain
Flower client process) in a station's cell (EdgeCell: Flower gRPC server + HTTP endpoint)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from fl_worker.edge.cell import NoEdgeClients
from fl_worker.edge.protocol import EdgeLeaf, InclusionProof, build_tree, make_proof

from .conftest import SPEC, edge_client, initial_state, run_round, wait_for, write_digits, write_key

HERE = Path(__file__).resolve().parent


def _cli_error(spawn, tmp: Path, cell, name: str, data: Path) -> str:
    p = edge_client(spawn, tmp, cell, name, data)
    assert p.proc.wait(90) == 2, p.log
    assert "Traceback" not in p.log
    return p.log


def test_bad_data_gives_clear_errors(tmp_path: Path, cell_factory, spawn) -> None:
    cell = cell_factory()
    cell.announce(31337, "0x" + "ab" * 20, 7, SPEC, 0x3FF)
    assert "data folder" in _cli_error(spawn, tmp_path, cell, "missing", tmp_path / "nope") and "does not exist" in \
        (tmp_path / "missing.log").read_text()
    (tmp_path / "shape").mkdir()
    np.savez(tmp_path / "shape" / "d.npz", X=np.zeros((10, 5, 5), np.float32), y=np.zeros(10, np.int64))
    assert "model takes inputs of shape (1, 8, 8)" in _cli_error(spawn, tmp_path, cell, "shape", tmp_path / "shape")
    (tmp_path / "labels").mkdir()
    np.savez(tmp_path / "labels" / "d.npz", X=np.zeros((10, 64), np.float32), y=np.arange(10) + 5)
    assert "labels [10, 11, 12, 13, 14] are outside the model's classes 0..9" in \
        _cli_error(spawn, tmp_path, cell, "labels", tmp_path / "labels")
    (tmp_path / "mismatch").mkdir()
    np.savez(tmp_path / "mismatch" / "d.npz", X=np.zeros((10, 64), np.float32), y=np.zeros(9, np.int64))
    assert "y must have shape (10,)" in _cli_error(spawn, tmp_path, cell, "mismatch", tmp_path / "mismatch")
    (tmp_path / "empty").mkdir()
    assert "no .npz file" in _cli_error(spawn, tmp_path, cell, "empty", tmp_path / "empty")


def test_rounds_over_flower_with_a_client_dying_mid_round(tmp_path: Path, cell_factory, spawn) -> None:
    cell = cell_factory(min_clients=2, timeout=30)
    a = edge_client(spawn, tmp_path, cell, "a", write_digits(tmp_path / "da", 0, 3))
    b = edge_client(spawn, tmp_path, cell, "b", write_digits(tmp_path / "db", 1, 3))
    slow = edge_client(spawn, tmp_path, cell, "slow", write_digits(tmp_path / "dc", 2, 3), "--train-delay", "3",
                       "--nice", "0")
    run_round_info = cell.info(0)
    cell.announce(31337, "0x" + "ab" * 20, 7, SPEC, 0x3FF)
    assert run_round_info["spec"] is None
    wait_for(lambda: cell.clients.num_available() == 3, 90, "3 edge clients", lambda: a.log + slow.log)
    # training is background work on the device: nice 10 unless --nice says otherwise (field 19 of /proc/PID/stat)
    niceness = {p.address: int(Path(f"/proc/{p.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
                for p in (a, b, slow)}
    base = os.nice(0)
    assert niceness == {a.address: min(19, base + 10), b.address: min(19, base + 10), slow.address: base}, niceness
    r0 = run_round(cell, 0, initial_state(), edge_rounds=2)
    addresses = sorted([a.address, b.address, slow.address], key=str.lower)
    assert [leaf.address for leaf in r0.leaves] == addresses and r0.absent == [] and r0.rejected == []
    assert r0.samples == sum(leaf.samples for leaf in r0.leaves) == 1347
    assert r0.bytes_down > 0 and r0.bytes_up > 0

    def verified(name: str) -> list[int]:
        path = tmp_path / f"{name}.json"
        rounds = json.loads(path.read_text())["rounds"] if path.exists() else []
        return [r["global_round"] for r in rounds if r["verified"]]

    wait_for(lambda: verified("slow") == [0], 30, "the slow client's proof of g=0", lambda: slow.log)
    # g = 1: the slow client is killed while it trains; the round completes without it
    import threading

    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("r", run_round(cell, 1, r0.state)))
    t.start()
    wait_for(lambda: slow.log.count("Received: train message") >= 3, 60, "the slow client training g=1",
             lambda: slow.log)
    slow.proc.kill()
    t.join(60)
    r1 = out["r"]
    assert [leaf.address for leaf in r1.leaves] == sorted([a.address, b.address], key=str.lower)
    assert r1.absent == [slow.address]
    r2 = run_round(cell, 2, r1.state)
    assert slow.address in r2.absent and len(r2.leaves) == 2

    # every live client verifies its proofs of g = 0..2; the killed one verified g = 0 only
    for name, p in (("a", a), ("b", b)):
        wait_for(lambda name=name: verified(name) == [0, 1, 2], 30, "3 verified proofs", lambda p=p: p.log)
        assert "inclusion proof verified" in p.log
    assert verified("slow") == [0]
    proof = httpx.get(f"http://{cell.http_address}/edge/proofs/7/1/{slow.address}")
    assert proof.status_code == 404 and "not included" in proof.json()["detail"]
    manifest = httpx.get(f"http://{cell.http_address}/edge/manifest/7/1").json()
    assert manifest["absent"] == [slow.address] and manifest["root"] == r1.root


@pytest.mark.parametrize("mode", ["nan", "shape", "signature"])
def test_bad_updates_are_rejected_and_the_round_completes(mode: str, tmp_path: Path, cell_factory, spawn) -> None:
    cell = cell_factory(min_clients=1, timeout=30)  # one acceptable update completes an edge round
    cell.announce(31337, "0x" + "ab" * 20, 7, SPEC, 0x3FF)
    good = edge_client(spawn, tmp_path, cell, "good", write_digits(tmp_path / "dg", 0))
    key, bad_account = write_key(tmp_path, "bad")
    bad = spawn([sys.executable, str(HERE / "bad_client.py"), mode, cell.flower_address, str(key)], "bad")
    wait_for(lambda: cell.clients.num_available() == 2, 90, "2 clients", lambda: good.log + bad.log)
    r = run_round(cell, 0, initial_state())
    assert [leaf.address for leaf in r.leaves] == [good.address]
    assert [x.address for x in r.rejected] == [bad_account.address]
    reason = r.rejected[0].reason
    assert {"nan": "NaN", "shape": "shape", "signature": "signature does not recover"}[mode] in reason
    assert r.samples == r.leaves[0].samples


def test_no_reachable_edge_clients_is_a_clear_error_after_the_timeout(cell_factory) -> None:
    cell = cell_factory(min_clients=1, timeout=2)
    t0 = time.monotonic()
    with pytest.raises(NoEdgeClients, match=r"only 0 edge client\(s\) connected .* within 2s, 1 needed"):
        run_round(cell, 0, initial_state())
    assert 1.5 <= time.monotonic() - t0 < 10


def test_merkle_proofs_verify_and_tampering_fails() -> None:
    leaves = [EdgeLeaf(address="0x" + f"{i:040x}", update_hash="0x" + f"{i:064x}", samples=10 * i + 1) for i in range(5)]
    tree = build_tree(leaves)
    root = "0x" + tree.root.hex()
    for leaf in leaves:
        found = make_proof(tree, leaves, leaf.address)
        assert found is not None
        got, proof = found
        p = InclusionProof(station="0x" + "11" * 20, round_id=1, global_round=0, root=root, samples=1, root_signature="",
                           leaf=got, proof=proof)
        assert p.verifies()
        for tampered in (got.model_copy(update={"samples": got.samples + 1}),
                         got.model_copy(update={"update_hash": "0x" + "ee" * 32}),
                         got.model_copy(update={"address": "0x" + "22" * 20})):
            assert not InclusionProof(**{**p.model_dump(), "leaf": tampered.model_dump()}).verifies()
    # an omitted client has no proof, and none borrowed from a tree that includes it leads to this root
    omitted = EdgeLeaf(address="0x" + "99" * 20, update_hash="0x" + "99" * 32, samples=5)
    assert make_proof(tree, leaves, omitted.address) is None
    bigger = build_tree([*leaves, omitted])
    _, foreign = make_proof(bigger, [*leaves, omitted], omitted.address)
    assert InclusionProof(station="0x" + "11" * 20, round_id=1, global_round=0, root="0x" + bigger.root.hex(), samples=1,
                          root_signature="", leaf=omitted, proof=foreign).verifies()
    assert not InclusionProof(station="0x" + "11" * 20, round_id=1, global_round=0, root=root, samples=1,
                              root_signature="", leaf=omitted, proof=foreign).verifies()
    with pytest.raises(ValueError):
        build_tree([leaves[0], leaves[0]])


def test_simulation_mode_is_deterministic_under_a_seed(digits) -> None:
    from fl_worker.daemon import TrainingPlan, station_clients
    from fl_worker.hfl import StationConfig, StationTrainer
    from fl_worker.local import TrainConfig

    plan = TrainingPlan(seed=5, simulation={"clients_per_station": 2, "partition": "dirichlet", "alpha": 0.5})
    legacy = TrainingPlan.model_validate({"seed": 5, "clients_per_station": 2, "partition": "dirichlet", "alpha": 0.5})
    assert legacy == plan

    def one() -> str:
        clients = station_clients(digits.train, plan, 1, 3, 0x3FF)
        trainer = StationTrainer(SPEC, clients, StationConfig(edge_rounds=2, train=TrainConfig(local_epochs=1), seed=5),
                                 station_id=1)
        return trainer.train_global_round(initial_state(), 0).report().update_hash

    assert one() == one()
    other = TrainingPlan(seed=6, simulation=plan.simulation)
    assert station_clients(digits.train, other, 1, 3, 0x3FF)[0].y.tolist() != \
        station_clients(digits.train, plan, 1, 3, 0x3FF)[0].y.tolist()

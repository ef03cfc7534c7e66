"""Faults, with real processes (`hcfl serve` + anvil): the node dies, the chain is reset under the same contract
address, a second coordinator starts on the same contract (shared and separate databases), the database and the
model files are damaged. Every fault is a JSON answer naming what is down (503) or a clear refusal at start-up,
never a plain-text 500, a silent stall or megabytes of tracebacks."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from coord_helpers import ROOT, Station, free_port, get_global, kill, make_round, start_coordinator

from hcfl.chain.provider import anvil_key, spawn_anvil
from hcfl.chain.v2.client import CoreClient

pytestmark = [pytest.mark.anvil]


def _args(chain, client, tmp: Path, db: str = "coord.sqlite", *extra: str) -> list[str]:
    key = tmp / "gas-payer.key"
    key.write_text("0x" + bytes(anvil_key(1).key).hex())  # not key 0: the tests fund participants with it
    return ["--chain", chain.rpc_url, "--contract", client.address, "--db", str(tmp / db),
            "--data-dir", str(tmp / (db + "-models")), "--poll", "0.25", "--key-file", str(key), *extra]


def _refused(args: list[str], log: Path, timeout: float = 90) -> str:
    """Run `hcfl serve` expecting a refusal at start-up: exit status 2 and one clear line in its log."""
    cmd = [sys.executable, "-m", "hcfl.cli", "serve", "--port", str(free_port()), *args]
    env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    with open(log, "wb") as out:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout).returncode
    text = log.read_text(errors="replace")
    assert rc == 2, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    return text


@pytest.fixture()
def anvil():
    chain = spawn_anvil()
    yield chain
    chain.close()


def test_node_down_is_503_json_and_tracebacks_are_rate_limited(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    log = tmp_path / "coord.log"
    proc, base = start_coordinator(_args(anvil, client, tmp_path), log)
    try:
        assert httpx.get(f"{base}/api/health").status_code == 200
        assert httpx.get(f"{base}/api/rounds").json() == []
        anvil.close()  # the node dies
        died = time.monotonic()
        time.sleep(0.5)

        def burst() -> None:
            for _ in range(20):
                for path in ("/api/health", "/api/rounds", "/api/rounds/0", "/api/funds", "/api/audit",
                             "/api/rounds/0/events"):
                    r = httpx.get(f"{base}{path}", timeout=30)
                    assert r.status_code == 503, (path, r.status_code, r.text)
                    assert "node" in r.json()["down"], (path, r.text)

        burst()
        health = httpx.get(f"{base}/api/health").json()
        assert health["ok"] is False and "does not answer" in health["down"]["node"]
        r = httpx.post(f"{base}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
        assert r.status_code == 200 and "unreachable" in r.json()["error"]["message"]
        time.sleep(1)
        size0, t0 = log.stat().st_size, time.monotonic()
        time.sleep(3)  # the deadline driver, the training worker and the watchdog keep failing meanwhile
        burst()
        elapsed = time.monotonic() - t0
        text = log.read_text(errors="replace")[size0:]
        # each failing source (requests, deadline driver, training worker, watchdog) logs one traceback a minute
        # (they did in the first burst); in between one line every few seconds
        records_with_traceback = len(re.findall(r"^\d{4}-\d\d-\d\d [^\n]*\nTraceback", text, re.M))
        assert records_with_traceback <= 4 * int((time.monotonic() - died) // 60), text[-4000:]
        access = len(re.findall(r"uvicorn.access", text))
        assert len(text) - 200 * access < 2_000 * elapsed, text[-4000:]  # besides access lines: < 2 KB/s
    finally:
        kill(proc, signal.SIGTERM)


def test_reset_chain_is_refused(tmp_path):
    chain = spawn_anvil()
    client = CoreClient.deploy(chain)
    args = _args(chain, client, tmp_path)
    proc, base = start_coordinator(args, tmp_path / "coord-1.log")
    port = int(chain.rpc_url.rsplit(":", 1)[1])
    try:
        chain.close()  # the dev chain restarts empty on the same port, and the contract is deployed again:
        time.sleep(1.0)  # same address, new deployment
        chain = spawn_anvil(port)
        again = CoreClient.deploy(chain)
        assert again.address == client.address
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the running coordinator notices within its watchdog period
            r = httpx.get(f"{base}/api/health", timeout=10)
            if r.status_code == 503 and "deployment" in r.json()["down"]:
                break
            time.sleep(0.3)
        assert "chain was reset" in r.json()["down"]["deployment"], r.text
        r = httpx.get(f"{base}/api/rounds", timeout=10)
        assert r.status_code == 503 and "refuses" in r.json()["detail"]
    finally:
        kill(proc, signal.SIGTERM)
    try:
        text = _refused(args, tmp_path / "coord-2.log")  # and a restart on the old database is refused
        assert "the chain was reset or the contract redeployed" in text
    finally:
        chain.close()


def test_second_coordinator_shared_database_is_refused(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    args = _args(anvil, client, tmp_path, "coord.sqlite", "--lease-ttl", "2", "--beacon-interval", "0")
    proc, base = start_coordinator(args, tmp_path / "coord-1.log")
    try:
        text = _refused(args, tmp_path / "coord-2.log")
        assert "holds the lease" in text and "refusing to drive the same contract twice" in text
        assert httpx.get(f"{base}/api/health").json()["ok"] is True  # the first one keeps driving
    finally:
        kill(proc)  # killed: its lease expires after the TTL and a restart takes over
    proc, base = start_coordinator(args, tmp_path / "coord-3.log")
    kill(proc, signal.SIGTERM)


def test_second_coordinator_separate_database_is_refused(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    proc, base = start_coordinator(_args(anvil, client, tmp_path, "a.sqlite", "--beacon-interval", "1"),
                                   tmp_path / "coord-a.log")
    try:
        text = _refused(_args(anvil, client, tmp_path, "b.sqlite", "--beacon-interval", "1"), tmp_path / "coord-b.log")
        assert "keeps sending beacons" in text and "refusing to drive it twice" in text
        assert httpx.get(f"{base}/api/health").json()["ok"] is True
    finally:
        kill(proc, signal.SIGTERM)


def test_corrupt_database_fails_health_and_start_up(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    args = _args(anvil, client, tmp_path)
    proc, base = start_coordinator(args, tmp_path / "coord-1.log")
    db = tmp_path / "coord.sqlite"
    try:
        r = httpx.post(f"{base}/api/specs", json={"spec": {"arch": "mlp", "input_shape": [1, 8, 8], "hidden": [8]},
                                                  "training": {"dataset": "digits"}})
        assert r.status_code == 201, r.text
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        con.close()
        assert db.stat().st_size >= 3 * 4096
        with open(db, "r+b") as fh:  # a malformed page: garbage over page 2 (a table's root page)
            fh.seek(4096)
            fh.write(b"\xa5" * 4096)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = httpx.get(f"{base}/api/health", timeout=10)
            if r.status_code == 503:
                break
            time.sleep(0.5)
        assert r.status_code == 503 and "database" in r.json()["down"], r.text
    finally:
        kill(proc, signal.SIGTERM)
    text = _refused(args, tmp_path / "coord-2.log")
    assert "is corrupt" in text or "cannot be opened" in text


def test_deleted_wal_fails_health(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    proc, base = start_coordinator(_args(anvil, client, tmp_path), tmp_path / "coord.log")
    try:
        assert httpx.get(f"{base}/api/health").status_code == 200
        (tmp_path / "coord.sqlite-wal").unlink()
        r = httpx.get(f"{base}/api/health", timeout=10)
        assert r.status_code == 503 and "write-ahead log" in r.json()["down"]["database"], r.text
    finally:
        kill(proc, signal.SIGTERM)


@pytest.mark.slow
def test_deleted_wal_loses_no_training_state(anvil, tmp_path):
    """Training state is checkpointed into the main file: a deleted WAL, then a kill -9 and a restart, resume the
    round where it was."""
    client = CoreClient.deploy(anvil)
    args = _args(anvil, client, tmp_path)
    proc, base = start_coordinator(args, tmp_path / "coord-1.log")
    try:
        setup = make_round(base, client, anvil.funder, global_rounds=2, skip_time=lambda s: anvil.increase_time(s + 1))
        deadline = time.monotonic() + 60
        while (before := httpx.get(f"{base}/api/rounds/{setup.rid}/training").json()).get("status") != "training":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        station = Station(setup.stations[0], 0, 2)
        assert station.step(base, setup.rid, int(anvil.w3.eth.chain_id), client.address) == "train"  # uploads g = 0
        (tmp_path / "coord.sqlite-wal").unlink()
        r = httpx.get(f"{base}/api/health")
        assert r.status_code == 503 and "write-ahead log" in r.json()["down"]["database"], r.text
    finally:
        kill(proc)
    proc, base = start_coordinator(args, tmp_path / "coord-2.log")
    try:
        after = httpx.get(f"{base}/api/rounds/{setup.rid}/training").json()
        assert after["status"] == "training" and after["initial_model_hash"] == before["initial_model_hash"], after
        assert after["uploaded"] == [station.account.address], after  # the upload row survived the lost WAL
        assert httpx.get(f"{base}/api/health").json()["ok"] is True
    finally:
        kill(proc, signal.SIGTERM)


@pytest.mark.slow
def test_damaged_model_files_fail_health_and_downloads(anvil, tmp_path):
    client = CoreClient.deploy(anvil)
    proc, base = start_coordinator(_args(anvil, client, tmp_path), tmp_path / "coord.log")
    try:
        setup = make_round(base, client, anvil.funder, global_rounds=2, skip_time=lambda s: anvil.increase_time(s + 1))
        rid, station = setup.rid, setup.stations[0].account
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/api/rounds/{rid}/training").json().get("status") != "training":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert get_global(base, rid, 0, station).status_code == 200
        model = next((tmp_path / "coord.sqlite-models").rglob("global-0.safetensors"))
        data = bytearray(model.read_bytes())
        data[-1] ^= 0x01  # one flipped bit
        model.write_bytes(bytes(data))
        r = get_global(base, rid, 0, station)
        assert r.status_code == 503 and r.json()["down"] == ["model store"] and "corrupt" in r.json()["detail"], r.text
        health = httpx.get(f"{base}/api/health")
        assert health.status_code == 503 and "corrupt" in health.json()["down"]["model store"]
        import shutil

        shutil.rmtree(tmp_path / "coord.sqlite-models")  # the whole model folder
        health = httpx.get(f"{base}/api/health")
        assert health.status_code == 503 and "missing" in health.json()["down"]["model store"], health.text
        r = get_global(base, rid, 0, station)
        assert r.status_code == 503 and r.json()["down"] == ["model store"], r.text
    finally:
        kill(proc, signal.SIGTERM)

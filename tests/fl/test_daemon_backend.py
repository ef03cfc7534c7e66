"""Two `hcfl aggregator` daemons against the real coordinator (`hcfl serve`), both subprocesses, on a
spawned anvil: the coordinator opens training from the posted spec, the daemons train every global round,
and the coordinator publishes a result; the daemons' TrainingReported events are on the chain."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.health import wait_until_serving
from fl_worker.plan import omega
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import Chain, spawn_anvil
from hcfl.chain.v2.client import CoreClient as HCFLClient

from .daemon_driver import setup_training_round
from .test_daemon import MASK, PLAN, SPEC, Daemon, free_port

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anvil() -> Iterator[Chain]:
    chain = spawn_anvil()
    try:
        yield chain
    finally:
        chain.close()


def test_two_daemons_against_the_coordinator(anvil: Chain, tmp_path: Path) -> None:
    try:
        import backend.app  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("the coordinator (backend/app.py) is not built yet")
    t = 2
    client = HCFLClient.deploy(anvil)
    accounts = funded_accounts(anvil, ["c-owner-1", "c-owner-2", "c-station-1", "c-station-2"], 10**20,
                               namespace="hcfl-daemon-backend-test")
    parts = [client.as_participant(a) for a in accounts]
    owners, stations = parts[:2], parts[2:]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "coordinator.log"
    cmd = [sys.executable, "-m", "hcfl.cli", "serve", "--chain", str(anvil.rpc_url), "--contract", client.address,
           "--port", str(port), "--db", str(tmp_path / "coord.sqlite"), "--data-dir", str(tmp_path / "models"),
           "--poll", "0.5", "--round-timeout", "600"]  # only a missing station waits for it
    with open(log, "ab") as out:
        coord = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "OMP_NUM_THREADS": "1"})
    daemons: list[Daemon] = []
    try:
        wait_until_serving(base, proc=coord, log_path=log)
        r = httpx.post(f"{base}/api/specs", json={"spec": SPEC.model_dump(mode="json"),
                                                  "training": PLAN.model_dump(mode="json")}, timeout=30)
        assert r.status_code == 201, r.text
        rid = setup_training_round(anvil, client, owners, stations, SPEC, PLAN, t, MASK)
        assert r.json()["omega"] == omega(SPEC, PLAN)
        daemons = [Daemon(tmp_path, st, base, rid) for st in stations]
        for d in daemons:
            assert d.wait(180) == 0, d.log + "\n--- coordinator ---\n" + log.read_text(errors="replace")
        reports = [e.args for e in client.events(round_id=rid) if e.name == "TrainingReported"]
        assert sorted((r["station"], r["globalRound"]) for r in reports) == sorted(
            (st.address, g) for st in stations for g in range(t))
        deadline = time.monotonic() + 60
        while (view := httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json())["result"] is None:
            assert time.monotonic() < deadline, view
            time.sleep(0.3)
        assert view["status"] == "done" and len(view["history"]) == t
        by_g = {h["global_round"]: {s["address"]: s["update_hash"] for s in h["stations"]} for h in view["history"]}
        for r in reports:  # what the chain holds is what the coordinator received
            assert by_g[r["globalRound"]][r["station"]] == "0x" + bytes(r["updateHash"]).hex()
        assert len(view["result"]["scores"]) == len(stations)
    finally:
        for d in daemons:
            d.close()
        if coord.poll() is None:
            coord.terminate()
            try:
                coord.wait(timeout=20)
            except subprocess.TimeoutExpired:
                coord.kill()
                coord.wait()

"""Kill -9 the coordinator mid-training and start it again with the same --db, --data-dir, anvil URL
and --contract: the round resumes at its stored global round (with the upload already received for it)
and completes."""
from __future__ import annotations

import time

import httpx
import pytest
from coord_helpers import Station, get_global, kill, make_round, start_coordinator, wait_phase

from hcfl.chain.provider import anvil_key, spawn_anvil
from hcfl.chain.v2.client import CoreClient

pytestmark = [pytest.mark.slow, pytest.mark.anvil]


def _training(base: str, rid: int) -> dict:
    return httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json()


def _wait(pred, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError("condition not reached")


def test_restart_resumes_training(tmp_path):
    chain = spawn_anvil()
    procs = []
    try:
        client = CoreClient.deploy(chain)  # deployed by anvil key 0, which also funds the participants
        key_file = tmp_path / "gas-payer.key"
        key_file.write_text("0x" + bytes(anvil_key(1).key).hex())  # the coordinator's own gas payer
        args = ["--chain", chain.rpc_url, "--contract", client.address, "--db", str(tmp_path / "coord.sqlite"),
                "--data-dir", str(tmp_path / "models"), "--poll", "0.25", "--round-timeout", "120",
                "--key-file", str(key_file)]
        proc, base = start_coordinator(args, tmp_path / "coord-1.log")
        procs.append(proc)
        assert httpx.get(f"{base}/api/health").json()["contract"] == client.address

        setup = make_round(base, client, chain.funder, global_rounds=2, skip_time=lambda s: chain.increase_time(s + 1))
        rid = setup.rid
        cid = int(chain.w3.eth.chain_id)
        a, b = (Station(p, j, 2) for j, p in enumerate(setup.stations))
        _wait(lambda: _training(base, rid)["status"] == "training")
        assert a.step(base, rid, cid, client.address) == "train"
        assert b.step(base, rid, cid, client.address) == "train"
        _wait(lambda: _training(base, rid)["global_round"] == 1)
        assert a.step(base, rid, cid, client.address) == "train"  # station a uploads for g = 1 ...
        before = _training(base, rid)
        assert before["uploaded"] == [a.account.address] and len(before["history"]) == 1

        kill(proc)  # ... and the coordinator dies (SIGKILL: no clean shutdown)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{base}/api/health", timeout=2)

        proc, base = start_coordinator(args, tmp_path / "coord-2.log")
        procs.append(proc)
        after = _training(base, rid)
        assert after["status"] == "training" and after["global_round"] == 1
        assert after["history"] == before["history"] and after["uploaded"] == [a.account.address]
        assert after["pending"] == before["pending"] and after["pending"][0]["address"] == a.account.address
        assert after["initial_model_hash"] == before["initial_model_hash"]
        assert a.step(base, rid, cid, client.address) == "wait"  # its upload for g = 1 survived
        g1 = get_global(base, rid, 1, a.account)
        assert g1.headers["X-HCFL-Model-Hash"] == before["history"][0]["global_model_hash"]
        assert b.step(base, rid, cid, client.address) == "train"
        done = _wait(lambda: (v := _training(base, rid))["status"] == "done" and v)
        assert [h["global_round"] for h in done["history"]] == [0, 1] and done["result"]["scores"]
        assert a.step(base, rid, cid, client.address) == "done"

        r = done["result"]
        setup.owners[0].finalize_training(rid, bytes.fromhex(r["global_model_hash"][2:]), r["achieved_acc_bps"],
                                          bytes.fromhex(r["scores_root"][2:]), r["scores_total"],
                                          bytes.fromhex(r["validation_hash"][2:]))
        wait_phase(base, rid, "VoteCommitting")
        chain.increase_time(6)
        wait_phase(base, rid, "VoteRevealing")  # the restarted driver keeps closing phases
        log = (tmp_path / "coord-2.log").read_text()
        assert "resuming training at global round 1/2" in log
    finally:
        for p in procs:
            kill(p)
        chain.close()

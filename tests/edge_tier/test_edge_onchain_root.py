"""`hcfl edge-client --rpc` verifies its inclusion proof against the clientsRoot its station reported ON CHAIN
(HCFLCore's TrainingReported), not against the root the station serves: real edge-client processes, a station
cell in the test process, a spawned anvil with a round in Training whose revealed station is the cell's key.

g = 0: honest, both devices verify. g = 1: the station reports on chain a root that omits device b (while
serving proofs of the full tree): neither proof leads to the on-chain root. g = 2: honest root on chain, but
the station's proofs come from a tree with a tampered leaf of device a (samples + 1): a's proof fails, and so does
b's, whose path runs through a's tampered leaf."""
from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fl.daemon_driver import setup_training_round

from fl_worker.edge.protocol import build_tree
from fl_worker.plan import TrainingPlan
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import spawn_anvil
from hcfl.chain.v2.client import CoreClient

from .conftest import SPEC, initial_state, wait_for, write_digits, write_key

pytestmark = pytest.mark.anvil
T = 3
PLAN = TrainingPlan(dataset="digits")  # the round's ω binds a plan; this test trains no plan of the coordinator's


@pytest.fixture(scope="module")
def chain_round() -> Iterator[tuple]:
    chain = spawn_anvil()
    try:
        core = CoreClient.deploy(chain)
        accounts = funded_accounts(chain, ["e-owner", "e-station"], 10**20, namespace="hcfl-edge-onchain-test")
        owner, station = (core.as_participant(a) for a in accounts)
        rid = setup_training_round(chain, core, [owner], [station], SPEC, PLAN, T, 0x3FF)
        yield chain, core, station, accounts[1], rid
    finally:
        chain.close()


def test_edge_client_verifies_against_the_on_chain_clients_root(tmp_path: Path, chain_round, spawn) -> None:
    from fl_worker.edge.cell import CellConfig, EdgeCell

    chain, core, station, station_account, rid = chain_round
    cell = EdgeCell(station_account, CellConfig(min_clients=2, round_timeout=30))
    cell.start()
    try:
        procs = {}
        for i, name in enumerate(("a", "b")):
            key, account = write_key(tmp_path, name)
            procs[name] = spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "--station",
                                 f"http://{cell.http_address}", "--key", str(key), "--data",
                                 str(write_digits(tmp_path / f"d{name}", i, 2, limit=200)), "--report",
                                 str(tmp_path / f"{name}.json"), "--rpc", chain.rpc_url, "--contract", core.address],
                                name, account.address)
        cell.announce(core.chain_id, core.address, rid, SPEC, 0x3FF)
        wait_for(lambda: cell.clients.num_available() == 2, 90, "2 edge clients",
                 lambda: procs["a"].log + procs["b"].log)

        def rounds(name: str) -> dict[int, dict]:
            path = tmp_path / f"{name}.json"
            return {r["global_round"]: r for r in (json.loads(path.read_text())["rounds"] if path.exists() else [])}

        def final(name: str, g: int) -> bool:
            return rounds(name).get(g, {}).get("included") is not None

        def run(g: int, state):
            return cell.train_global_round(chain_id=core.chain_id, contract=core.address, round_id=rid, g=g, spec=SPEC,
                                           label_mask=0x3FF, global_state=state, edge_rounds=1, local_epochs=1,
                                           batch_size=32, lr=0.1, seed=3)

        def report(g: int, result, root: str) -> None:
            station.report_training(rid, g, b"\x10" * 31 + bytes([g]), result.samples, 5000, bytes.fromhex(root[2:]))

        a, b = procs["a"].address, procs["b"].address
        # g = 0: honest
        r0 = run(0, initial_state())
        assert sorted(leaf.address for leaf in r0.leaves) == sorted([a, b])
        report(0, r0, r0.root)
        for n in ("a", "b"):
            wait_for(lambda n=n: final(n, 0), 60, f"{n}'s verdict on g=0", lambda n=n: procs[n].log)
            assert rounds(n)[0]["verified"] and rounds(n)[0]["on_chain"] and rounds(n)[0]["root"] == r0.root
        # g = 1: on chain, a root that omits b; the station still serves proofs of its full tree
        r1 = run(1, r0.state)
        omitted = "0x" + build_tree([leaf for leaf in r1.leaves if leaf.address != b]).root.hex()
        assert omitted != r1.root
        report(1, r1, omitted)
        for n in ("a", "b"):
            wait_for(lambda n=n: final(n, 1), 60, f"{n}'s verdict on g=1", lambda n=n: procs[n].log)
            got = rounds(n)[1]
            assert got["verified"] is False and got["included"] is False and got["root"] == omitted
            assert "on-chain clientsRoot" in got["detail"]
        assert "does NOT verify against the on-chain clientsRoot" in procs["b"].log
        # g = 2: honest root on chain, but a's served leaf is tampered before the station reports
        r2 = run(2, r1.state)
        tampered = [leaf.model_copy(update={"samples": leaf.samples + 1}) if leaf.address == a else leaf
                    for leaf in r2.leaves]
        with cell._cond:
            cell._rounds[(rid, 2)] = dataclasses.replace(r2, leaves=tampered)
        report(2, r2, r2.root)
        for n in ("a", "b"):
            wait_for(lambda n=n: final(n, 2), 60, f"{n}'s verdict on g=2", lambda n=n: procs[n].log)
        got = rounds("a")[2]
        assert got["verified"] is False and got["samples"] == r2.leaves[[x.address for x in r2.leaves].index(a)].samples + 1
        assert rounds("b")[2]["verified"] is False
        for n in ("a", "b"):
            assert [g for g, r in sorted(rounds(n).items()) if r["verified"]] == [0]
    finally:
        cell.stop()

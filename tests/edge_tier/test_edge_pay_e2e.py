"""Edge clients paid end to end (issue 10): a station's cell (EdgeCell + EdgePaymaster, as the daemon runs
them) and real `hcfl edge-client` processes on an anvil node. The station announces the ifedcrowd rule with
cost-claim windows; two clients seal and reveal their costs, a third gives none (excluded); after training
the station posts the Merkle payouts; the clients verify and claim by themselves; the published settlement
audits clean, and a tampered amount is flagged."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from fl_worker.data import load_digits
from fl_worker.edge_pay import EdgePayConfig, EdgePaymaster
from fl_worker.models import build_model, state_of
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.edge_payouts import EdgePayoutsClient, audit_settlement, round_key
from hcfl.chain.provider import connect
from hcfl.edge.round_settle import EdgeSettlement
from hcfl.edge.rule import EdgeRewardRule

from .conftest import CONTRACT, SPEC, write_digits

pytestmark = pytest.mark.anvil

BUDGET = 10**15
RID = 7


def _wait(pred, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_edge_clients_are_paid_and_claim_on_chain(tmp_path: Path, cell_factory, spawn) -> None:
    chain = connect("anvil")
    try:
        contract = EdgePayoutsClient.deploy(chain)
        station, *clients = funded_accounts(chain, ["station", "a", "b", "c"], 10**18,
                                             namespace="hcfl-edge-pay-e2e")
        cell = cell_factory(min_clients=3, timeout=60.0)
        cell.account = station  # the station's own key signs its roots and its payouts
        config = EdgePayConfig(contract=contract.address, rule=EdgeRewardRule(name="ifedcrowd"), budget_wei=BUDGET,
                               commit_window=15, reveal_window=10, claim_window=600, out_dir=tmp_path / "pub")
        pm = EdgePaymaster(chain.w3, station, config, load_digits(seed=0).test, SPEC)
        cell.paymaster = pm
        costs = {0: "1.0,0.5,1.0", 1: "2.0,1.0,1.0", 2: None}
        procs = []
        for i, acct in enumerate(clients):
            key = tmp_path / f"c{i}.key"
            key.write_text(acct.key.hex())
            extra = ["--costs", costs[i]] if costs[i] else []
            if i == 1:
                extra.append("--no-claim")  # claims by hand below
            procs.append(spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "--station",
                                f"http://{cell.http_address}", "--key", str(key), "--data",
                                str(write_digits(tmp_path / f"d{i}", i, 3)), "--report", str(tmp_path / f"c{i}.json"),
                                "--rpc", chain.rpc_url, *extra], f"c{i}", acct.address))
        cell.announce(chain.w3.eth.chain_id, CONTRACT, RID, SPEC, 0x3FF)  # the clients start up and connect
        _wait(lambda: cell.clients.num_available() == 3, 120, "three edge clients on Flower")
        pm.before_training(CONTRACT, RID)  # announce; waits out the commit and reveal windows
        key = round_key(CONTRACT, RID)
        revealed = contract.revealed_claims(station.address, key)
        assert set(revealed) == {clients[0].address, clients[1].address}, [p.log[-2000:] for p in procs]
        start = state_of(build_model(SPEC))
        cell.train_global_round(chain_id=chain.w3.eth.chain_id, contract=CONTRACT, round_id=RID, g=0, spec=SPEC,
                                label_mask=0x3FF, global_state=start, edge_rounds=1, local_epochs=1, batch_size=32,
                                lr=0.1, seed=0)
        s = pm.settle(CONTRACT, RID, cell.rounds_of(RID))
        assert s is not None and s.root
        assert all(c.included for c in s.clients) and len(s.clients) == 3
        assert s.amounts[clients[2].address] == 0  # no revealed claim: excluded
        assert s.amounts[clients[0].address] > 0 and s.amounts[clients[1].address] > 0
        assert sum(s.amounts.values()) + s.returned == BUDGET
        posted = contract.payout(station.address, key)
        assert posted.funded == sum(s.amounts.values())

        _wait(lambda: contract.is_claimed(station.address, key, clients[0].address), 90, "client 0 to claim by itself")
        _wait(lambda: "realised payout" in procs[1].log, 60, "client 1 to see its payout")
        assert not contract.is_claimed(station.address, key, clients[1].address)
        by_hand = spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "claim", "--station",
                         f"http://{cell.http_address}", "--key", str(tmp_path / "c1.key"), "--round", str(RID),
                         "--rpc", chain.rpc_url], "claim-by-hand")
        assert by_hand.proc.wait(120) == 0, by_hand.log[-2000:]
        assert contract.is_claimed(station.address, key, clients[1].address)
        assert f'"amount_wei": {s.amounts[clients[1].address]}' in by_hand.log
        for p in procs[:2]:  # the rule and the expected payout are shown before training
            log = p.log
            assert "announced the ifedcrowd rule" in log and log.index("expected payout") < log.index("trained "), log[-3000:]
        reports = [json.loads((tmp_path / f"c{i}.json").read_text()) for i in range(2)]
        for i, rep in enumerate(reports):
            pay = rep["payouts"][str(RID)]
            assert pay["rule"] == "ifedcrowd" and pay["expected_wei"] > 0 and pay["revealed_tx"]
            assert pay["amount_wei"] == s.amounts[clients[i].address]
        assert reports[0]["payouts"][str(RID)]["claim_tx"].startswith("0x")
        claim_events = [ev for ev in contract.events() if ev.name == "Claimed"]
        assert {ev.args["client"]: ev.args["amount"] for ev in claim_events} == {
            c.address: s.amounts[c.address] for c in clients[:2]}
        assert contract.payout(station.address, key).claimed == posted.funded  # Σ claims == funded
        assert contract.balance() == 0

        # the published settlement audits clean against the chain; a tampered amount does not
        published = EdgeSettlement.from_json(
            (tmp_path / "pub" / f"edge-settlement-{RID}-{station.address}.json").read_text())
        assert audit_settlement(contract, published) == []
        amounts = dict(published.amounts)
        a0, a1 = clients[0].address, clients[1].address
        amounts[a0], amounts[a1] = amounts[a0] + 1, amounts[a1] - 1  # same total, one wei moved
        problems = audit_settlement(contract, published.model_copy(update={"amounts": amounts}))
        assert any(a0 in p and "the rule gives" in p for p in problems), problems
        assert any("posted root" in p for p in problems), problems
        # the same through `hcfl audit --edge-settlement`
        tampered = tmp_path / "tampered.json"
        tampered.write_text(published.model_copy(update={"amounts": amounts}).to_json())
        honest_file = tmp_path / "pub" / f"edge-settlement-{RID}-{station.address}.json"
        audits = [spawn([sys.executable, "-m", "hcfl.cli", "audit", "--rpc", chain.rpc_url, "--edge-payouts",
                         contract.address, "--edge-settlement", str(f)], f"audit-{i}") for i, f in
                  enumerate((honest_file, tampered))]
        assert audits[0].proc.wait(120) == 0 and ": OK" in audits[0].log, audits[0].log[-2000:]
        assert audits[1].proc.wait(120) == 1 and "MISMATCH" in audits[1].log and a0 in audits[1].log
        # the CLI's claim of an already claimed payout is a clear error
        out = spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "claim", "--station",
                     f"http://{cell.http_address}", "--key", str(tmp_path / "c0.key"), "--round", str(RID),
                     "--rpc", chain.rpc_url], "claim-again")
        assert out.proc.wait(60) == 2 and "already claimed" in out.log
    finally:
        chain.close()

"""Edge clients paid end to end from their station's on-chain v2 reward (issue 10): a real HCFLCore round on
an anvil node, a station's cell (EdgeCell + EdgePaymaster, as the daemon runs them) and real
`hcfl edge-client` processes. The station joins and announces the ifedcrowd rule before training; two
clients seal their costs in the round's commit window and reveal them in its reveal window (as the owners'
and stations' own claims), a third gives none (excluded); the cell trains, the station reports on HCFLCore
and, once the round is finished, claims its reward there; the paymaster splits exactly that reward and posts
it; the clients verify and claim by themselves (one with `hcfl edge-client claim`); the published settlement
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
from hcfl.chain.v2.client import CoreClient
from hcfl.edge.round_settle import EdgeSettlement
from hcfl.edge.rule import EdgeRewardRule
from hcfl.protocol import Phase, Role

from .conftest import SPEC, write_digits

sys.path.insert(0, str(Path(__file__).parents[1] / "contracts_v2"))
from v2_helpers import CFG, ETH, V2, salt_of, spec  # noqa: E402

pytestmark = pytest.mark.anvil


def _wait(pred, timeout: float, what: str, logs=lambda: "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


def test_edge_clients_are_paid_from_the_station_reward_and_claim_on_chain(tmp_path: Path, cell_factory, spawn) -> None:
    chain = connect("anvil")
    try:
        core = CoreClient.deploy(chain)
        contract = EdgePayoutsClient.deploy(chain, core.address)
        names = ["station", "o1", "o2", "a", "b", "c"]
        accts = dict(zip(names, funded_accounts(chain, names, 10**20, namespace="hcfl-edge-pay-e2e")))
        station, clients = accts["station"], [accts["a"], accts["b"], accts["c"]]
        v = V2(chain=chain, core=core, acct={n: core.as_participant(accts[n]) for n in ("station", "o1", "o2")})
        rid = v.open(v.campaign(CFG, creator="o1"), creator="o1")
        for n, d in {"o1": 2 * ETH, "o2": 2 * ETH, "station": ETH}.items():
            v[n].join(rid, Role.STATION if n == "station" else Role.OWNER, d)
        cell = cell_factory(min_clients=3, timeout=60.0)
        cell.account = station  # the station's own key signs its roots and its payouts
        config = EdgePayConfig(contract=contract.address, rule=EdgeRewardRule(name="ifedcrowd"), claim_window=600,
                               reward_timeout=120, claim_reward=True, out_dir=tmp_path / "pub")
        pm = EdgePaymaster(chain.w3, station, config, load_digits(seed=0).test, SPEC)
        cell.paymaster = pm
        assert pm.announce(core.address, rid)  # a station of the round, before training: on chain now
        key = round_key(core.address, rid)
        costs = {0: "1.0,0.5,1.0", 1: "2.0,1.0,1.0", 2: None}
        procs = []
        for i, acct in enumerate(clients):
            kf = tmp_path / f"c{i}.key"
            kf.write_text(acct.key.hex())
            extra = ["--costs", costs[i]] if costs[i] else []
            if i == 1:
                extra.append("--no-claim")  # claims by hand below
            procs.append(spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "--station",
                                f"http://{cell.http_address}", "--key", str(kf), "--data",
                                str(write_digits(tmp_path / f"d{i}", i, 3)), "--report", str(tmp_path / f"c{i}.json"),
                                "--rpc", chain.rpc_url, *extra], f"c{i}", acct.address))
        logs = lambda: "\n".join(p.log[-1500:] for p in procs)  # noqa: E731
        cell.announce(chain.w3.eth.chain_id, core.address, rid, SPEC, 0x3FF)  # the clients start up and connect
        _wait(lambda: all(contract.cost_claim(station.address, key, c.address)[0] != bytes(32) for c in clients[:2]),
              120, "two sealed cost claims", logs)
        # the HCFLCore round goes on: a proposal, the participants' own sealed claims, their reveals
        v.goto(rid, Phase.PROPOSING)
        v["o1"].propose(rid, spec(ETH, 1), 10**15)
        v.goto(rid, Phase.COMMITTING)
        mine = {"o1": [2 * ETH], "o2": [2 * ETH], "station": [ETH // 10]}
        for n, c in mine.items():
            v[n].commit_claims(rid, c, salt_of(f"{rid}/{n}"))
        v.goto(rid, Phase.REVEALING)  # the edge clients' reveal window opens with the round's
        _wait(lambda: all(contract.cost_claim(station.address, key, c.address)[1] for c in clients[:2]), 120,
              "two reveals", logs)
        for n, c in mine.items():
            v[n].reveal(rid, c, salt_of(f"{rid}/{n}"))
        v.joined[rid] = list(mine)
        v.settle(rid, by="o2")
        assert v.core.state(rid) == Phase.TRAINING
        revealed = contract.revealed_claims(station.address, key)
        assert set(revealed) == {clients[0].address, clients[1].address}
        _wait(lambda: cell.clients.num_available() == 3, 120, "three edge clients on Flower", logs)
        pm.before_training(core.address, rid)  # the terms: leader's rates, expected reward
        start = state_of(build_model(SPEC))
        cr = cell.train_global_round(chain_id=chain.w3.eth.chain_id, contract=core.address, round_id=rid, g=0,
                                     spec=SPEC, label_mask=0x3FF, global_state=start, edge_rounds=1, local_epochs=1,
                                     batch_size=32, lr=0.1, seed=0)
        v["station"].report_training(rid, 0, b"\x22" * 32, cr.samples, 9000, bytes.fromhex(cr.root[2:]))
        v["o1"].finalize_training(rid, b"\x44" * 32, 9100, b"\0" * 32, 0, b"\x55" * 32)
        v.goto(rid, Phase.FINISHED)
        # lceme's test sample would come from the block that closed training, not one the station picks
        closed = [ev for ev in core.events(round_id=rid) if ev.name == "TrainingClosed"]
        assert len(closed) == 1 and pm._seed_block(core.address, rid) == closed[0].block_number
        s = pm.settle(core.address, rid, cell.rounds_of(rid))  # claims the station's reward, then posts it
        reward = contract.station_reward(station.address, key)
        assert reward.final and reward.reward > 0 and s is not None and s.root
        assert s.budget == reward.reward  # the split amount is the station's credited HCFLCore reward
        assert all(c.included for c in s.clients) and len(s.clients) == 3
        assert s.amounts[clients[2].address] == 0  # no revealed claim: excluded
        assert s.amounts[clients[0].address] > 0 and s.amounts[clients[1].address] > 0
        assert sum(s.amounts.values()) + s.returned == reward.reward
        posted = contract.payout(station.address, key)
        assert posted.funded == reward.reward

        _wait(lambda: contract.is_claimed(station.address, key, clients[0].address), 90, "client 0 to claim by itself")
        _wait(lambda: "realised payout" in procs[1].log, 60, "client 1 to see its payout")
        assert not contract.is_claimed(station.address, key, clients[1].address)
        by_hand = spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "claim", "--station",
                         f"http://{cell.http_address}", "--key", str(tmp_path / "c1.key"), "--round", str(rid),
                         "--rpc", chain.rpc_url], "claim-by-hand")
        assert by_hand.proc.wait(120) == 0, by_hand.log[-2000:]
        assert contract.is_claimed(station.address, key, clients[1].address)
        assert f'"amount_wei": {s.amounts[clients[1].address]}' in by_hand.log
        for p in procs[:2]:  # the rule and the expected payout are shown before training
            log = p.log
            assert "announced the ifedcrowd rule" in log and log.index("expected payout") < log.index("trained "), log[-3000:]
        reports = [json.loads((tmp_path / f"c{i}.json").read_text()) for i in range(2)]
        for i, rep in enumerate(reports):
            pay = rep["payouts"][str(rid)]
            assert pay["rule"] == "ifedcrowd" and pay["expected_wei"] > 0 and pay["revealed_tx"]
            assert pay["amount_wei"] == s.amounts[clients[i].address]
        assert reports[0]["payouts"][str(rid)]["claim_tx"].startswith("0x")
        claim_events = [ev for ev in contract.events() if ev.name == "Claimed"]
        expected = {c.address: s.amounts[c.address] for c in clients[:2]}
        if s.returned:
            expected[station.address] = s.returned  # the station's own leaf: what the rule returns to it
        assert {ev.args["client"]: ev.args["amount"] for ev in claim_events} == expected
        assert contract.payout(station.address, key).claimed == posted.funded == reward.reward  # Σ claims == reward
        assert contract.balance() == 0

        # the published settlement audits clean against the chain; a tampered amount does not
        published = EdgeSettlement.from_json(
            (tmp_path / "pub" / f"edge-settlement-{rid}-{station.address}.json").read_text())
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
        honest_file = tmp_path / "pub" / f"edge-settlement-{rid}-{station.address}.json"
        audits = [spawn([sys.executable, "-m", "hcfl.cli", "audit", "--rpc", chain.rpc_url, "--edge-payouts",
                         contract.address, "--edge-settlement", str(f)], f"audit-{i}") for i, f in
                  enumerate((honest_file, tampered))]
        assert audits[0].proc.wait(120) == 0 and ": OK" in audits[0].log, audits[0].log[-2000:]
        assert audits[1].proc.wait(120) == 1 and "MISMATCH" in audits[1].log and a0 in audits[1].log
        # the CLI's claim of an already claimed payout is a clear error
        out = spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "claim", "--station",
                     f"http://{cell.http_address}", "--key", str(tmp_path / "c0.key"), "--round", str(rid),
                     "--rpc", chain.rpc_url], "claim-again")
        assert out.proc.wait(60) == 2 and "already claimed" in out.log
    finally:
        chain.close()

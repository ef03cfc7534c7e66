"""The station's EdgePaymaster in process on the embedded chain, for the rules the e2e test does not run:
lceme (sealed claims, loss on a block-hash-chosen validation sample) and shapley (coalition utilities of
the clients' real updates). EdgePayouts is bound to StationRewardsStub (HCFLCore's stationReward view with a
set reward; the real core is in test_edge_pay_e2e.py and tests/edge_payouts/test_edge_payouts_core.py). Each
posts exactly the reward, and its published settlement audits clean against the chain."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from fl_worker.data import load_digits
from fl_worker.edge.protocol import EdgeLeaf
from fl_worker.edge_pay import EdgePayConfig, EdgePaymaster
from fl_worker.local import TrainConfig, train_local
from fl_worker.models import build_model, state_of
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.client import deploy_contract
from hcfl.chain.compile import artifact
from hcfl.chain.edge_payouts import EdgePayoutsClient, audit_settlement, round_key
from hcfl.chain.provider import connect
from hcfl.edge.claims import edge_claim_commitment, to_fixed
from hcfl.edge.rule import EdgeRewardRule

from .conftest import CONTRACT, SPEC

BUDGET = 10**15


@pytest.fixture(scope="module")
def world():
    chain = connect("embedded")
    stub = deploy_contract(chain, "StationRewardsStub")["contractAddress"]
    contract = EdgePayoutsClient.deploy(chain, stub)
    accounts = funded_accounts(chain, ["s-lceme", "s-shapley", "a", "b", "c"], 10**18, namespace="hcfl-paymaster")
    digits = load_digits(seed=0)
    states = []
    for i in range(3):  # three real client updates on disjoint thirds of digits
        model = build_model(SPEC)
        part = type(digits.train)(digits.train.X[i::3], digits.train.y[i::3])
        train_local(model, part, TrainConfig(local_epochs=1, batch_size=32, lr=0.1), seed=i)
        states.append(state_of(model))
    yield SimpleNamespace(chain=chain, contract=contract, accounts=accounts, val=digits.test, states=states,
                          stub=chain.w3.eth.contract(address=stub, abi=artifact("StationRewardsStub")["abi"]))
    chain.close()


def _stub(w, fn) -> None:
    w3, f = w.chain.w3, w.chain.funder
    tx = fn.build_transaction({"from": f.address, "nonce": w3.eth.get_transaction_count(f.address, "pending"),
                               "gas": 200_000, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id})
    assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(f.sign_transaction(tx).raw_transaction))["status"] == 1


def _run(w, station, rule: EdgeRewardRule, rid: int, claims: dict[int, list[int]]):
    clients = w.accounts[2:]
    pm = EdgePaymaster(w.chain.w3, station, EdgePayConfig(contract=w.contract.address, rule=rule, reward_timeout=5),
                       w.val, SPEC)
    key = round_key(CONTRACT, rid)
    now = w.chain.now()
    _stub(w, w.stub.functions.setWindows(rid, now + 59, now + 119))  # the round's commit and reveal deadlines
    assert pm.announce(CONTRACT, rid)
    if claims:
        salts = {i: os.urandom(32) for i in claims}
        for i, params in claims.items():
            c = edge_claim_commitment(int.from_bytes(key, "big"), station.address, clients[i].address, params, salts[i])
            w.contract.as_party(clients[i]).commit_cost_claim(station.address, key, c)
        w.chain.increase_time(61)
        for i, params in claims.items():
            w.contract.as_party(clients[i]).reveal_cost_claim(station.address, key, params, salts[i])
        w.chain.increase_time(61)
    pm.before_training(CONTRACT, rid)
    _stub(w, w.stub.functions.setReward(rid, station.address, True, True, BUDGET))  # the reward is final
    for i, c in enumerate(clients):
        assert pm.observe(rid, c.address, w.states[i], 100 + 50 * i, {"train_seconds": 1.0 + i,
                                                                      "newest_sample_time": 1}) is None
    leaves = [EdgeLeaf(address=c.address, update_hash="0x" + "11" * 32, samples=100 + 50 * i)
              for i, c in enumerate(clients)]
    s = pm.settle(CONTRACT, rid, [SimpleNamespace(leaves=leaves, state=w.states[0])])
    assert s is not None and s.root and sum(s.amounts.values()) + s.returned == BUDGET
    assert audit_settlement(w.contract, s) == []
    assert pm.route(f"/edge/pay/{rid}/proof/{clients[0].address}")[1]["amount"] == s.amounts[clients[0].address]
    return s, clients


def test_lceme_settles_from_revealed_claims_only(world) -> None:
    claims = {0: [to_fixed("0.01"), to_fixed("0.5")], 1: [to_fixed("0.02"), to_fixed("0.1")]}  # client 2: none
    s, clients = _run(world, world.accounts[0], EdgeRewardRule(name="lceme"), 1, claims)
    assert s.lceme_loss is not None and s.lceme_seed_block is not None and "assigned" in s.derived
    assert s.amounts[clients[2].address] == 0 and s.amounts[clients[0].address] > 0


def test_shapley_settles_from_the_updates_coalitions(world) -> None:
    s, clients = _run(world, world.accounts[1], EdgeRewardRule(name="shapley"), 2, {})
    assert s.shapley_utility is not None and len(s.shapley_utility) == 8 and s.shapley_utility[0] == 0.0
    assert all(s.amounts[c.address] > 0 for c in clients) and len(s.derived["shapley"]) == 3

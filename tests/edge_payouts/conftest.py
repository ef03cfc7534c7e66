"""Fixtures for the EdgePayouts tests: each chain module runs on the embedded chain and on a spawned anvil
node (one chain, one deployment and funded keys per module and chain); `e` isolates every test between a
chain snapshot and a revert to it. EdgePayouts' own mechanics are tested against StationRewardsStub (any
reward); test_edge_payouts_core.py ties it to a real HCFLCore."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ep_helpers import NAMES, Env  # noqa: E402

from hcfl.chain.accounts import funded_accounts  # noqa: E402
from hcfl.chain.client import deploy_contract  # noqa: E402
from hcfl.chain.compile import artifact  # noqa: E402
from hcfl.chain.edge_payouts import EdgePayoutsClient  # noqa: E402
from hcfl.chain.provider import connect  # noqa: E402

FUNDS = 10**21  # anvil dev keys hold 10,000 ETH


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def chain(request):
    ch = connect(request.param)
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def base(chain) -> Env:
    stub = deploy_contract(chain, "StationRewardsStub")["contractAddress"]
    contract = EdgePayoutsClient.deploy(chain, stub)
    accounts = funded_accounts(chain, NAMES, FUNDS, namespace="hcfl-edge-payout-tests")
    return Env(chain=chain, c=contract, p={n: contract.as_party(a) for n, a in zip(NAMES, accounts)},
               core=chain.w3.eth.contract(address=stub, abi=artifact("StationRewardsStub")["abi"]))


@pytest.fixture
def e(base: Env) -> Env:
    snap = base.chain.snapshot()
    yield base
    base.chain.revert(snap)
    base.c.nonces._next.clear()  # the local nonce cache would be ahead of a reverted chain

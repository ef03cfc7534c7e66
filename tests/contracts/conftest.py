"""Fixtures for the HCFLCrowdfund tests on the embedded chain.

One chain + one deployed contract + funded participant keys per test module; every test runs between a
chain snapshot and a revert to it (autouse `isolate`), so tests are independent while module-scoped
scenario fixtures (rounds driven to some phase) are built once and shared.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ct_helpers import Driver  # noqa: E402

from hcfl.chain.accounts import funded_accounts  # noqa: E402
from hcfl.chain.client import HCFLClient  # noqa: E402
from hcfl.chain.provider import connect  # noqa: E402

NAMES = ["o1", "o2", "o3", "o4", "o5", "s1", "s2", "s3", "s4", "x"]
FUNDS = 10**21


@pytest.fixture(scope="module")
def chain():
    ch = connect("embedded")
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def client(chain):
    return HCFLClient.deploy(chain)


@pytest.fixture(scope="module")
def d(chain, client) -> Driver:
    accounts = funded_accounts(chain, NAMES, FUNDS, namespace="hcfl-contract-tests")
    return Driver(chain=chain, client=client, acct={n: client.as_participant(a) for n, a in zip(NAMES, accounts)})


@pytest.fixture(autouse=True)
def isolate(chain, client, d):
    snap = chain.snapshot()
    saved = d.save()
    yield
    chain.revert(snap)
    d.reset_nonces()
    d.restore(saved)


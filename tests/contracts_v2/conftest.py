"""Fixtures for the contract v2 tests (HCFLCore + modules + HCFLLens) on the embedded chain.

One chain + one deployment + funded keys per test module; every test runs between a snapshot and a revert.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from v2_helpers import NAMES, V2  # noqa: E402

from hcfl.chain.accounts import funded_accounts  # noqa: E402
from hcfl.chain.provider import connect  # noqa: E402
from hcfl.chain.v2.client import CoreClient  # noqa: E402

FUNDS = 10**22


@pytest.fixture(scope="module")
def chain():
    ch = connect("embedded")
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def core(chain):
    return CoreClient.deploy(chain)


@pytest.fixture(scope="module")
def v(chain, core) -> V2:
    accounts = funded_accounts(chain, NAMES, FUNDS, namespace="hcfl-v2-tests")
    return V2(chain=chain, core=core, acct={n: core.as_participant(a) for n, a in zip(NAMES, accounts)})


@pytest.fixture(autouse=True)
def isolate(chain, core, v):
    snap = chain.snapshot()
    yield
    chain.revert(snap)
    for p in v.acct.values():
        core.nonces.forget(p.address)

"""One spawned anvil with one HCFLCrowdfund deployment and many varied rounds, shared by the audit tests."""
from __future__ import annotations

import pytest

from hcfl.chain.onchain_settle import OnChainSession
from tests.audit.rounds import build_all


@pytest.fixture(scope="session")
def world():
    session = OnChainSession.open("anvil")
    try:
        rounds = build_all(session, n_random=10)
        yield session, rounds
    finally:
        session.close()

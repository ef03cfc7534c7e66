"""One v2 deployment on the embedded chain for the whole differential module (campaigns never share
pools, so instances stay independent on one contract)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hcfl.chain.onchain_settle_v2 import V2Session  # noqa: E402


@pytest.fixture(scope="session")
def v2_session():
    s = V2Session.open("embedded")
    yield s
    s.close()

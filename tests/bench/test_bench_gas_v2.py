"""The v2 section of `hcfl bench gas` on a tiny configuration on the embedded chain (real py-evm receipts)."""
from __future__ import annotations

import json

import pytest

from hcfl.bench.gas_v2 import K_SETTLE, PARTICIPANT_TARGET, TX_GAS_CAP, render_v2, run_v2
from hcfl.chain.provider import connect


@pytest.fixture(scope="module")
def res():
    ch = connect("embedded")
    try:
        yield run_v2(ch, [10, 30], progress=False, worst_k=False)
    finally:
        ch.close()


def test_owner_path_within_target_and_settle_flat(res) -> None:
    owner = next(p for p in res.participants if p.role == "owner")
    assert list(owner.steps) == ["join", "commit", "reveal", "claimAndWithdraw"]
    assert owner.total <= PARTICIPANT_TARGET, owner
    rows = [r for r in res.settle if r.k == K_SETTLE]
    assert [r.n for r in rows] == [10, 30] and all(r.selected for r in rows)
    assert res.settle_spread <= 0.10  # O(K): settle gas does not grow with N
    assert all(r.max_tx_gas < TX_GAS_CAP for r in res.settle)


def test_render_and_json(res) -> None:
    text = render_v2(res)
    assert "| owner | join " in text and "| 30 (15 + 15) | 10 |" in text
    data = json.loads(json.dumps(res.to_json()))
    assert data["command"] == "hcfl bench gas (v2)" and len(data["settle"]) == 2

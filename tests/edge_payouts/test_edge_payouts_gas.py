"""Gas per claim grows with the proof length only, not with the number of clients (1, 8, 64, 1024 leaves),
measured by the same code as `hcfl bench edge-payouts`, on the embedded chain and on anvil."""
from __future__ import annotations

import json

import pytest

from hcfl.bench.edge_payouts import SIZES, measure, per_element, render
from hcfl.chain.provider import connect

# gas of one proof element: 32 calldata bytes (<= 16 gas each) + one keccak256 of 64 bytes + loop/memory
MAX_PER_ELEMENT = 1_200


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def bench(request):
    with connect(request.param) as chain:
        yield measure(chain, SIZES, claims=3)


def test_claim_gas_grows_only_with_proof_length(bench) -> None:
    rows = bench.rows
    assert [r.leaves for r in rows] == [1, 8, 64, 1024]
    assert [r.proof_length for r in rows] == [0, 3, 6, 10]
    base = rows[0].median
    for r in rows:
        assert max(r.claim_gas) - min(r.claim_gas) < 200, r  # same proof length: same gas up to calldata bytes
        assert base <= min(r.claim_gas) and max(r.claim_gas) <= base + MAX_PER_ELEMENT * r.proof_length, r
    slopes = [s for s in per_element(bench) if s is not None]
    assert max(slopes) - min(slopes) < 50, slopes  # linear in the proof length: 1024 leaves cost no extra
    assert max(r.post_gas for r in rows) - min(r.post_gas for r in rows) < 100  # posting costs the same whatever the tree size


def test_table_lists_every_size(bench) -> None:
    table = render(bench)
    for r in bench.rows:
        assert f"| {r.leaves} | {r.proof_length} |" in table
    assert f"{bench.deployed_bytes} bytes deployed" in table


def test_cli_prints_table_and_writes_json(tmp_path, capsys) -> None:
    from hcfl.cli import main

    out = tmp_path / "edge.json"
    assert main(["bench", "edge-payouts", "--chain", "embedded", "--sizes", "2,16", "--claims", "1",
                 "--json", str(out)]) == 0
    assert "| 16 | 4 |" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["command"] == "hcfl bench edge-payouts" and [r["leaves"] for r in data["rows"]] == [2, 16]

"""`hcfl bench gas` on a tiny configuration, on the embedded chain (a real EVM, py-evm)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from hcfl.bench import gas
from hcfl.bench.gas import ACTION_ROWS, render, run_bench


@pytest.fixture(scope="module")
def tiny() -> gas.GasBench:
    return run_bench(chain="embedded", ns=[4, 8], ks=[1, 2], search_k=None, progress=False)


def test_action_table_has_every_row_with_positive_gas(tiny: gas.GasBench) -> None:
    assert [a.action for a in tiny.actions] == list(ACTION_ROWS)
    for a in tiny.actions:
        assert a.samples and all(g > 21_000 for g in a.samples), a
    # more claims cost more to reveal and to settle
    assert tiny.action("reveal (K=10)").median > tiny.action("reveal (K=1)").median
    assert tiny.action("settle (N=4, K=10)").median > tiny.action("settle (N=4, K=1)").median


def test_settlement_grid_fits_and_grows_with_n_and_k(tiny: gas.GasBench) -> None:
    cells = {(s.n, s.k): s for s in tiny.settlement}
    assert set(cells) == {(4, 1), (4, 2), (8, 1), (8, 2)}
    for s in cells.values():
        assert s.gas is not None and s.gas > 0
        assert s.selected is not None  # values above costs: a model is selected (the expensive path)
        assert s.owners + s.stations == s.n
    for k in (1, 2):
        assert cells[(8, k)].gas > cells[(4, k)].gas
    for n in (4, 8):
        assert cells[(n, 2)].gas > cells[(n, 1)].gas


def test_render_and_json(tiny: gas.GasBench) -> None:
    text = render(tiny)
    assert "| settle (N=4, K=1) |" in text
    assert "| 8 (4 + 4) |" in text
    data = json.loads(json.dumps(tiny.to_json()))
    assert data["command"] == "hcfl bench gas"
    assert len(data["settlement"]) == 4


def test_largest_n_search_bisects() -> None:
    # synthetic gas = 1M + 100k per participant: fits up to N = 290, so the cap (200) binds
    def fake(limit_per_n: int):
        def measure(n: int) -> gas.SettleGas:
            g = 1_000_000 + limit_per_n * n
            return gas.SettleGas(n=n, k=10, owners=(n + 1) // 2, stations=n // 2, gas=g if g <= 30_000_000 else None)
        return measure

    measure = fake(100_000)
    known = {n: measure(n) for n in (10, 50, 100)}
    largest, probes = gas._largest_n(measure, known)
    assert largest == 200 and [p.n for p in probes] == [200]
    # 200k per participant: fits up to N = 145
    measure = fake(200_000)
    known = {n: measure(n) for n in (10, 50, 100, 150, 200)}
    largest, probes = gas._largest_n(measure, known)
    assert largest == 145
    assert len(probes) <= 8


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    gas.add_arguments(parser)
    args = parser.parse_args(["--quick", "--chain", "embedded", "--json", "x.json"])
    assert args.quick and args.chain == "embedded" and args.json == Path("x.json")
    assert parser.parse_args(["--ns", "4,8", "--ks", "1"]).ns == [4, 8]

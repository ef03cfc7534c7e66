"""`hcfl bench chain` on a tiny configuration: a spawned anvil with 1-s blocks and the real coordinator."""
from __future__ import annotations

import json

import pytest

from hcfl.bench import chain as bench
from hcfl.bench.chain import ROUTES, render, run_bench

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny() -> bench.ChainBench:
    return run_bench(rates=[2, 20], window=3, requests=50, sustained_max=200, burst=200, latency_rounds=2,
                     latency_participants=6, time_cap=60, progress=False)


def test_throughput_table_shape_and_growth(tiny: bench.ChainBench) -> None:
    assert [r.rate for r in tiny.rates] == [2.0, 20.0]
    for r in tiny.rates:
        assert r.sent == r.included > 0 and r.pending == 0 and r.failed == 0
        assert r.blocks >= 1 and r.tx_per_block_max >= r.tx_per_block_mean > 0
    low, high = tiny.rates
    # below saturation transactions per block grow with the generation rate (about rate x block time)
    assert high.tx_per_block_mean > 3 * low.tx_per_block_mean
    assert high.included_per_s > 3 * low.included_per_s
    assert tiny.sustained is not None and tiny.sustained.included > 0 and tiny.sustained.send_rate > 20
    assert tiny.burst is not None and tiny.burst.included == 200
    assert 50_000 < tiny.commit_gas_used < bench.COMMIT_GAS


def test_read_api_latency(tiny: bench.ChainBench) -> None:
    lat = tiny.latency
    assert lat is not None
    assert [r.route for r in lat.routes] == list(ROUTES)
    assert sum(r.requests for r in lat.routes) == lat.total.requests == 50
    for r in [*lat.routes, lat.total]:
        assert r.errors == 0
        assert 0 < r.p50_ms <= r.p99_ms <= r.max_ms
        assert r.rps > 0


def test_render_json_and_plot(tiny: bench.ChainBench, tmp_path) -> None:
    text = render(tiny)
    assert "| 2 tx/s |" in text and "| 20 tx/s |" in text
    assert "| `GET /api/funds` |" in text
    header = next(line for line in text.splitlines() if line.startswith("| generation rate"))
    assert "tx/block mean" in header and "tx/block max" in header and "included tx/s" in header
    data = json.loads(json.dumps(tiny.to_json()))
    assert data["command"] == "hcfl bench chain" and len(data["rates"]) == 2
    png = bench.plot(tiny, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paper_reading_saturates_near_two_tx_per_s() -> None:
    assert bench.paper_tx_per_block(1) < bench.paper_tx_per_block(2) <= bench.paper_tx_per_block(5) <= 15
    assert bench.paper_tx_per_block(50) is None
    assert bench._percentile([1, 2, 3, 4], 50) == 2.5

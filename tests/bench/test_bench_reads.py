"""`hcfl bench reads` on a tiny configuration: a spawned anvil with 1-s blocks, a round in progress and the real
coordinator; checks the table's shape and that every request succeeded (the numbers go to docs/benchmarks.md,
never into a timed assertion)."""
from __future__ import annotations

import pytest

from hcfl.bench.reads import ROUTES, render, run_bench

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_read_bench_table() -> None:
    report = run_bench(rounds=1, participants=2, concurrency=4, seconds=1.0)
    rows = report["results"]
    assert [r["route"] for r in rows] == list(ROUTES)
    assert all(r["requests"] > 0 and r["errors"] == 0 for r in rows), rows
    assert rows[0]["share_of_static"] == 1.0
    table = render(report)
    assert "| `/api/rounds/{rid}` |" in table and "share of static" in table

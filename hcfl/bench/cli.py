"""`hcfl bench NAME`: gas per action, edge-payout claims, FL round cost, chain throughput. Every benchmark lives
in this package (hcfl.bench.*) and prints a table; the measured numbers are in docs/benchmarks.md."""
from __future__ import annotations

import argparse

from hcfl._registry import add_registry_command

BENCHES: dict[str, tuple[str, str]] = {
    "gas": ("hcfl.bench.gas", "gas per action and settlement gas vs N participants and K proposals"),
    "fl": ("hcfl.bench.fl", "seconds per global round, peak memory, bytes sent (hierarchical vs flat)"),
    "edge-payouts": ("hcfl.bench.edge_payouts", "gas per edge-payout claim vs number of clients (Merkle proof length)"),
    "chain": ("hcfl.bench.chain", "transactions per block vs generation rate, read-API latency"),
    "reads": ("hcfl.bench.reads", "read-API req/s and p99 vs the same server's static route (16 clients)"),
    "system": ("hcfl.bench.system", "whole system (demo): ms added per global round over the bare compute"),
}


def register(sub: argparse._SubParsersAction) -> None:
    add_registry_command(sub, "bench", "run a benchmark and print its table", BENCHES)

"""The embedded chain's eth_estimateGas (hcfl.chain.gas_estimate): never below the smallest gas limit at which the
transaction succeeds, at most 1/64 + 2,300 gas above it, in 3 executions (one of them at the intrinsic gas, which
stops at once) instead of py-evm's ~13."""
from __future__ import annotations

from typing import Any

from eth.estimators.gas import binary_gas_search_exact
from v2_helpers import ETH, V2, cfg

from hcfl.chain import gas_estimate


def test_estimates_every_transaction_of_a_round_within_geths_error_ratio(v: V2) -> None:
    backend = v.chain._tester.backend
    assert backend.chain.gas_estimator is gas_estimate.geth_like_estimate  # installed by hcfl.chain.provider.embedded
    seen: list[tuple[int, int, int]] = []
    runs = 0
    original_run = gas_estimate._run

    def counting_run(state: Any, transaction: Any, **overrides: int) -> Any:
        nonlocal runs
        runs += 1
        return original_run(state, transaction, **overrides)

    def checked(state: Any, transaction: Any) -> int:
        nonlocal runs
        runs = 0
        ours = gas_estimate.geth_like_estimate(state, transaction)
        seen.append((binary_gas_search_exact(state, transaction), ours, runs))
        return ours

    gas_estimate._run = counting_run
    backend.chain.gas_estimator = checked
    try:
        cid = v.campaign(cfg())
        rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "o2": 3 * ETH, "s1": ETH, "s2": ETH}, [("o1", ETH)],
                                {"o1": [2 * ETH], "o2": [2 * ETH], "s1": [ETH // 10], "s2": [ETH // 5]})
        v.settle(rid)
        for s in ("s1", "s2"):
            v[s].report_training(rid, 0, b"\x22" * 32, 100, 9000, b"\x33" * 32)
    finally:
        gas_estimate._run = original_run
        backend.chain.gas_estimator = gas_estimate.geth_like_estimate
    assert len(seen) >= 12, seen  # campaign, round, 4 joins, proposal, 4 commits, 4 reveals, settle, 2 reports
    for exact, ours, executions in seen:
        assert exact <= ours <= (exact + gas_estimate.CALL_STIPEND) * 64 // 63 + 1, (exact, ours)
        assert executions == 3, (exact, ours, executions)  # py-evm's own estimator: ~13 (exact: ~25)

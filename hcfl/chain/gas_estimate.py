"""eth_estimateGas on the embedded chain in 3 executions (one of them stops at once) instead of py-evm's ~13.

py-evm's default estimator bisects the whole range [intrinsic gas, block gas limit] until the step is below
21,000 gas: about 13 executions of the transaction per estimate. On the demo's embedded chain that was a third of
the coordinator's CPU during training (every station's reportTraining is estimated before it is sent), all of it
under the chain lock that the daemons' reads and the edge devices' checks wait on.

Like geth (eth/gasestimator): one run at the block gas limit gives the gas the transaction consumes (before
refunds; no smaller limit can succeed), then the optimistic limit (consumed + call stipend) * 64/63 (the 63/64
rule of nested calls) is tried, and it usually succeeds. Unlike geth, a successful optimistic limit is the answer
at once (geth bisects on until it is within 1.5 %): it is at most 1/64 + 2,300 gas above the smallest limit that
succeeds, and callers add their own margin anyway (our clients: +25 % + 10,000). Only when it fails is the rest
bisected, to within 1.5 % as geth does. The answer is always a limit at which the transaction succeeded (or the
block gas limit), never below the smallest one.
"""
from __future__ import annotations

from typing import Any

from eth.vm.spoof import SpoofTransaction

CALL_STIPEND = 2_300
ERROR_RATIO = 0.015  # geth's estimateGasErrorRatio


def _run(state: Any, transaction: Any, **overrides: int) -> Any:
    """The computation of `transaction` with `overrides` on a snapshot of `state` (reverted afterwards)."""
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(SpoofTransaction(transaction, **overrides))
    finally:
        state.revert(snapshot)


def geth_like_estimate(state: Any, transaction: Any) -> int:
    """The gas limit to send `transaction` with (py-evm's gas-estimator signature; raises the VM error when it fails
    even at the block gas limit)."""
    intrinsic = int(transaction.intrinsic_gas)
    # like py-evm's estimator: a transaction that needs nothing beyond its intrinsic gas (a plain transfer)
    if not _run(state, transaction, gas=intrinsic, gas_price=0).is_error:
        return intrinsic
    hi = int(state.gas_limit)
    top = _run(state, transaction, gas=hi, gas_price=0)
    if top.is_error:
        raise top.error
    consumed = intrinsic + int(top.get_gas_used())  # before refunds: a smaller limit cannot succeed
    lo = max(intrinsic, consumed - 1)
    guess = (consumed + CALL_STIPEND) * 64 // 63
    if lo < guess < hi:
        if not _run(state, transaction, gas=guess).is_error:
            return guess
        lo = guess
    while hi - lo > 1 and (hi - lo) / hi >= ERROR_RATIO:
        mid = min((hi + lo) // 2, lo * 2)  # geth: from a far-off bound, approach by doubling
        if _run(state, transaction, gas=mid).is_error:
            lo = mid
        else:
            hi = mid
    return hi


def install(backend: Any) -> None:
    """Use geth_like_estimate for every gas estimate of an eth-tester PyEVMBackend's chain: on its chain class (the
    chains that snapshot reverts build) and on the chain itself (py-evm stores the default in the instance)."""
    type(backend.chain).gas_estimator = staticmethod(geth_like_estimate)
    backend.chain.gas_estimator = geth_like_estimate

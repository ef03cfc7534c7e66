"""Shapley values of the clients of one cell (seed 004, G2): the one definition of the estimator.

    phi_i = sum_{S subset of N minus i} |S|! (n-|S|-1)! / n! * (v(S + i) - v(S))

`v` is passed in (for payouts: the accuracy of the model aggregated from coalition S's updates);
it is called once per distinct coalition (memoised).

- n <= exact_limit (8): exact, 2^n evaluations of v; efficient (sum phi = v(N) - v(empty)).
- larger cells: permutation sampling (seeded; each order's marginals telescope, so the estimate is
  efficient too). With v in [lo, hi] every marginal lies in an interval of width w = 2 (hi - lo), and
  Hoeffding plus a union bound over the n clients gives, with probability >= 1 - delta,
      max_i |phi_hat_i - phi_i| <= w * sqrt(ln(2n / delta) / (2 m))     (m = permutations)
  which the result states as `error_bound` at `confidence` = 1 - delta.

Payout weights are max(0, phi_i): a client whose marginal value is negative is paid nothing.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

Utility = Callable[[frozenset[int]], float]
EXACT_LIMIT = 8


class ShapleyResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    values: list[float]
    method: Literal["exact", "permutation"]
    evaluations: int
    permutations: int | None = None
    error_bound: float | None = None  # max_i |estimate - phi_i|, Hoeffding, at `confidence`
    confidence: float | None = None

    @property
    def weights(self) -> list[float]:
        return [max(0.0, v) for v in self.values]


class _Memo:
    def __init__(self, v: Utility) -> None:
        self.v = v
        self.cache: dict[frozenset[int], float] = {}

    def __call__(self, s: frozenset[int]) -> float:
        if s not in self.cache:
            val = float(self.v(s))
            if not math.isfinite(val):
                raise ValueError(f"utility of coalition {sorted(s)} is not finite: {val}")
            self.cache[s] = val
        return self.cache[s]


def exact(n: int, v: Utility) -> list[float]:
    memo = v if isinstance(v, _Memo) else _Memo(v)
    phi = [0.0] * n
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                phi[i] += weight * (memo(s | {i}) - memo(s))
    return phi


def sampled(n: int, v: Utility, permutations: int, seed: int = 0) -> list[float]:
    memo = v if isinstance(v, _Memo) else _Memo(v)
    rng = np.random.default_rng(seed)
    phi = np.zeros(n)
    for _ in range(permutations):
        members: frozenset[int] = frozenset()
        before = memo(members)
        for i in rng.permutation(n):
            members = members | {int(i)}
            after = memo(members)
            phi[i] += after - before
            before = after
    return (phi / permutations).tolist()


def hoeffding_bound(n: int, permutations: int, value_range: tuple[float, float] = (0.0, 1.0), delta: float = 0.05) -> float:
    """Simultaneous (all n clients) error bound of the permutation estimate, probability >= 1 - delta."""
    lo, hi = value_range
    if not (hi > lo and 0 < delta < 1 and permutations >= 1 and n >= 1):
        raise ValueError("need hi > lo, 0 < delta < 1, permutations >= 1, n >= 1")
    return 2 * (hi - lo) * math.sqrt(math.log(2 * n / delta) / (2 * permutations))


def permutations_for(n: int, error: float, value_range: tuple[float, float] = (0.0, 1.0), delta: float = 0.05) -> int:
    """The smallest m whose Hoeffding bound is <= error."""
    lo, hi = value_range
    return math.ceil(2 * (hi - lo) ** 2 * math.log(2 * n / delta) / error**2)


def shapley(
    n: int,
    v: Utility,
    *,
    exact_limit: int = EXACT_LIMIT,
    permutations: int = 200,
    seed: int = 0,
    value_range: tuple[float, float] = (0.0, 1.0),
    delta: float = 0.05,
) -> ShapleyResult:
    """Exact for n <= exact_limit, permutation sampling (with its stated error bound) beyond."""
    if n < 1:
        raise ValueError("a cell needs at least one client")
    memo = _Memo(v)
    if n <= exact_limit:
        return ShapleyResult(values=exact(n, memo), method="exact", evaluations=len(memo.cache))
    vals = sampled(n, memo, permutations, seed)
    return ShapleyResult(
        values=vals,
        method="permutation",
        evaluations=len(memo.cache),
        permutations=permutations,
        error_bound=hoeffding_bound(n, permutations, value_range, delta),
        confidence=1 - delta,
    )

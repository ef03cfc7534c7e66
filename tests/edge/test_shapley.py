"""Shapley within a cell (seed 004, G2): axioms, exact vs sampled, and the stated error bound."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.edge import shapley as sh


def _additive(values):
    return lambda s: sum(values[i] for i in s)


def test_additive_game_gives_each_its_own_value():
    vals = [0.1, 0.0, 0.3, 0.05]
    r = sh.shapley(4, _additive(vals))
    assert r.method == "exact" and r.error_bound is None and r.evaluations == 16
    assert r.values == pytest.approx(vals)


def test_axioms_on_a_saturating_game():
    # accuracy-like: saturating in the number of distinct "data sources"; client 3 duplicates client 0;
    # client 4 is a free-rider (adds nothing to any coalition)
    source = {0: "a", 1: "b", 2: "c", 3: "a", 4: None}

    def v(s):
        k = len({source[i] for i in s if source[i] is not None})
        return 1 - 0.5**k

    r = sh.shapley(5, v)
    assert sum(r.values) == pytest.approx(v(frozenset(range(5))) - v(frozenset()))  # efficiency
    assert r.values[4] == pytest.approx(0.0, abs=1e-15)  # null player
    assert r.values[0] == pytest.approx(r.values[3])  # symmetry
    assert r.values[1] == pytest.approx(r.values[2])
    assert r.values[0] < r.values[1]  # the duplicated source is shared by two clients
    assert r.weights[4] == 0.0


def test_exact_limit_is_eight_then_sampling_with_a_stated_bound():
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 0.1, 12)

    def v(s):
        return min(1.0, float(sum(w[i] for i in s)) ** 0.8)

    assert sh.shapley(8, v).method == "exact"
    r = sh.shapley(12, v, permutations=400, seed=3)
    assert r.method == "permutation" and r.confidence == 0.95
    assert r.error_bound == pytest.approx(2 * math.sqrt(math.log(2 * 12 / 0.05) / (2 * 400)))
    assert sum(r.values) == pytest.approx(v(frozenset(range(12))) - v(frozenset()))  # telescoping
    exact = sh.exact(12, v)
    assert max(abs(a - b) for a, b in zip(r.values, exact)) <= r.error_bound
    # more samples -> closer (error ~ 1/sqrt(m))
    errs = [max(abs(a - b) for a, b in zip(sh.sampled(12, v, m, seed=5), exact)) for m in (20, 2000)]
    assert errs[1] < errs[0]
    assert sh.permutations_for(12, r.error_bound) <= 400


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_exact_efficiency_and_symmetry_on_random_games(n, seed):
    rng = np.random.default_rng(seed)
    table = {frozenset(c): float(rng.uniform(0, 1)) for k in range(n + 1) for c in itertools.combinations(range(n), k)}
    r = sh.shapley(n, table.__getitem__)
    assert sum(r.values) == pytest.approx(table[frozenset(range(n))] - table[frozenset()], abs=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError):
        sh.shapley(0, lambda s: 0.0)
    with pytest.raises(ValueError):
        sh.shapley(2, lambda s: math.nan)
    with pytest.raises(ValueError):
        sh.hoeffding_bound(3, 0)

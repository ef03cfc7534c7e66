from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.mechanism import split


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1, 1, 1], [4, 3, 3]),
        (11, [1, 1], [6, 5]),
        (3, [2, 1, 2], [2, 0, 1]),  # base [1, 0, 1], r = 1 -> first positive weight
        (7, [0, 0, 0], [3, 2, 2]),  # W == 0 -> equal
        (5, [0, 3, 0, 1], [0, 4, 0, 1]),  # base [0, 3, 0, 1], r = 1 -> o1 (first w > 0)
        (2, [0, 1, 1], [0, 1, 1]),
        (1, [0, 1, 1], [0, 1, 0]),
        (0, [5, 5], [0, 0]),
        (0, [], []),
    ],
)
def test_split_examples(total, weights, expected):
    assert split(total, weights) == expected


def test_split_rejects_bad_input():
    with pytest.raises(ValueError):
        split(-1, [1])
    with pytest.raises(ValueError):
        split(1, [1, -1])
    with pytest.raises(ValueError):
        split(1, [])


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**256), st.lists(st.integers(0, 10**30), min_size=1, max_size=12))
def test_split_properties(total, weights):
    shares = split(total, weights)
    assert sum(shares) == total
    ws = weights if sum(weights) else [1] * len(weights)
    w_sum = sum(ws)
    r = total - sum(total * w // w_sum for w in ws)
    positives = [i for i, w in enumerate(ws) if w > 0]
    assert r < len(positives)
    bonus = set(positives[:r])
    for i, (s, w) in enumerate(zip(shares, ws)):
        assert s == total * w // w_sum + (1 if i in bonus else 0)
        if w == 0:
            assert s == 0

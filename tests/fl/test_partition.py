from __future__ import annotations

import numpy as np
import pytest

from fl_worker.partition import (
    PartitionConfig,
    dominant_fraction,
    partition,
    partition_dirichlet,
    partition_label_skew,
)


@pytest.fixture(scope="module")
def labels(digits) -> np.ndarray:
    return digits.train.y.numpy()


def _flat(parts) -> np.ndarray:
    return np.concatenate([c for station in parts for c in station])


@pytest.mark.parametrize("method", ["iid", "dirichlet", "label_skew"])
def test_every_sample_used_exactly_once(labels, method):
    parts = partition(labels, PartitionConfig(method=method, stations=4, clients_per_station=5, alpha=0.3, seed=2))
    assert len(parts) == 4 and all(len(s) == 5 for s in parts)
    flat = _flat(parts)
    assert len(flat) == len(labels)
    assert np.array_equal(np.sort(flat), np.arange(len(labels)))
    assert all(len(c) > 0 for s in parts for c in s)


@pytest.mark.parametrize("degree", [0.5, 0.8])
def test_label_skew_matches_degree(labels, degree):
    parts = partition_label_skew(labels, stations=5, clients_per_station=4, degree=degree, seed=1)
    fractions = [dominant_fraction(labels, c) for s in parts for c in s]
    assert abs(np.mean(fractions) - degree) < 0.05
    assert max(abs(f - degree) for f in fractions) < 0.1


def test_label_skew_degree_one_gives_single_label_clients(labels):
    # 10 clients, one per label: every client holds only its dominant label where supply allows
    parts = partition_label_skew(labels, stations=2, clients_per_station=5, degree=1.0, seed=0)
    assert np.mean([dominant_fraction(labels, c) for s in parts for c in s]) > 0.95


def test_dirichlet_seeded_determinism(labels):
    a = partition_dirichlet(labels, 3, 4, alpha=0.5, seed=7)
    b = partition_dirichlet(labels, 3, 4, alpha=0.5, seed=7)
    c = partition_dirichlet(labels, 3, 4, alpha=0.5, seed=8)
    assert all(np.array_equal(x, y) for sa, sb in zip(a, b) for x, y in zip(sa, sb))
    assert not all(np.array_equal(x, y) for sa, sc in zip(a, c) for x, y in zip(sa, sc))


def test_dirichlet_alpha_controls_skew(labels):
    def mean_dominant(alpha: float) -> float:
        parts = partition_dirichlet(labels, 4, 5, alpha=alpha, seed=0)
        return float(np.mean([dominant_fraction(labels, c) for s in parts for c in s]))

    assert mean_dominant(0.1) > mean_dominant(100.0) + 0.3


def test_too_few_samples_is_an_error():
    with pytest.raises(ValueError):
        partition_dirichlet(np.zeros(5, dtype=np.int64), 3, 2, alpha=1.0)

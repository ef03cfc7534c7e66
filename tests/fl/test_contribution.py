from __future__ import annotations

import pytest

from fl_worker.contribution import (
    CoalitionValue,
    contribution_scores,
    leave_one_out,
    shapley_exact,
    shapley_sampled,
    to_score_ints,
)
from fl_worker.hfl import HFLConfig, StationTrainer, run_hfl, station_datasets
from fl_worker.local import TrainConfig
from fl_worker.models import ModelSpec
from fl_worker.partition import partition_dirichlet


@pytest.fixture(scope="module")
def setting(synthetic):
    """A briefly pre-trained global model and three stations' models after one more round."""
    spec = ModelSpec(arch="mlp", input_shape=synthetic.input_shape, hidden=(16,))
    parts = partition_dirichlet(synthetic.train.y.numpy(), 3, 2, alpha=0.3, seed=1)
    stations = station_datasets(synthetic.train, parts)
    cfg = HFLConfig(global_rounds=3, train=TrainConfig(local_epochs=1, lr=0.05))
    previous = run_hfl(spec, stations, synthetic.test, cfg).final_state
    results = [StationTrainer(spec, c, cfg, station_id=j).train_global_round(previous, 3) for j, c in enumerate(stations)]
    return spec, previous, [(r.state, r.samples) for r in results]


def test_shapley_efficiency(setting, synthetic):
    spec, previous, stations = setting
    value = CoalitionValue(stations, spec, synthetic.test, previous_global=previous)
    phi = shapley_exact(value)
    everyone = frozenset(range(len(stations)))
    assert sum(phi) == pytest.approx(value(everyone) - value(frozenset()), abs=1e-12)
    sampled = shapley_sampled(value, permutations=10, seed=0)
    assert sum(sampled) == pytest.approx(value(everyone) - value(frozenset()), abs=1e-12)
    # v(∅) = 0 without a previous global model
    assert CoalitionValue(stations, spec, synthetic.test)(frozenset()) == 0.0


def test_shapley_symmetry(setting, synthetic):
    spec, previous, stations = setting
    twins = [stations[0], stations[1], (dict(stations[1][0]), stations[1][1])]
    phi = shapley_exact(CoalitionValue(twins, spec, synthetic.test, previous_global=previous))
    assert phi[1] == phi[2]


@pytest.mark.parametrize("coalition, tolerance", [("update", 0.0), ("average", 0.03)])
def test_null_player(setting, synthetic, coalition, tolerance):
    spec, previous, stations = setting
    lazy = (dict(previous), stations[0][1])  # sends back the unchanged global model
    with_lazy = [*stations, lazy]
    phi = shapley_exact(CoalitionValue(with_lazy, spec, synthetic.test, previous_global=previous, coalition=coalition))
    assert abs(phi[-1]) <= tolerance + 1e-12
    assert to_score_ints([phi[-1]])[0] <= tolerance * 10_000


def test_leave_one_out_and_scores(setting, synthetic):
    spec, previous, stations = setting
    value = CoalitionValue(stations, spec, synthetic.test, previous_global=previous)
    loo = leave_one_out(value)
    everyone = frozenset(range(3))
    assert loo == [value(everyone) - value(everyone - {i}) for i in range(3)]
    assert contribution_scores(stations, spec, synthetic.test, method="loo", previous_global=previous) == loo
    # beyond the exact limit the sampled estimator is used, still efficient
    many = stations * 3
    phi = contribution_scores(many, spec, synthetic.test, exact_limit=8, permutations=5, seed=1)
    assert len(phi) == 9


def test_to_score_ints():
    assert to_score_ints([0.12345, -0.2, 0.0, 1.0]) == [1234, 0, 0, 10_000]
    assert to_score_ints([0.5], scale=100) == [50]

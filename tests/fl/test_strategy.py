"""The coordinator's FL server logic behind fl_worker.strategy.Strategy (ScreenedFedAvg): initial model,
screened sample-weighted aggregation with its evidence, evaluation, and contribution scores."""
from __future__ import annotations

import torch

from fl_worker.aggregate import weighted_average
from fl_worker.data import load_digits
from fl_worker.hfl import StationResult
from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.strategy import ScreenedFedAvg, Strategy

SPEC = ModelSpec(arch="mlp", input_shape=(1, 8, 8), hidden=(16,), init_seed=3)


def _moved(prev: dict[str, torch.Tensor], delta: float) -> dict[str, torch.Tensor]:
    return {k: v + delta for k, v in prev.items()}


def test_screened_fedavg_is_a_strategy_and_screens_before_averaging():
    s = ScreenedFedAvg(norm_factor=5.0, min_cosine=-0.5)
    assert isinstance(s, Strategy)
    prev = s.initialize_parameters(SPEC)
    assert all(torch.equal(prev[k], v) for k, v in state_of(build_model(SPEC)).items())
    honest = [StationResult(i, 0, _moved(prev, 0.1 + 0.01 * i), 10 * (i + 1), 0.5) for i in range(4)]
    against = StationResult(4, 0, _moved(prev, -0.1), 40, 0.5)  # points against the others: left out
    fit = s.aggregate_fit(0, honest + [against], prev)
    assert [r.station_id for r in fit.included] == [0, 1, 2, 3]
    assert [e["action"] for e in fit.evidence] == ["left-out"] and fit.evidence[0]["station_id"] == 4
    expected = weighted_average([(r.state, r.samples) for r in honest])
    assert all(torch.equal(fit.state[k], expected[k]) for k in expected)
    # nothing with weight: the previous model carries over unchanged
    empty = s.aggregate_fit(1, [StationResult(0, 1, _moved(prev, 0.1), 0, 0.0)], prev)
    assert all(torch.equal(empty.state[k], prev[k]) for k in prev)


def test_evaluate_and_score():
    s = ScreenedFedAvg()
    prev = s.initialize_parameters(SPEC)
    assert s.evaluate(0, SPEC, prev, None, 0x3FF) is None
    validation = load_digits(seed=0).test
    acc = s.evaluate(0, SPEC, prev, validation, 0x3FF)
    assert acc is not None and 0.0 <= acc <= 1.0
    stations = ["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20]
    included = [(stations[0], _moved(prev, 0.01), 30), (stations[2], _moved(prev, 0.02), 10)]
    # without validation data: sample shares in bps; a station with nothing included scores 0
    assert s.score(stations, included, SPEC, None, 0x3FF, prev) == [7500, 0, 2500]
    scored = s.score(stations, included, SPEC, validation, 0x3FF, prev)
    assert len(scored) == 3 and scored[1] == 0 and all(x >= 0 for x in scored)

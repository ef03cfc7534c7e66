from __future__ import annotations

import time

import torch

from fl_worker.data import mask_from_labels
from fl_worker.hfl import HFLConfig, StationTrainer, aggregate_stations, run_hfl, station_datasets
from fl_worker.local import TrainConfig, evaluate
from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.partition import partition_dirichlet, partition_iid
from fl_worker.wire import decode_state, state_hash


def _stations(data, stations=3, clients=3, seed=0, alpha=None):
    y = data.train.y.numpy()
    parts = (
        partition_iid(len(y), stations, clients, seed)
        if alpha is None
        else partition_dirichlet(y, stations, clients, alpha, seed)
    )
    return station_datasets(data.train, parts)


def test_short_run_is_bitwise_deterministic(synthetic):
    spec = ModelSpec(arch="mlp", input_shape=synthetic.input_shape, hidden=(32,))
    cfg = HFLConfig(global_rounds=2, edge_rounds=2, seed=11, train=TrainConfig(local_epochs=1, batch_size=16))
    stations = _stations(synthetic, alpha=0.5)
    a = run_hfl(spec, stations, synthetic.test, cfg)
    b = run_hfl(spec, stations, synthetic.test, cfg)
    assert all(torch.equal(a.final_state[k], b.final_state[k]) for k in a.final_state)
    assert a.accuracies == b.accuracies
    c = run_hfl(spec, stations, synthetic.test, cfg.model_copy(update={"seed": 12}))
    assert not all(torch.equal(a.final_state[k], c.final_state[k]) for k in a.final_state)


def test_station_result_independent_of_order(synthetic):
    spec = ModelSpec(arch="mlp", input_shape=synthetic.input_shape, hidden=(16,))
    stations = _stations(synthetic)
    cfg = HFLConfig(train=TrainConfig(local_epochs=1))
    start = state_of(build_model(spec))
    alone = StationTrainer(spec, stations[2], cfg, station_id=2).train_global_round(start, round_index=3)
    for j in (0, 1):
        StationTrainer(spec, stations[j], cfg, station_id=j).train_global_round(start, round_index=3)
    again = StationTrainer(spec, stations[2], cfg, station_id=2).train_global_round(start, round_index=3)
    assert alone.report() == again.report()


def test_kappa_one_matches_flat_fedavg(synthetic):
    spec = ModelSpec(arch="mlp", input_shape=synthetic.input_shape, hidden=(16,))
    stations = _stations(synthetic, alpha=1.0)
    cfg = HFLConfig(global_rounds=2, edge_rounds=1, train=TrainConfig(local_epochs=1))
    hier = run_hfl(spec, stations, synthetic.test, cfg)
    flat = run_hfl(spec, stations, synthetic.test, cfg.model_copy(update={"mode": "flat"}))
    for k in hier.final_state:
        assert torch.allclose(hier.final_state[k], flat.final_state[k], atol=1e-5)


def test_station_api_report_and_wire(synthetic):
    spec = ModelSpec(arch="cnn", input_shape=synthetic.input_shape)
    stations = _stations(synthetic)
    mask = mask_from_labels([0, 1, 2])
    trainers = [StationTrainer(spec, c, station_id=j, labels_mask=mask) for j, c in enumerate(stations)]
    start = state_of(build_model(spec))
    results = [t.train_global_round(start, 0) for t in trainers]
    assert [r.samples for r in results] == [t.samples for t in trainers]
    assert sum(r.samples for r in results) == len(synthetic.train.filter_labels(mask))
    report = results[0].report()
    assert report.round_index == 0 and 0 <= report.local_accuracy_bps <= 10_000
    decoded = decode_state(results[0].encode(), spec, expected_hash=report.update_hash)
    assert state_hash(results[0].encode()) == report.update_hash
    glob = aggregate_stations(results)
    assert set(glob) == set(decoded)
    assert evaluate(glob, synthetic.test, mask, spec=spec) > 0.5


def test_station_without_target_samples_returns_global(synthetic):
    spec = ModelSpec(arch="mlp", input_shape=synthetic.input_shape, hidden=(8,))
    only_zero = synthetic.train.filter_labels(mask_from_labels([0]))
    trainer = StationTrainer(spec, [only_zero], labels_mask=mask_from_labels([5]))
    start = state_of(build_model(spec))
    result = trainer.train_global_round(start)
    assert result.samples == 0 and all(torch.equal(result.state[k], start[k]) for k in start)


def test_hierarchical_training_on_digits_reaches_85_percent(digits):
    spec = ModelSpec(arch="cnn", input_shape=digits.input_shape)
    cfg = HFLConfig(
        global_rounds=8, edge_rounds=2, seed=0, train=TrainConfig(local_epochs=1, batch_size=16, lr=0.05)
    )
    started = time.perf_counter()
    history = run_hfl(spec, _stations(digits, stations=3, clients=4, alpha=0.5), digits.test, cfg)
    assert history.accuracies[-1] >= 0.85, history.accuracies
    assert time.perf_counter() - started < 60

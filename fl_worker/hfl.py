"""Hierarchical federated learning: edge clients -> base stations -> global model.

One global round, as a base station runs it (`StationTrainer.train_global_round`):
    w_station = w_global
    repeat kappa (= edge_rounds) times:
        every client c starts from w_station and runs E local epochs of SGD -> w_c
        w_station = sum_c n_c w_c / sum_c n_c
    upload (w_station, n_station = sum_c n_c, local accuracy)
and the coordinator (the proposal's winner) sets w_global = sum_j n_j w_j / sum_j n_j
(`aggregate_stations`). `run_hfl` drives a whole session in-process; `mode="flat"` is plain
FedAvg over all clients for comparison (with kappa = 1 the two agree up to float rounding).

Determinism: each client's batch order comes from a generator seeded with
derive_seed(seed, station_id, round, edge_round, client), so a station's result depends only on
its inputs -- not on which other stations ran first or in which process.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Mapping, Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from fl_worker.aggregate import StateDict, weighted_average
from fl_worker.data.base import Split
from fl_worker.local import TrainConfig, derive_seed, evaluate, set_deterministic, train_local
from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.wire import encode_state, state_hash

log = logging.getLogger(__name__)


class StationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    edge_rounds: int = Field(default=1, ge=1, description="kappa: edge aggregations per global round")
    train: TrainConfig = TrainConfig()
    seed: int = 0


class HFLConfig(StationConfig):
    global_rounds: int = Field(default=10, ge=1)
    mode: Literal["hierarchical", "flat"] = "hierarchical"


class StationReport(BaseModel):
    """What a base station records on chain for one global round."""

    model_config = ConfigDict(frozen=True)

    station_id: int
    round_index: int
    samples: int
    local_accuracy_bps: int = Field(ge=0, le=10_000)
    update_hash: str


@dataclass(frozen=True)
class StationResult:
    station_id: int
    round_index: int
    state: StateDict
    samples: int
    local_accuracy: float
    client_losses: tuple[float, ...] = ()

    @property
    def local_accuracy_bps(self) -> int:
        return int(round(self.local_accuracy * 10_000))

    def encode(self) -> bytes:
        return encode_state(self.state)

    def report(self) -> StationReport:
        return StationReport(
            station_id=self.station_id,
            round_index=self.round_index,
            samples=self.samples,
            local_accuracy_bps=self.local_accuracy_bps,
            update_hash=state_hash(self.encode()),
        )


class StationTrainer:
    """A base station and its edge clients (the API the aggregator daemon calls).

    `clients` are the edge clients' datasets; with `labels_mask` (the proposal's target `y`) each
    client keeps only samples of those labels. The local accuracy reported is measured on
    `validation` when given, else on the station's own (filtered) training data.
    """

    def __init__(
        self,
        spec: ModelSpec,
        clients: Sequence[Split],
        config: StationConfig | None = None,
        *,
        station_id: int = 0,
        labels_mask: int | None = None,
        validation: Split | None = None,
    ) -> None:
        self.spec = spec
        self.config = config or StationConfig()
        self.station_id = station_id
        self.labels_mask = labels_mask
        self.clients = [c.filter_labels(labels_mask) for c in clients]
        self.validation = validation.filter_labels(labels_mask) if validation is not None else None
        self._model = build_model(spec)

    @property
    def samples(self) -> int:
        return sum(len(c) for c in self.clients)

    def _client_update(self, start: Mapping[str, Tensor], data: Split, seed: int) -> tuple[StateDict, float]:
        self._model.load_state_dict(start)
        loss = train_local(self._model, data, self.config.train, seed)
        return state_of(self._model), loss

    def train_global_round(self, global_state: Mapping[str, Tensor], round_index: int = 0) -> StationResult:
        if self.samples == 0:
            log.warning("station %d has no samples for labels %r", self.station_id, self.labels_mask)
            return StationResult(self.station_id, round_index, {k: v.clone() for k, v in global_state.items()}, 0, 0.0)
        station_state: Mapping[str, Tensor] = global_state
        losses: list[float] = []
        for edge_round in range(self.config.edge_rounds):
            updates: list[tuple[StateDict, int]] = []
            losses = []
            for c, data in enumerate(self.clients):
                if len(data) == 0:
                    continue
                seed = derive_seed(self.config.seed, self.station_id, round_index, edge_round, c)
                state, loss = self._client_update(station_state, data, seed)
                updates.append((state, len(data)))
                losses.append(loss)
            station_state = weighted_average(updates)
        self._model.load_state_dict(station_state)
        check = self.validation if self.validation is not None and len(self.validation) else _concat(self.clients)
        accuracy = evaluate(self._model, check)
        return StationResult(self.station_id, round_index, dict(station_state), self.samples, accuracy, tuple(losses))

    def client_updates(self, global_state: Mapping[str, Tensor], round_index: int = 0) -> list[tuple[StateDict, int]]:
        """Flat-FedAvg step: every client trains once from the global model; no station average."""
        out = []
        for c, data in enumerate(self.clients):
            if len(data):
                seed = derive_seed(self.config.seed, self.station_id, round_index, 0, c)
                out.append((self._client_update(global_state, data, seed)[0], len(data)))
        return out


def _concat(splits: Sequence[Split]) -> Split:
    return Split(torch.cat([s.X for s in splits]), torch.cat([s.y for s in splits]))


def aggregate_stations(results: Sequence[StationResult]) -> StateDict:
    """The global model: stations averaged by their sample counts (stations with none are ignored)."""
    return weighted_average([(r.state, r.samples) for r in results])


class RoundRecord(BaseModel):
    round_index: int
    accuracy: float
    station_samples: list[int]
    station_local_accuracy: list[float]
    seconds: float


@dataclass
class HFLHistory:
    spec: ModelSpec
    config: HFLConfig
    rounds: list[RoundRecord] = field(default_factory=list)
    final_state: StateDict = field(default_factory=dict)
    last_results: list[StationResult] = field(default_factory=list)

    @property
    def accuracies(self) -> list[float]:
        return [r.accuracy for r in self.rounds]


def run_hfl(
    spec: ModelSpec,
    stations: Sequence[Sequence[Split]],
    test: Split,
    config: HFLConfig,
    *,
    labels_mask: int | None = None,
    eval_mask: int | None = None,
    initial_state: Mapping[str, Tensor] | None = None,
    on_round: Callable[[RoundRecord], None] | None = None,
) -> HFLHistory:
    """Run a whole session in-process; accuracy on `test` (labels in `eval_mask`) after each round.

    `stations[j]` lists station j's client datasets; `labels_mask` is the proposal's target.
    """
    set_deterministic()
    trainers = [
        StationTrainer(spec, clients, config, station_id=j, labels_mask=labels_mask) for j, clients in enumerate(stations)
    ]
    if sum(t.samples for t in trainers) == 0:
        raise ValueError("no station holds a sample of the target labels")
    global_state: StateDict = dict(initial_state) if initial_state is not None else state_of(build_model(spec))
    evaluator = build_model(spec)
    history = HFLHistory(spec, config)
    for r in range(config.global_rounds):
        t0 = time.perf_counter()
        if config.mode == "hierarchical":
            results = [t.train_global_round(global_state, r) for t in trainers]
            global_state = aggregate_stations(results)
            history.last_results = results
            samples = [res.samples for res in results]
            local_acc = [res.local_accuracy for res in results]
        else:
            updates = [u for t in trainers for u in t.client_updates(global_state, r)]
            global_state = weighted_average(updates)
            samples = [t.samples for t in trainers]
            local_acc = []
        evaluator.load_state_dict(global_state)
        record = RoundRecord(
            round_index=r,
            accuracy=evaluate(evaluator, test, eval_mask),
            station_samples=samples,
            station_local_accuracy=local_acc,
            seconds=time.perf_counter() - t0,
        )
        history.rounds.append(record)
        log.debug("round %d accuracy %.4f (%.2fs)", r, record.accuracy, record.seconds)
        if on_round is not None:
            on_round(record)
    history.final_state = global_state
    return history


def station_datasets(data: Split, partition: Sequence[Sequence[object]]) -> list[list[Split]]:
    """Turn a partition of indices (see fl_worker.partition) into per-client datasets."""
    return [[data.subset(torch.as_tensor(idx, dtype=torch.int64)) for idx in station] for station in partition]

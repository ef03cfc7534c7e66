"""The coordinator's FL server logic behind one Strategy boundary, after Flower's `Strategy`
(flwr.server.strategy: initialize_parameters, aggregate_fit, evaluate): the coordinator's training service
(backend.services.training) calls only these methods; which updates count, how they are averaged, how the
result is evaluated and how contributions are scored all live here.

`ScreenedFedAvg` is the one strategy: outlier screening (norm clip against the median distance, leave out an
update pointing against the others), sample-weighted FedAvg (fl_worker.aggregate), accuracy on the validation
split under the proposal's label mask, and contribution scores (Shapley for <= 8 updates, else leave-one-out;
sample shares without validation data). `clip_update` and `round_scores` are also what the score auditor
(backend.audit_scores) recomputes with.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from fl_worker.aggregate import StateDict
from fl_worker.contribution import contribution_scores, to_score_ints
from fl_worker.data.base import Split
from fl_worker.hfl import StationResult, aggregate_stations
from fl_worker.local import evaluate
from fl_worker.models import ModelSpec, build_model, state_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitAggregate:
    """What `aggregate_fit` returns: the new global state, the results as they were aggregated (clipped ones
    clipped, left-out ones missing) and the evidence of every screening action (keyed by station_id)."""

    state: StateDict
    included: list[StationResult]
    evidence: list[dict[str, Any]]


class Strategy(ABC):
    """The server side of one global round (Flower's Strategy boundary, for a coordinator that is not trusted:
    every step is deterministic so that an auditor can redo it from the published artifacts)."""

    @abstractmethod
    def initialize_parameters(self, spec: ModelSpec) -> StateDict:
        """The initial global model of a proposal's spec."""

    @abstractmethod
    def aggregate_fit(self, server_round: int, results: Sequence[StationResult], previous: StateDict) -> FitAggregate:
        """Global round `server_round`'s station results (in the stations' order) -> the next global model."""

    @abstractmethod
    def evaluate(self, server_round: int, spec: ModelSpec, state: StateDict, validation: Split | None,
                 label_mask: int) -> float | None:
        """Accuracy of `state` on the validation split (None without one, or when it cannot be evaluated)."""

    @abstractmethod
    def score(self, stations: list[str], included: Sequence[tuple[str, StateDict, int]], spec: ModelSpec,
              validation: Split | None, label_mask: int, previous: StateDict, round_id: int = -1) -> list[int]:
        """Contribution scores of the last global round's included updates, one per station of `stations`."""


class ScreenedFedAvg(Strategy):
    def __init__(self, norm_factor: float = 5.0, min_cosine: float = -0.5) -> None:
        self.norm_factor = float(norm_factor)
        self.min_cosine = float(min_cosine)

    def initialize_parameters(self, spec: ModelSpec) -> StateDict:
        return state_of(build_model(spec))

    def aggregate_fit(self, server_round: int, results: Sequence[StationResult], previous: StateDict) -> FitAggregate:
        included, evidence = screen_updates(results, previous, self.norm_factor, self.min_cosine)
        with torch.no_grad():
            if sum(r.samples for r in included) > 0:
                state = aggregate_stations(included)
            else:
                state = {k: v.clone() for k, v in previous.items()}
        return FitAggregate(state, included, evidence)

    def evaluate(self, server_round: int, spec: ModelSpec, state: StateDict, validation: Split | None,
                 label_mask: int) -> float | None:
        if validation is None:
            return None
        model = build_model(spec)
        model.load_state_dict(state)
        try:
            return evaluate(model, validation, label_mask)
        except ValueError as exc:
            log.warning("global round %d: cannot evaluate: %s", server_round, exc)
            return None

    def score(self, stations: list[str], included: Sequence[tuple[str, StateDict, int]], spec: ModelSpec,
              validation: Split | None, label_mask: int, previous: StateDict, round_id: int = -1) -> list[int]:
        return round_scores(stations, included, spec, validation, label_mask, previous, round_id)


def round_scores(stations: list[str], included: Sequence[tuple[str, StateDict, int]], spec: ModelSpec,
                 validation: Split | None, label_mask: int, prev_state: StateDict, round_id: int = -1) -> list[int]:
    """The contribution scores of a round, one per selected station (in `stations` order): Shapley for <= 8
    included updates, else leave-one-out (fl_worker.contribution), on `validation`, over the last global round's
    `included` (station, state as aggregated, aggregation weight) in the stations' order, from `prev_state`;
    sample shares in bps without validation data. The coordinator (through `ScreenedFedAvg.score`) and `hcfl
    audit` (backend.audit_scores) both call this one definition."""
    order = {a: j for j, a in enumerate(stations)}
    live = sorted(included, key=lambda x: order.get(x[0], 10**9))
    scored: list[int] | None = None
    if validation is not None and live:
        try:
            raw = contribution_scores(
                [(state, n) for _, state, n in live], spec, validation,
                method="shapley" if len(live) <= 8 else "loo", labels_mask=label_mask, previous_global=prev_state,
            )
            scored = to_score_ints(raw)
        except ValueError as exc:
            log.warning("round %d: contribution scores unavailable (%s); using sample shares", round_id, exc)
    if scored is None:  # no validation data: sample shares in bps
        total = sum(n for _, _, n in live) or 1
        scored = [n * 10_000 // total for _, _, n in live]
    per_live = {a: s for (a, _, _), s in zip(live, scored)}
    return [max(0, int(per_live.get(a, 0))) for a in stations]


def clip_update(state: Mapping[str, Tensor], prev_state: Mapping[str, Tensor], scale: float) -> StateDict:
    """`prev + (state - prev) * scale` per tensor: a norm-clipped update (screen_updates; the auditor redoes it)."""
    return {k: (prev_state[k].double() + (state[k].double() - prev_state[k].double()) * scale).to(state[k].dtype)
            for k in prev_state}


def screen_updates(results: Sequence[StationResult], prev_state: StateDict, norm_factor: float,
                   min_cosine: float) -> tuple[list[StationResult], list[dict[str, Any]]]:
    """Outlier screening of station updates against the previous global model (needs >= 3 updates).

    An update whose distance from the previous model exceeds `norm_factor` x the median distance is clipped
    to that bound; one whose direction has cosine < `min_cosine` with the mean of the others' directions is
    left out. Returns the (possibly clipped) results to aggregate and the evidence, one dict per action."""
    if len(results) < 3:
        return list(results), []
    keys = list(prev_state)

    def flat(state: Mapping[str, Tensor]) -> Tensor:
        return torch.cat([(state[k].detach().double() - prev_state[k].double()).flatten() for k in keys])

    deltas = [flat(r.state) for r in results]
    norms = [float(d.norm()) for d in deltas]
    median = float(torch.tensor(norms, dtype=torch.float64).median())
    evidence: list[dict[str, Any]] = []
    kept: list[StationResult] = []
    for i, (r, d, n) in enumerate(zip(results, deltas, norms)):
        others = torch.stack([x for j, x in enumerate(deltas) if j != i]).mean(dim=0)
        denom = float(d.norm() * others.norm())
        cosine = float(d @ others) / denom if denom > 0 else 1.0
        if cosine < min_cosine:
            evidence.append({"station_id": r.station_id, "action": "left-out", "cosine": round(cosine, 6),
                             "min_cosine": min_cosine, "norm": round(n, 6), "median_norm": round(median, 6)})
            continue
        bound = norm_factor * median
        if median > 0 and n > bound:
            scale = bound / n
            state = clip_update(r.state, prev_state, scale)
            evidence.append({"station_id": r.station_id, "action": "norm-clipped", "norm": round(n, 6),
                             "median_norm": round(median, 6), "bound": round(bound, 6), "scale": scale})
            r = StationResult(r.station_id, r.round_index, state, r.samples, r.local_accuracy)
        kept.append(r)
    return kept, evidence

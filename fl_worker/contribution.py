"""Per-base-station contribution scores, computed by the winner on its validation data.

Characteristic function over coalitions S of stations:
    v(S) = accuracy of the sample-weighted average of S's station models       (coalition="average")
    v(∅) = accuracy of the previous global model when given, else 0
The "average" coalition re-normalizes the weights over S, as the brief's "aggregate of S's models"
says; a station that returns the unchanged global model is then only approximately a null player
(mixing it in pulls the average towards the old model). `coalition="update"` instead applies S's
updates with the full-set weights, w_S = w_prev + sum_{i in S} n_i/N (w_i - w_prev), under which
such a station is exactly null; it needs the previous global model.

Scores: leave-one-out v(N) - v(N \\ {i}); exact Shapley for up to `exact_limit` stations (2^n
coalitions, each evaluated once); seeded permutation sampling beyond. Both Shapley variants are
efficient: the scores sum to v(N) - v(∅).
"""
from __future__ import annotations

from typing import Literal, Mapping, Sequence

import torch
from torch import Tensor

from fl_worker.aggregate import StateDict, weighted_average
from fl_worker.data.base import Split
from fl_worker.local import evaluate
from fl_worker.models import ModelSpec, build_model
from hcfl.edge import shapley as edge_shapley

Coalition = Literal["average", "update"]
Station = tuple[Mapping[str, Tensor], int]  # (state dict, sample count)


class CoalitionValue:
    """v(S) with memoization; S is a frozenset of station indices."""

    def __init__(
        self,
        stations: Sequence[Station],
        spec: ModelSpec,
        validation: Split,
        *,
        labels_mask: int | None = None,
        previous_global: Mapping[str, Tensor] | None = None,
        coalition: Coalition = "average",
    ) -> None:
        if not stations:
            raise ValueError("no stations to score")
        if coalition == "update" and previous_global is None:
            raise ValueError('coalition="update" needs the previous global model')
        self.stations = list(stations)
        self.validation = validation.filter_labels(labels_mask)
        if len(self.validation) == 0:
            raise ValueError("validation data has no sample of the target labels")
        self.previous_global = previous_global
        self.coalition = coalition
        self._model = build_model(spec)
        self._cache: dict[frozenset[int], float] = {}

    @property
    def n(self) -> int:
        return len(self.stations)

    def _accuracy(self, state: Mapping[str, Tensor]) -> float:
        self._model.load_state_dict(state)
        return evaluate(self._model, self.validation)

    def _aggregate(self, members: frozenset[int]) -> StateDict:
        if self.coalition == "average":
            return weighted_average([self.stations[i] for i in sorted(members)])
        assert self.previous_global is not None
        total = sum(n for _, n in self.stations)
        out: StateDict = {}
        for key, prev in self.previous_global.items():
            acc = prev.detach().to(torch.float64).clone()
            for i in sorted(members):
                state, n = self.stations[i]
                acc += (state[key].to(torch.float64) - prev.to(torch.float64)) * (n / total)
            out[key] = acc.to(prev.dtype)
        return out

    def __call__(self, members: frozenset[int]) -> float:
        if members not in self._cache:
            if members and sum(self.stations[i][1] for i in members) > 0:
                self._cache[members] = self._accuracy(self._aggregate(members))
            else:
                self._cache[members] = 0.0 if self.previous_global is None else self._accuracy(self.previous_global)
        return self._cache[members]


def leave_one_out(value: CoalitionValue) -> list[float]:
    everyone = frozenset(range(value.n))
    full = value(everyone)
    return [full - value(everyone - {i}) for i in range(value.n)]


def shapley_exact(value: CoalitionValue) -> list[float]:
    """Exact Shapley values (the one definition lives in `hcfl.edge.shapley`)."""
    return edge_shapley.exact(value.n, value)


def shapley_sampled(value: CoalitionValue, permutations: int, seed: int = 0) -> list[float]:
    """Monte Carlo Shapley over `permutations` seeded random orders (each order's marginal
    contributions telescope to v(N) - v(∅), so the estimate stays efficient); `hcfl.edge.shapley`."""
    return edge_shapley.sampled(value.n, value, permutations, seed)


def shapley(value: CoalitionValue, *, exact_limit: int = 8, permutations: int = 200, seed: int = 0) -> list[float]:
    if value.n <= exact_limit:
        return shapley_exact(value)
    return shapley_sampled(value, permutations, seed)


def contribution_scores(
    stations: Sequence[Station],
    spec: ModelSpec,
    validation: Split,
    *,
    method: Literal["shapley", "loo"] = "shapley",
    labels_mask: int | None = None,
    previous_global: Mapping[str, Tensor] | None = None,
    coalition: Coalition = "average",
    exact_limit: int = 8,
    permutations: int = 200,
    seed: int = 0,
) -> list[float]:
    """Convenience wrapper: scores (accuracy units, may be negative) per station, in input order."""
    value = CoalitionValue(
        stations, spec, validation, labels_mask=labels_mask, previous_global=previous_global, coalition=coalition
    )
    if method == "loo":
        return leave_one_out(value)
    return shapley(value, exact_limit=exact_limit, permutations=permutations, seed=seed)


def to_score_ints(scores: Sequence[float], scale: int = 10_000) -> list[int]:
    """Non-negative integers for the chain: accuracy units -> basis points, negatives clipped to 0."""
    return [max(0, int(round(s * scale))) for s in scores]



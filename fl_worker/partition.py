"""Two-level partitioning of sample indices: base stations, then each station's edge clients.

Every function returns `stations[j][c]` = a sorted int64 numpy array of sample indices for client
`c` of station `j`; every index of the input is used exactly once.

- `iid`: a seeded shuffle cut into near-equal pieces.
- `dirichlet`: per class, proportions ~ Dir(alpha) split the class over the stations, then again
  over each station's clients (alpha small -> skewed, large -> near-IID).
- `label_skew`: heterogeneity degree h -- each client draws a fraction h of its (near-equal sized)
  data from one dominant label and the rest from the other labels; dominant labels go round-robin
  over a seeded permutation of the labels, and clients are grouped into stations in order.
"""
from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

Partition = list[list[np.ndarray]]


class PartitionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["iid", "dirichlet", "label_skew"] = "iid"
    stations: int = Field(ge=1)
    clients_per_station: int = Field(ge=1)
    alpha: float = Field(default=0.5, gt=0)
    degree: float = Field(default=0.8, ge=0, le=1)
    min_client_samples: int = Field(default=1, ge=0)
    seed: int = 0


def partition(labels: np.ndarray, config: PartitionConfig) -> Partition:
    labels = np.asarray(labels, dtype=np.int64)
    if config.method == "iid":
        return partition_iid(len(labels), config.stations, config.clients_per_station, config.seed)
    if config.method == "dirichlet":
        return partition_dirichlet(
            labels, config.stations, config.clients_per_station, config.alpha, config.seed, config.min_client_samples
        )
    return partition_label_skew(labels, config.stations, config.clients_per_station, config.degree, config.seed)


def _group(clients: list[np.ndarray], stations: int, per_station: int) -> Partition:
    return [[np.sort(clients[j * per_station + c]) for c in range(per_station)] for j in range(stations)]


def partition_iid(n: int, stations: int, clients_per_station: int, seed: int = 0) -> Partition:
    k = stations * clients_per_station
    if n < k:
        raise ValueError(f"{n} samples cannot give each of {k} clients one sample")
    order = np.random.default_rng(seed).permutation(n)
    return _group([p.astype(np.int64) for p in np.array_split(order, k)], stations, clients_per_station)


def _dirichlet_split(
    indices: np.ndarray, labels: np.ndarray, parts: int, alpha: float, rng: np.random.Generator
) -> list[np.ndarray]:
    out: list[list[np.ndarray]] = [[] for _ in range(parts)]
    for cls in np.unique(labels[indices]):
        members = rng.permutation(indices[labels[indices] == cls])
        proportions = rng.dirichlet(np.full(parts, alpha))
        cuts = (np.cumsum(proportions)[:-1] * len(members)).astype(np.int64)
        for part, piece in enumerate(np.split(members, cuts)):
            out[part].append(piece)
    return [np.concatenate(p).astype(np.int64) if p else np.empty(0, np.int64) for p in out]


def partition_dirichlet(
    labels: np.ndarray,
    stations: int,
    clients_per_station: int,
    alpha: float,
    seed: int = 0,
    min_client_samples: int = 1,
    max_attempts: int = 1000,
) -> Partition:
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) < stations * clients_per_station * max(min_client_samples, 1):
        raise ValueError(f"{len(labels)} samples are too few for {stations}x{clients_per_station} clients")
    rng = np.random.default_rng(seed)
    all_idx = np.arange(len(labels))
    # Redraw until every client holds min_client_samples (the usual practice for small alpha).
    for attempt in range(max_attempts):
        result: Partition = []
        for station_idx in _dirichlet_split(all_idx, labels, stations, alpha, rng):
            if len(station_idx) < clients_per_station * min_client_samples:
                break
            clients = _dirichlet_split(station_idx, labels, clients_per_station, alpha, rng)
            if min(len(c) for c in clients) < min_client_samples:
                break
            result.append([np.sort(c) for c in clients])
        else:
            if attempt:
                log.debug("dirichlet partition needed %d redraws", attempt)
            return result
    raise ValueError(
        f"no Dirichlet(alpha={alpha}) partition gave every one of {stations}x{clients_per_station} clients "
        f"{min_client_samples} samples in {max_attempts} draws; raise alpha or lower min_client_samples"
    )


def partition_label_skew(
    labels: np.ndarray, stations: int, clients_per_station: int, degree: float, seed: int = 0
) -> Partition:
    labels = np.asarray(labels, dtype=np.int64)
    n, k = len(labels), stations * clients_per_station
    if n < k:
        raise ValueError(f"{n} samples cannot give each of {k} clients one sample")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    dominant = rng.permutation(classes)[np.arange(k) % len(classes)]
    pools = {int(c): list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}

    taken: list[list[int]] = [[] for _ in range(k)]
    for c in rng.permutation(k):  # random order so no client is systematically short of its label
        pool = pools[int(dominant[c])]
        quota = min(int(round(degree * sizes[c])), len(pool))
        taken[c] = [pool.pop() for _ in range(quota)]

    leftover = rng.permutation(np.concatenate([np.asarray(p, dtype=np.int64) for p in pools.values()]))
    leftover_labels = labels[leftover]
    used = np.zeros(len(leftover), dtype=bool)
    for c in rng.permutation(k):
        need = int(sizes[c]) - len(taken[c])
        if need <= 0:
            continue
        # fill from labels other than the dominant one; fall back to any label if those run out
        for allow_dominant in (False, True):
            free = ~used if allow_dominant else (~used) & (leftover_labels != dominant[c])
            pick = np.flatnonzero(free)[:need]
            used[pick] = True
            taken[c].extend(leftover[pick].tolist())
            need -= len(pick)
            if need == 0:
                break
    if not used.all():  # cannot happen when sizes sum to n, kept as a guard
        raise AssertionError("label-skew partition left samples unassigned")
    return _group([np.asarray(t, dtype=np.int64) for t in taken], stations, clients_per_station)


def dominant_fraction(labels: np.ndarray, indices: np.ndarray) -> float:
    """Share of the most frequent label among `indices`."""
    if len(indices) == 0:
        return 0.0
    return float(np.bincount(np.asarray(labels)[indices]).max() / len(indices))

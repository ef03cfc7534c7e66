"""Edge rewards under volume-only, quality-weighted and Shapley rules (seed 004, G23).

One cell (base station) with 6 edge clients on digits, one FL round from a weak previous global model
(trained on 40 samples), so every client's update is worth something:
- clients 0-3: honest, 160 distinct samples each (IID slices of the training split);
- client 4, the duplicator: 20 distinct samples, each stored 8 times, so it too reports 160 samples;
- client 5, the free-rider: reports 160 samples but returns the global model unchanged.
Each client runs 5 epochs of minibatch SGD (batch 20, step 0.5) on softmax regression from the
global model; the station aggregates updates with the reported counts as weights.
The station's validation data is half of the test split; shares are reported on the other half's
behalf only through the model (the rules never see test data).

Rules, each settled into a 1 ETH budget by `hcfl.edge` (cumulative-floor rounding):
- `samples` (volume-only): weight = reported sample count;
- `quality-weighted` (G1/G5): weight = distinct samples (exact duplicates removed; assumes per-sample
  hashes are committed) x max(0, validation-accuracy gain of the client's own update);
- `shapley` (G2): exact Shapley with v(S) = validation accuracy of w_prev + sum_{i in S} (n_i/N)(w_i - w_prev);
  the free-rider is then exactly a null player;
- `equal`, for reference.
Averaged over 5 seeds (2 with --quick).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fl_worker.data import load_dataset
from fl_worker.experiments._softmax import Flat, accuracy, flatten, grad
from hcfl.edge import EdgeRewardRule, allocate
from hcfl.edge import settle as edge_settle
from hcfl.experiments._common import add_standard_arguments, log_written, pyplot, save_figure, write_json

NAME = "edge-fairness"
COMMAND = "hcfl experiment edge-fairness"
BUDGET = 10**18
HONEST, PER_CLIENT, DUP_DISTINCT, DUP_COPIES = 4, 160, 20, 8
LABELS = ["honest 0", "honest 1", "honest 2", "honest 3", "duplicator", "free-rider"]
RULES = ("samples", "quality-weighted", "shapley", "equal")
LAM = 0.01
log = logging.getLogger(__name__)


def _local_sgd(W: np.ndarray, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, epochs: int = 5, batch: int = 20,
               lr: float = 0.5) -> np.ndarray:
    W = W.copy()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for s in range(0, len(y), batch):
            b = order[s : s + batch]
            W -= lr * grad(W, X[b], y[b], LAM)
    return W


def one_cell(train: Flat, val: Flat, num_classes: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train.y))
    take = iter(np.split(order[: 40 + HONEST * PER_CLIENT + DUP_DISTINCT], np.cumsum([40] + [PER_CLIENT] * HONEST)))
    pre = next(take)
    W0 = np.zeros((train.X.shape[1], num_classes))
    W0 = _local_sgd(W0, train.X[pre], train.y[pre], rng, epochs=2)
    data: list[np.ndarray] = [next(take) for _ in range(HONEST)]
    data.append(np.repeat(next(take), DUP_COPIES))  # duplicator: 20 distinct samples x 8
    reported = [len(d) for d in data] + [PER_CLIENT]
    models = [_local_sgd(W0, train.X[d], train.y[d], rng) for d in data] + [W0.copy()]  # free-rider returns W0
    distinct = [len(np.unique(train.X[d], axis=0)) for d in data] + [0]
    total = sum(reported)
    acc0 = accuracy(W0, val)

    def v(members: frozenset[int]) -> float:
        W = W0.copy()
        for i in members:
            W += reported[i] / total * (models[i] - W0)
        return accuracy(W, val)

    gain = [max(0.0, accuracy(m, val) - acc0) for m in models]
    pays: dict[str, list[int]] = {
        "samples": edge_settle.pay_samples(EdgeRewardRule(name="samples"), BUDGET, reported).amounts,
        "quality-weighted": allocate(BUDGET, [d * g for d, g in zip(distinct, gain)]).amounts,
        "equal": edge_settle.pay_equal(EdgeRewardRule(name="equal"), BUDGET, len(models)).amounts,
    }
    sp, res = edge_settle.pay_shapley(EdgeRewardRule(name="shapley"), BUDGET, len(models), v, seed=seed)
    pays["shapley"] = sp.amounts
    assert all(sum(a) == BUDGET for a in pays.values())
    return {
        "seed": seed,
        "reported_samples": reported,
        "distinct_samples": distinct,
        "accuracy_previous_global": acc0,
        "accuracy_all": v(frozenset(range(len(models)))),
        "own_update_gain": gain,
        "shapley_values": res.values,
        "shapley_method": res.method,
        "shares": {r: [a / BUDGET for a in pays[r]] for r in RULES},
    }


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    ds = load_dataset("digits", seed=0)
    train, test = flatten(ds)
    half = len(test.y) // 2
    val = Flat(test.X[:half], test.y[:half])
    cells = [one_cell(train, val, ds.num_classes, seed + k) for k in range(2 if quick else 5)]
    mean = {r: np.mean([c["shares"][r] for c in cells], axis=0).tolist() for r in RULES}
    honest_mean = {r: float(np.mean(mean[r][:HONEST])) for r in RULES}
    ratio = {r: mean[r][4] / honest_mean[r] for r in RULES}
    checks = {
        "free_rider_about_zero_under_shapley": mean["shapley"][5] <= 0.01,
        # volume-only pays the duplicator like an honest client; Shapley pays it clearly less than one
        "volume_rewards_duplicator": mean["samples"][4] >= honest_mean["samples"]
        and mean["shapley"][4] < 0.9 * honest_mean["shapley"],
        "volume_pays_free_rider": mean["samples"][5] >= honest_mean["samples"],
        "quality_and_shapley_pay_duplicator_less_than_honest": mean["quality-weighted"][4] < honest_mean["quality-weighted"]
        and mean["shapley"][4] < honest_mean["shapley"],
        "quality_pays_free_rider_nothing": mean["quality-weighted"][5] == 0.0,
    }
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "command": COMMAND + (" --quick" if quick else "") + f" --seed {seed}",
        "clients": LABELS,
        "mean_shares": mean,
        "duplicator_over_honest": ratio,
        "cells": cells,
        "checks": checks,
        "markdown": _markdown(mean),
        "seconds": time.perf_counter() - t0,
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, mean)
    for k, v in checks.items():
        log.info("%s: %s", k, v)
    log_written(log, json_path, png_path)
    return result


def _markdown(mean: dict[str, list[float]]) -> str:
    lines = ["| rule | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * len(LABELS)]
    for r in RULES:
        lines.append(f"| `{r}` | " + " | ".join(f"{100 * s:.1f}%" for s in mean[r]) + " |")
    return "\n".join(lines)


def _plot(out_dir: Path, mean: dict[str, list[float]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(RULES)
    for k, r in enumerate(RULES):
        ax.bar(np.arange(len(LABELS)) + k * width, [100 * s for s in mean[r]], width, label=r)
    ax.set_xticks(np.arange(len(LABELS)) + 1.5 * width, LABELS)
    ax.set_ylabel("share of the station's budget (%)")
    ax.set_title("Edge rewards: volume-only vs quality-weighted vs Shapley")
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=0)


def run(args: argparse.Namespace) -> int:
    result = run_experiment(args.out, quick=args.quick, seed=args.seed)
    sys.stdout.write(result["markdown"] + "\n\n" + "\n".join(f"{k}: {v}" for k, v in result["checks"].items()) + "\n")
    return 0 if all(result["checks"].values()) else 1

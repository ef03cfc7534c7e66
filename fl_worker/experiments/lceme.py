"""LCEME (seed 001, Figs. 2-7): what labeling effort, mini-batch size and model misreport do to the
trained model, and the mechanism's payoffs.

Training part (Figs. 2-5): 10 edge clients, label-skew partition with heterogeneity degree 0.4
(`fl_worker.partition.partition_label_skew`), H = 1 local step, default mini-batch D = 50, L2-regularised
softmax regression (lambda = 0.01; strongly convex as the paper assumes), step size 1.0, T = 600 rounds
(400 with --quick), averaged over 5 seeds (3 with --quick; the same seed gives every configuration
the same partition and mini-batch draws). "Loss" is the training loss on the clean-labelled training
set (what the paper plots); test loss and accuracy are reported too.
- Fig. 2-3: D in {5, 10, 50, 100} with all clients truthful; 0, 2 and 5 shirking clients (e = 0) at D = 50.
- Fig. 4-5: 5 of the 10 clients report gamma in {0, 0.5, 1, 1.5, 2} (local delta scaled by gamma).
Payoff part (Figs. 6-7), from the model (`hcfl.edge.lceme`; the notes' test-vector system):
- Fig. 6: client 1 with D'_1 = 60, the others truthful: its expected payoff vs its actual D_1 when
  truthful, when shirking (e = 0), and when reporting gamma = 0.5 or 1.5.
- Fig. 7: the server's expected payoff (minus loss bound minus expected payments) for D*, for the
  cost-agnostic split of the same total (equal here: the clients differ only in c_p) and for D = 100;
  c_p^i spread from 0.25e-6 to 4e-6.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from fl_worker.data import DatasetNotFoundError, load_dataset
from fl_worker.experiments._softmax import accuracy, fedavg, flatten, loss, shirked_labels
from fl_worker.partition import partition_label_skew
from hcfl.edge import lceme
from hcfl.experiments._common import add_standard_arguments, log_written, pyplot, save_figure, write_json

NAME = "lceme"
COMMAND = "hcfl experiment lceme"
N_CLIENTS, DEGREE, LR, LAM, DEFAULT_D = 10, 0.4, 1.0, 0.01, 50
BATCHES = (5, 10, 50, 100)
SHIRKERS = (0, 2, 5)
GAMMAS = (0.0, 0.5, 1.0, 1.5, 2.0)
N_MISREPORT = 5
log = logging.getLogger(__name__)


def _train(train, test, parts, num_classes, *, batch, shirk, gamma, rounds, seed, lr) -> dict[str, float]:
    rng = np.random.default_rng([seed, 1])
    labels = [shirked_labels(train.y[idx], num_classes, rng) if i < shirk else train.y[idx] for i, idx in enumerate(parts)]
    gam = [gamma if i >= N_CLIENTS - N_MISREPORT else 1.0 for i in range(N_CLIENTS)]
    W = fedavg(train, parts, labels, batch=[batch] * N_CLIENTS, gamma=gam, rounds=rounds, local_steps=1,
               lr=lr, lam=LAM, num_classes=num_classes, seed=seed)
    return {"train_loss": loss(W, train, LAM), "test_loss": loss(W, test, LAM), "test_accuracy": accuracy(W, test)}


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def training_part(dataset: str, data_dir: str | None, rounds: int, seeds: list[int], lr: float = LR) -> dict[str, Any]:
    ds = load_dataset(dataset, data_dir, seed=0)
    train, test = flatten(ds)
    configs: list[tuple[str, float, dict[str, Any]]] = (
        [("batch", b, {"batch": b, "shirk": 0, "gamma": 1.0}) for b in BATCHES]
        + [("shirkers", s, {"batch": DEFAULT_D, "shirk": s, "gamma": 1.0}) for s in SHIRKERS]
        + [("gamma", g, {"batch": DEFAULT_D, "shirk": 0, "gamma": g}) for g in GAMMAS]
    )
    out: dict[str, dict[str, dict[str, float]]] = {"batch": {}, "shirkers": {}, "gamma": {}}
    cache: dict[tuple, dict[str, float]] = {}
    parts_by_seed = {s: partition_label_skew(train.y, 1, N_CLIENTS, DEGREE, seed=s)[0] for s in seeds}
    for kind, x, cfg in tqdm(configs, desc=f"{NAME} training", leave=False):
        key = (cfg["batch"], cfg["shirk"], cfg["gamma"])
        if key not in cache:
            cache[key] = _mean([_train(train, test, parts_by_seed[s], ds.num_classes, rounds=rounds, seed=s, lr=lr, **cfg) for s in seeds])
        out[kind][str(x)] = cache[key]
    tl = {k: [out[k][str(x)]["train_loss"] for x in xs] for k, xs in (("batch", BATCHES), ("shirkers", SHIRKERS), ("gamma", GAMMAS))}
    g = dict(zip(GAMMAS, tl["gamma"]))
    checks = {
        "loss_falls_with_batch": all(b < a for a, b in zip(tl["batch"], tl["batch"][1:])),
        "loss_rises_with_shirkers": all(b > a for a, b in zip(tl["shirkers"], tl["shirkers"][1:])),
        "loss_lowest_at_gamma_1": min(g, key=g.__getitem__) == 1.0,
        "loss_gamma0_below_gamma2": g[0.0] < g[2.0],
    }
    return {"dataset": dataset, "rounds": rounds, "seeds": seeds, "lr": lr, "results": out, "checks": checks}


PAYOFF_SYSTEM = lceme.LcemeSystem(L=1, mu=0.1, eta=0.05, rounds=100, local_steps=1, G2=1, beta=2, w0_dist2=4)
PAYOFF_CLIENT = lceme.LcemeClient(p=0.1, sigma2=64, c_p=1e-6, c_l=0.01)


def payoff_curves(d_assigned: float = 60.0) -> dict[str, Any]:
    """Fig. 6: client 0's expected payoff vs its actual D, with D'_0 = d_assigned."""
    s, clients = PAYOFF_SYSTEM, [PAYOFF_CLIENT] * N_CLIENTS
    D = lceme.optimal_assignment(s, clients)
    D[0] = d_assigned
    if d_assigned < lceme.lower_bound(s, clients[0]):
        raise ValueError("the assigned D' must satisfy the corrected truthfulness bound")
    xs = [float(x) for x in np.linspace(10, 150, 141)]
    curves = {
        "truthful": [lceme.client_payoff(s, clients, 0, D, 1, x, 1.0) for x in xs],
        "no labeling (e=0)": [lceme.client_payoff(s, clients, 0, D, 0, x, 1.0) for x in xs],
        "gamma=0.5": [lceme.client_payoff(s, clients, 0, D, 1, x, 0.5) for x in xs],
        "gamma=1.5": [lceme.client_payoff(s, clients, 0, D, 1, x, 1.5) for x in xs],
    }
    peak = xs[int(np.argmax(curves["truthful"]))]
    best_dev = max(max(v) for k, v in curves.items() if k != "truthful")
    return {
        "d_assigned": d_assigned,
        "D": xs,
        "curves": curves,
        "truthful_peak_at": peak,
        "truthful_peak_value": max(curves["truthful"]),
        "checks": {
            "truthful_peaks_at_assigned": abs(peak - d_assigned) <= 1.0,
            "deviations_below_truthful": best_dev < max(curves["truthful"]),
        },
    }


def server_payoffs() -> dict[str, Any]:
    """Fig. 7: expected server payoff -(bound + expected payments) under three allocations."""
    s = PAYOFF_SYSTEM
    cps = np.geomspace(0.25e-6, 4e-6, N_CLIENTS)
    clients = [PAYOFF_CLIENT.model_copy(update={"c_p": float(c)}) for c in cps]
    d_star = lceme.optimal_assignment(s, clients)
    agnostic = [sum(d_star) / N_CLIENTS] * N_CLIENTS
    allocs = {"D*": d_star, "cost-agnostic (same total)": agnostic, "D=100": [100.0] * N_CLIENTS}
    payoff = {k: -lceme.server_objective(s, clients, v) for k, v in allocs.items()}
    truthful_ok = {k: all(d >= lceme.lower_bound(s, c) for d, c in zip(v, clients)) for k, v in allocs.items()}
    vals = list(payoff.values())
    return {
        "c_p": cps.tolist(),
        "allocations": allocs,
        "server_payoff": payoff,
        "allocations_meet_truthfulness_bound": truthful_ok,
        "checks": {"ranking_dstar_agnostic_100": vals[0] >= vals[1] >= vals[2]},
    }


def run_experiment(
    out_dir: str | Path,
    quick: bool = False,
    seed: int = 0,
    dataset: str = "digits",
    data_dir: str | None = None,
    lr: float = LR,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    rounds = 400 if quick else 600
    seeds = [seed + k for k in range(3 if quick else 5)]
    training = training_part(dataset, data_dir, rounds, seeds, lr)
    curves = payoff_curves()
    server = server_payoffs()
    checks = {**training["checks"], **curves["checks"], **server["checks"]}
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "command": COMMAND + (" --quick" if quick else "") + f" --seed {seed}"
        + (f" --dataset {dataset}" if dataset != "digits" else "") + (f" --lr {lr}" if lr != LR else ""),
        "setup": {"clients": N_CLIENTS, "heterogeneity_degree": DEGREE, "lr": lr, "l2": LAM, "H": 1,
                  "default_batch": DEFAULT_D, "misreporting_clients": N_MISREPORT, "model": "softmax regression"},
        "training": training,
        "payoff_curve": curves,
        "server": server,
        "checks": checks,
        "seconds": time.perf_counter() - t0,
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, result)
    for k, v in checks.items():
        log.info("%s: %s", k, v)
    log_written(log, json_path, png_path)
    return result


def _plot(out_dir: Path, r: dict[str, Any]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(2, 3, figsize=(14, 8))
    res = r["training"]["results"]
    sweeps = (("batch", BATCHES, "mini-batch size D"), ("shirkers", SHIRKERS, "shirking clients (e=0)"),
              ("gamma", GAMMAS, f"gamma of {N_MISREPORT} clients"))
    for a, (kind, xs, label) in zip(ax[0], sweeps):
        a.plot(xs, [res[kind][str(x)]["train_loss"] for x in xs], "-o", label="training loss (clean labels)")
        a.plot(xs, [res[kind][str(x)]["test_loss"] for x in xs], "--s", label="test loss")
        a.set_xlabel(label)
        a.set_ylabel("loss")
        a.legend(fontsize=7)
        a.set_title(f"{r['training']['dataset']}: loss vs {label}", fontsize=9)
    pc = r["payoff_curve"]
    for k, v in pc["curves"].items():
        ax[1][0].plot(pc["D"], v, label=k)
    ax[1][0].axvline(pc["d_assigned"], color="grey", lw=0.8)
    ax[1][0].set_xlabel("client 1's actual D (D' = 60)")
    ax[1][0].set_ylabel("expected payoff")
    ax[1][0].legend(fontsize=7)
    ax[1][0].set_title("Fig. 6: client payoff", fontsize=9)
    sp = r["server"]["server_payoff"]
    ax[1][1].bar(range(len(sp)), list(sp.values()))
    ax[1][1].set_xticks(range(len(sp)), list(sp.keys()), fontsize=7)
    ax[1][1].set_ylabel("expected server payoff")
    ax[1][1].set_title("Fig. 7: server payoff", fontsize=9)
    ax[1][2].axis("off")
    ax[1][2].text(0, 0.5, "\n".join(f"{k}: {v}" for k, v in r["checks"].items()), fontsize=8, va="center")
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=0)
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--data-dir", default=None, help="local directory holding the MNIST IDX files")
    parser.add_argument("--lr", type=float, default=LR, help=f"step size (default {LR}, chosen on digits; the gamma trends depend on it)")


def run(args: argparse.Namespace) -> int:
    try:
        if not args.lr > 0:
            raise SystemExit("hcfl experiment lceme: --lr must be > 0")
        result = run_experiment(
            args.out, quick=args.quick, seed=args.seed, dataset=args.dataset, data_dir=args.data_dir, lr=args.lr
        )
    except DatasetNotFoundError as exc:
        raise SystemExit(f"hcfl experiment lceme: {exc}") from None
    sys.stdout.write("\n".join(f"{k}: {v}" for k, v in result["checks"].items()) + "\n")
    sys.stdout.write(f"server payoff: {result['server']['server_payoff']}\n")
    return 0 if all(result["checks"].values()) else 1

"""iFedCrowd's Stackelberg game (seed 000, Figs. 2-6): iFedCrowd vs Random vs MAX rates.

Set-up (paper §Experiments, with the notes' choices where the paper is silent): alpha = 80, beta = 50,
T_min = 1, s = 0; the rate box is r1 in [min gamma T, (1+ln 2) max gamma T], r2 in [min delta, e max delta]
(`hcfl.edge.ifedcrowd.rate_box`); MAX announces the top corner, Random a uniform point of the box.
- Gamma sweep: n = 10, gamma ~ U[G, G+4] for G = 1..6, delta ~ U[1, 2];
- Delta sweep: n = 10, delta ~ U[D, D+1] for D = 0..5 (floored at 0.01), gamma ~ U[1, 5];
- n sweep: n = 5..30, gamma ~ U[3, 5], delta ~ U[2, 4].
Each configuration: 10 runs (3 with --quick); within a run all methods face the same clients, and run j
uses the same uniforms at every point of a sweep (common random numbers), so a trend is not seed noise.

Checks reported in the JSON (and asserted by tests/edge): iFedCrowd's r1 rises with Gamma and r2 with
Delta; U(iFedCrowd) >= U(Random), U(MAX) in every run; MAX gives the highest mean worker utility in
every run; r1*, r2* do not rise with n. The paper's "server utility rises with n" (Fig. 6) does NOT
follow from its Eq. (7); the measured U(n) is reported, and it falls.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from hcfl.edge import ifedcrowd as ifc
from hcfl.experiments._common import add_standard_arguments, log_written, pyplot, save_figure, write_json

NAME = "stackelberg"
COMMAND = "hcfl experiment stackelberg"
METHODS = ("iFedCrowd", "Random", "MAX")
ALPHA, BETA = 80.0, 50.0
log = logging.getLogger(__name__)


def _clients(u: np.ndarray, n: int, g: tuple[float, float], d: tuple[float, float]) -> list[ifc.ClientCost]:
    """n clients from the run's uniforms u (shape (2, 30)): gamma = g0 + (g1-g0) u[0], delta likewise."""
    gs = g[0] + (g[1] - g[0]) * u[0, :n]
    ds = np.maximum(d[0] + (d[1] - d[0]) * u[1, :n], 0.01)
    return [ifc.ClientCost(float(a), float(b), 1.0) for a, b in zip(gs, ds)]


def _one_run(clients: list[ifc.ClientCost], rng: np.random.Generator) -> dict[str, dict[str, float]]:
    rates = {
        "iFedCrowd": ifc.optimal_rates(clients, ALPHA, BETA),
        "Random": ifc.random_rates(clients, rng),
        "MAX": ifc.max_rates(clients),
    }
    return {
        m: {
            "r1": r.r1,
            "r2": r.r2,
            "server_utility": ifc.server_utility(r, clients, ALPHA, BETA),
            "worker_utility": ifc.mean_worker_utility(r, clients),
        }
        for m, r in rates.items()
    }


def _sweep(label: str, xs: Sequence[float], make, runs: int, seed: int) -> dict[str, Any]:
    """Common random numbers: run j draws the same uniforms (and Random's rates) at every x."""
    per_run: list[list[dict[str, dict[str, float]]]] = []
    for x in tqdm(xs, desc=f"{NAME} {label}", leave=False):
        cfg = []
        for j in range(runs):
            rng = np.random.default_rng([seed, j])
            cfg.append(_one_run(make(rng.uniform(size=(2, 30)), x), rng))
        per_run.append(cfg)
    mean = {
        m: {k: [float(np.mean([run[m][k] for run in cfg])) for cfg in per_run] for k in ("r1", "r2", "server_utility", "worker_utility")}
        for m in METHODS
    }
    leader_best = all(
        run["iFedCrowd"]["server_utility"] >= max(run["Random"]["server_utility"], run["MAX"]["server_utility"]) - 1e-9
        for cfg in per_run for run in cfg
    )
    max_workers_best = all(
        run["MAX"]["worker_utility"] >= max(run["iFedCrowd"]["worker_utility"], run["Random"]["worker_utility"]) - 1e-9
        for cfg in per_run for run in cfg
    )
    return {"x": xs, "mean": mean, "leader_best_every_run": leader_best, "max_workers_best_every_run": max_workers_best}


def _nondecreasing(v: list[float], tol: float = 1e-9) -> bool:
    return all(b >= a - tol for a, b in zip(v, v[1:]))


def _nonincreasing(v: list[float], tol: float = 1e-9) -> bool:
    return all(b <= a + tol for a, b in zip(v, v[1:]))


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    out_dir = Path(out_dir)
    runs = 3 if quick else 10
    ns = [5, 10, 20, 30] if quick else [5, 10, 15, 20, 25, 30]
    sweeps = {
        "Gamma": _sweep("Gamma", [1, 2, 3, 4, 5, 6], lambda u, G: _clients(u, 10, (G, G + 4), (1, 2)), runs, seed),
        "Delta": _sweep("Delta", [0, 1, 2, 3, 4, 5], lambda u, D: _clients(u, 10, (1, 5), (D, D + 1)), runs, seed),
        "n": _sweep("n", ns, lambda u, n: _clients(u, int(n), (3, 5), (2, 4)), runs, seed),
    }
    ifd = {k: s["mean"]["iFedCrowd"] for k, s in sweeps.items()}
    checks = {
        "r1_rises_with_Gamma": _nondecreasing(ifd["Gamma"]["r1"]),
        "r2_rises_with_Delta": _nondecreasing(ifd["Delta"]["r2"]),
        "max_rates_rise_with_Gamma_and_Delta": _nondecreasing(sweeps["Gamma"]["mean"]["MAX"]["r1"])
        and _nondecreasing(sweeps["Delta"]["mean"]["MAX"]["r2"]),
        "leader_best_every_run": all(s["leader_best_every_run"] for s in sweeps.values()),
        "max_workers_best_every_run": all(s["max_workers_best_every_run"] for s in sweeps.values()),
        "r1_not_rising_with_n": _nonincreasing(ifd["n"]["r1"]),
        "r2_not_rising_with_n": _nonincreasing(ifd["n"]["r2"]),
        # reported, not a target: the paper's Fig. 6 says U rises with n; Eq. (7) makes it fall
        "server_utility_falls_with_n": ifd["n"]["server_utility"][0] > ifd["n"]["server_utility"][-1],
    }
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "runs_per_config": runs,
        "command": COMMAND + (" --quick" if quick else "") + f" --seed {seed}",
        "setup": {"alpha": ALPHA, "beta": BETA, "t_min": 1.0, "s": 0.0, "rate_box": "r1 [min gT, (1+ln2) max gT], r2 [min d, e max d]"},
        "sweeps": sweeps,
        "checks": checks,
        "markdown": _markdown(sweeps),
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, sweeps)
    for k, v in checks.items():
        log.info("%s: %s", k, v)
    log_written(log, json_path, png_path)
    return result


def _markdown(sweeps: dict[str, Any]) -> str:
    lines = ["| sweep | x | r1* | r2* | U iFedCrowd | U Random | U MAX | worker u iFedCrowd | worker u MAX |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in sweeps.items():
        m = s["mean"]
        for j, x in enumerate(s["x"]):
            lines.append(
                f"| {name} | {x} | {m['iFedCrowd']['r1'][j]:.3f} | {m['iFedCrowd']['r2'][j]:.3f} | "
                f"{m['iFedCrowd']['server_utility'][j]:.2f} | {m['Random']['server_utility'][j]:.2f} | "
                f"{m['MAX']['server_utility'][j]:.2f} | {m['iFedCrowd']['worker_utility'][j]:.3f} | {m['MAX']['worker_utility'][j]:.3f} |"
            )
    return "\n".join(lines)


def _plot(out_dir: Path, sweeps: dict[str, Any]) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    colors = {"iFedCrowd": "tab:blue", "Random": "tab:orange", "MAX": "tab:red"}
    for row, (name, s) in enumerate(sweeps.items()):
        x = s["x"]
        for m in METHODS:
            axes[row][0].plot(x, s["mean"][m]["r1"], "-o", color=colors[m], label=f"{m} r1")
            axes[row][0].plot(x, s["mean"][m]["r2"], "--s", color=colors[m], label=f"{m} r2")
            axes[row][1].plot(x, s["mean"][m]["worker_utility"], "-o", color=colors[m], label=m)
        width = 0.8 / len(METHODS)
        for k, m in enumerate(METHODS):
            axes[row][2].bar(np.arange(len(x)) + k * width, s["mean"][m]["server_utility"], width, color=colors[m], label=m)
        axes[row][2].set_xticks(np.arange(len(x)) + width, [str(v) for v in x])
        for col, title in enumerate(("reward rates", "mean worker utility", "server utility")):
            axes[row][col].set_title(f"{title} vs {name}")
            axes[row][col].set_xlabel(name)
        axes[row][0].legend(fontsize=6)
        axes[row][2].legend(fontsize=7)
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=0)


def run(args: argparse.Namespace) -> int:
    result = run_experiment(args.out, quick=args.quick, seed=args.seed)
    sys.stdout.write(result["markdown"] + "\n\n")
    sys.stdout.write("\n".join(f"{k}: {v}" for k, v in result["checks"].items()) + "\n")
    return 0 if all(result["checks"].values()) else 1

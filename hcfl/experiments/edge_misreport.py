"""How much can one edge client gain by misreporting its sealed cost claim, under each edge rule?

Like `misreport-gain`, for the edge tier. For each of N random cells (200; 40 with --quick), one random
client scales its claimed cost parameters by every f in GRID while the others claim the truth; the
station computes the rule's announcement from the claims, the client then best-responds with its TRUE
costs, and its gain = best misreport's true utility - truthful true utility.

- `ifedcrowd`: n = 2-8, gamma ~ U[1, 5], delta ~ U[1, 2], T_min = 1, alpha = 80, beta = 50. The claim's
  gamma and delta are scaled (t_min stays truthful). The leader announces r* from the claims; the
  client plays its true best response; payout v_k in absolute units (`unit_wei`, budget not binding).
  Gain in % of the client's truthful payout v_k.
- `lceme`: n = 2-8, p ~ Dirichlet(1), sigma^2 ~ U[10, 100], c_p ~ 10^U[-7, -5], c_l ~ 10^U[-3, -1],
  default `LcemeSystem`. Both c_p and c_l are scaled. The station announces D* and (Phi, Omega) from the
  claims; the client maximises its model-based expected payoff (loss = bound) over e in {0, 1},
  gamma = 1 (optimal whatever the costs, Lemma 1) and D (bounded 1-D search), with its true costs.
  Gain in % of the truthful expected reward T c_p D' + c_l.
- `shapley`, `equal`, `samples`: payouts do not read cost claims, so no claim can change them; gain 0.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from tqdm import tqdm

from hcfl.edge import ifedcrowd as ifc
from hcfl.edge import lceme
from hcfl.experiments._common import add_standard_arguments, finish, pyplot, result_header, save_figure

NAME = "edge-misreport"
COMMAND = "hcfl experiment edge-misreport"
GRID: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0)
RULES = ("ifedcrowd", "lceme", "shapley", "equal", "samples")
log = logging.getLogger(__name__)


def ifedcrowd_utility(truth: list[ifc.ClientCost], k: int, factor: float) -> tuple[float, float]:
    """(true utility, payout) of client k when it claims factor * (gamma, delta), others truthful."""
    claims = list(truth)
    c = truth[k]
    claims[k] = ifc.ClientCost(c.gamma * factor, c.delta * factor, c.t_min)
    rates = ifc.optimal_rates(claims, 80.0, 50.0)
    br = ifc.best_response(rates, c)
    return ifc.client_utility(rates, c, br), ifc.reward(rates, br.accuracy, br.freshness, br.time)


def lceme_utility(s: lceme.LcemeSystem, truth: list[lceme.LcemeClient], k: int, factor: float) -> tuple[float, float]:
    """(true expected payoff at the client's best response, truthful expected reward) for client k."""
    claims = list(truth)
    claims[k] = truth[k].model_copy(update={"c_p": truth[k].c_p * factor, "c_l": truth[k].c_l * factor})
    D = lceme.optimal_assignment(s, claims)
    best = -np.inf
    for e in (0, 1):
        res = minimize_scalar(
            lambda d: -lceme.client_payoff(s, claims, k, D, e, d, 1.0, true_cost=truth[k]),  # noqa: B023 - called within this iteration
            bounds=(1e-3 * D[k], 100 * D[k]), method="bounded", options={"xatol": 1e-9 * D[k]},
        )
        best = max(best, -float(res.fun), lceme.client_payoff(s, claims, k, D, e, D[k], 1.0, true_cost=truth[k]))
    return best, s.rounds * truth[k].c_p * D[k] + truth[k].c_l


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 13) -> dict[str, Any]:
    out_dir = Path(out_dir)
    n_inst = 40 if quick else 200
    rng = np.random.default_rng(seed)
    gains: dict[str, list[float]] = {r: [] for r in RULES}
    gains_abs: dict[str, list[float]] = {r: [] for r in RULES}
    best_factor: dict[str, list[float]] = {r: [] for r in RULES}
    system = lceme.LcemeSystem()
    for _ in tqdm(range(n_inst), desc=NAME, unit="cell", leave=False):
        n = int(rng.integers(2, 9))
        k = int(rng.integers(0, n))
        truth = [ifc.ClientCost(float(g), float(d), 1.0) for g, d in zip(rng.uniform(1, 5, n), rng.uniform(1, 2, n))]
        honest, pay = ifedcrowd_utility(truth, k, 1.0)
        lies = {f: ifedcrowd_utility(truth, k, f)[0] for f in GRID}
        f_best = max(GRID, key=lies.__getitem__)
        gains_abs["ifedcrowd"].append(lies[f_best] - honest)
        gains["ifedcrowd"].append(100 * (lies[f_best] - honest) / pay if pay > 0 else 0.0)
        best_factor["ifedcrowd"].append(f_best)

        p = rng.dirichlet(np.ones(n))
        lt = [
            lceme.LcemeClient(p=float(pi), sigma2=float(rng.uniform(10, 100)), c_p=float(10 ** rng.uniform(-7, -5)),
                              c_l=float(10 ** rng.uniform(-3, -1)))
            for pi in p
        ]
        honest_l, expected = lceme_utility(system, lt, k, 1.0)
        lies_l = {f: lceme_utility(system, lt, k, f)[0] for f in GRID}
        f_best = max(GRID, key=lies_l.__getitem__)
        g = lies_l[f_best] - honest_l
        gains_abs["lceme"].append(g)
        gains["lceme"].append(100 * g / expected)
        best_factor["lceme"].append(f_best)
        for r in ("shapley", "equal", "samples"):  # payouts never read cost claims
            gains[r].append(0.0)
            gains_abs[r].append(0.0)
            best_factor[r].append(1.0)

    summary = {
        r: {
            "instances": len(gains[r]),
            "max_gain_pct": max(gains[r]),
            "mean_gain_pct": statistics.fmean(gains[r]),
            "share_with_positive_gain": sum(x > 1e-9 for x in gains[r]) / len(gains[r]),
            "max_gain_abs": max(gains_abs[r]),
            "mean_gain_abs": statistics.fmean(gains_abs[r]),
            "median_best_factor": statistics.median(best_factor[r]),
        }
        for r in RULES
    }
    result: dict[str, Any] = {
        **result_header(NAME, seed, quick, COMMAND, GRID),
        "summary": summary,
        "gains_pct": gains,
        "best_factor": best_factor,
        "markdown": markdown_table(summary),
    }
    return finish(log, out_dir, NAME, result, lambda: _plot(out_dir, gains))


def markdown_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| edge rule | cells | max gain | mean gain | cells with gain > 0 | max gain (utility units) | median best factor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r, s in summary.items():
        lines.append(
            f"| `{r}` | {s['instances']} | {s['max_gain_pct']:.2f}% | {s['mean_gain_pct']:.2f}% | "
            f"{100 * s['share_with_positive_gain']:.1f}% | {s['max_gain_abs']:.4g} | {s['median_best_factor']:g} |"
        )
    return "\n".join(lines)


def _plot(out_dir: Path, gains: dict[str, list[float]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot([gains[r] for r in RULES], showfliers=True)
    ax.set_xticks(range(1, len(RULES) + 1), list(RULES))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("best misreport gain (% of truthful payout)")
    ax.set_title("Edge client: gain from scaling its sealed cost claim")
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=13)


def run(args: argparse.Namespace) -> int:
    result = run_experiment(args.out, quick=args.quick, seed=args.seed)
    sys.stdout.write(result["markdown"] + "\n")
    return 0

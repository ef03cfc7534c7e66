"""How much can one participant gain by misreporting, under each payment rule?

For each of N random instances (500; 60 with --quick): 2-8 owners, 2-8 stations, K = 2-5 proposals,
owner values uniform in [0, 200] Gwei, station costs uniform in [0, 100] Gwei, posted prices uniform
between n_stations·50 and n_owners·100 Gwei, equal shares, empty pools, no deposit caps. One
participant is picked at random; it tries every misreport on a grid (all its claims scaled by
f in GRID, floor-rounded) while everyone else stays truthful. Its gain = best misreport's true utility
− truthful true utility, in % of its true value (max over proposals of its true value or cost).

Rules and utilities:
- `posted`: utility is exact and deterministic (value − share of the posted price − tax).
- `paper-random`: C is uniform in [Σk, Cmax] and a claim moves that interval, so the incentive is
  measured on the EXPECTED utility over C (what a risk-neutral participant maximizes at commit time,
  before the salts are known). For reference, `paper-random (fixed seed)` compares the realized
  utilities with the same seed, i.e. as if the participant knew the seed when choosing its claims.
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hcfl.experiments._common import GWEI, add_standard_arguments, log_written, pyplot, save_figure, write_json
from hcfl.mechanism import Instance, settle
from hcfl.mechanism.utility import true_utility

NAME = "misreport-gain"
log = logging.getLogger(__name__)

GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0)
VARIANTS = ("posted", "paper-random (expected C)", "paper-random (fixed seed)")
COMMAND = "hcfl experiment misreport-gain"


def _random_instance(rng: random.Random) -> dict[str, Any]:
    n_o, n_s, k = rng.randint(2, 8), rng.randint(2, 8), rng.randint(2, 5)
    lo, hi = sorted((n_s * 50 * GWEI, n_o * 100 * GWEI))
    return {
        "owners": [{"id": f"o{i}", "values": [rng.randint(0, 200 * GWEI) for _ in range(k)]} for i in range(n_o)],
        "stations": [{"id": f"s{j}", "costs": [rng.randint(0, 100 * GWEI) for _ in range(k)]} for j in range(n_s)],
        "posted_prices": [rng.randint(lo, hi) for _ in range(k)],
        "seed": rng.getrandbits(256),
    }


def _with_claims(data: dict[str, Any], pid: str, claims: list[int]) -> dict[str, Any]:
    def swap(side: str, field: str) -> list[dict]:
        return [{**p, field: claims} if p["id"] == pid else p for p in data[side]]

    return {**data, "owners": swap("owners", "values"), "stations": swap("stations", "costs")}


def utility(data: dict[str, Any], variant: str, pid: str, truth: list[int]) -> Fraction:
    rule = "posted" if variant == "posted" else "paper-random"
    inst = Instance.model_validate({**data, "payment_rule": rule})
    st = settle(inst)
    if variant != "paper-random (expected C)" or st.selected is None:
        return Fraction(true_utility(inst, st, pid, truth))
    assert st.sum_costs is not None and st.c_max is not None
    expected_c = Fraction(st.sum_costs + st.c_max, 2)
    m, tax = st.selected, st.taxes[pid]
    if any(o.id == pid for o in inst.owners):
        return truth[m] - expected_c / len(inst.revealed_owners) - tax
    return expected_c / len(inst.revealed_stations) - truth[m] - tax


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 11) -> dict[str, Any]:
    out_dir = Path(out_dir)
    n = 60 if quick else 500
    rng = random.Random(seed)
    gains: dict[str, list[float]] = {v: [] for v in VARIANTS}
    gains_gwei: dict[str, list[float]] = {v: [] for v in VARIANTS}
    best_factor: dict[str, list[float]] = {v: [] for v in VARIANTS}
    exact_max: dict[str, Fraction] = {}
    roles: list[str] = []
    for _ in tqdm(range(n), desc=NAME, unit="instance", leave=False):
        data = _random_instance(rng)
        everyone = [*data["owners"], *data["stations"]]
        p = rng.choice(everyone)
        truth = p.get("values", p.get("costs"))
        roles.append("owner" if "values" in p else "station")
        norm = max(truth)
        if norm == 0:
            continue
        for variant in VARIANTS:
            honest = utility(data, variant, p["id"], truth)
            lies = {f: utility(_with_claims(data, p["id"], [int(v * f) for v in truth]), variant, p["id"], truth) for f in GRID}
            f_best = max(GRID, key=lambda f: lies[f])
            gain = lies[f_best] - honest
            exact_max[variant] = max(exact_max.get(variant, gain), gain)
            gains[variant].append(float(100 * gain / norm))
            gains_gwei[variant].append(float(gain / GWEI))
            best_factor[variant].append(f_best)

    summary = {
        v: {
            "instances": len(gains[v]),
            "max_gain_pct": max(gains[v]),
            "mean_gain_pct": statistics.fmean(gains[v]),
            "mean_positive_gain_pct": statistics.fmean(max(g, 0.0) for g in gains[v]),
            "share_with_positive_gain": sum(g > 0 for g in gains[v]) / len(gains[v]),
            "max_gain_gwei": max(gains_gwei[v]),
            "mean_gain_gwei": statistics.fmean(gains_gwei[v]),
            "max_gain_exact_wei": str(exact_max[v]),
        }
        for v in VARIANTS
    }
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "command": COMMAND + (" --quick" if quick else "") + f" --seed {seed}",
        "grid": list(GRID),
        "setup": {
            "owners": "2-8", "stations": "2-8", "proposals": "2-5",
            "owner_value_gwei": "uniform [0, 200]", "station_cost_gwei": "uniform [0, 100]",
            "posted_price_gwei": "uniform [n_stations*50, n_owners*100]",
            "shares": "equal", "pools": "empty", "deposits": "none (no caps)",
            "gain": "best grid misreport's true utility - truthful true utility, % of max true claim",
        },
        "roles": {"owner": roles.count("owner"), "station": roles.count("station")},
        "summary": summary,
        "gains_pct": gains,
        "best_factor": best_factor,
        "markdown": markdown_table(summary),
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, gains)
    for v in VARIANTS:
        log.info("%s: max gain %.3f%%, mean %.3f%%", v, summary[v]["max_gain_pct"], summary[v]["mean_gain_pct"])
    log_written(log, json_path, png_path)
    return result


def markdown_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| payment rule | instances | max gain | mean gain | mean gain (≥ 0) | max gain (Gwei) | mean gain (Gwei) "
        "| instances with gain > 0 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v, s in summary.items():
        lines.append(
            f"| `{v}` | {s['instances']} | {s['max_gain_pct']:.3f}% | {s['mean_gain_pct']:.3f}% | "
            f"{s['mean_positive_gain_pct']:.3f}% | {s['max_gain_gwei']:.3f} | {s['mean_gain_gwei']:.3f} | "
            f"{100 * s['share_with_positive_gain']:.1f}% |"
        )
    return "\n".join(lines)


def _plot(out_dir: Path, gains: dict[str, list[float]], name: str = NAME) -> Path:
    plt = pyplot()
    variants = list(gains)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(variants)), 4))
    ax.boxplot([gains[v] for v in variants], showfliers=True)
    ax.set_xticks(range(1, len(variants) + 1), [v.replace(" / ", "\n") for v in variants])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("best misreport gain (% of true value)")
    ax.set_title("Unilateral misreport gain (grid of claim scalings)")
    return save_figure(fig, out_dir, name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=11)
    parser.add_argument("--rules", choices=("v1", "v2"), default="v1",
                        help="v1 (default): the v1 payment rules; v2: every v2 payment rule x share rule")


def run(args: argparse.Namespace) -> int:
    if args.rules == "v2":
        from hcfl.experiments import misreport_gain_v2

        result = misreport_gain_v2.run_experiment(args.out, quick=args.quick, seed=args.seed)
        sys.stdout.write(result["markdown"] + "\n")
        return 0
    result = run_experiment(args.out, quick=args.quick, seed=args.seed)
    sys.stdout.write(result["markdown"] + "\n")
    return 0

"""Who loses by taking part? Share of truthful participants with negative ex-post utility, per payment
rule x share rule of the v2 mechanism (issue 8, defect 13).

For each of N random rounds (400; 60 with --quick; see `hcfl.experiments._v2.random_round`): everyone
claims its true value/cost, every station reports every global round, pools are empty (a new campaign).
Ex-post utility: owner = true value of the selected model - payment - tax; station = reward - true cost
- tax; with "none" selected: -tax. The same rounds (common random numbers) go through every rule pair;
the share rule is the same for owners and stations (Contribution falls back to Equal without scores).
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hcfl.experiments._common import GWEI, add_standard_arguments, log_written, pyplot, save_figure, write_json
from hcfl.experiments._v2 import PAYMENT_RULES, SHARE_RULES, random_round, settle_one
from hcfl.mechanism.v2 import true_utility

NAME = "participation"
COMMAND = "hcfl experiment participation"
log = logging.getLogger(__name__)


def _variants() -> list[tuple[str, str]]:
    return [(pay, share) for pay in PAYMENT_RULES for share in SHARE_RULES]


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 13) -> dict[str, Any]:
    out_dir = Path(out_dir)
    n = 60 if quick else 400
    rng = random.Random(seed)
    rows: dict[str, dict[str, Any]] = {}
    stats: dict[str, dict[str, Any]] = {
        f"{p} / {s}": {"owner": [], "station": [], "selected": 0, "worst": 0, "welfare": []} for p, s in _variants()}
    for _ in tqdm(range(n), desc=NAME, unit="round", leave=False):
        rnd = random_round(rng)
        truth = {p["id"]: p["claims"] for p in rnd["participants"]}
        for pay, share in _variants():
            key = f"{pay} / {share}"
            r = settle_one(rnd, pay, share)
            stats[key]["selected"] += r.selected is not None
            stats[key]["welfare"].append(0 if r.selected is None else sum(
                (1 if p["role"] == "owner" else -1) * p["claims"][r.selected] for p in rnd["participants"]))
            for pid, res in r.participants.items():
                u = true_utility(r, pid, truth[pid])
                stats[key][res.role].append(u)
                stats[key]["worst"] = min(stats[key]["worst"], u)
    for key, s in stats.items():
        everyone = s["owner"] + s["station"]
        rows[key] = {
            "participants": len(everyone),
            "negative_share": sum(u < 0 for u in everyone) / len(everyone),
            "negative_share_owners": sum(u < 0 for u in s["owner"]) / len(s["owner"]),
            "negative_share_stations": sum(u < 0 for u in s["station"]) / len(s["station"]),
            "mean_utility_gwei": statistics.fmean(everyone) / GWEI,
            "worst_utility_gwei": s["worst"] / GWEI,
            "rounds_with_selection": s["selected"] / n,
            "mean_welfare_gwei": statistics.fmean(s["welfare"]) / GWEI,
        }
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "rounds": n,
        "command": COMMAND + (" --quick" if quick else "") + f" --seed {seed}",
        "setup": {
            "owners": "2-8", "stations": "2-8", "proposals": "2-5",
            "owner_value_gwei": "uniform [0, 200]", "station_cost_gwei": "uniform [0, 100]",
            "posted_price_gwei": "uniform [n_stations*50, n_owners*100]",
            "deposit_gwei": "uniform [1000, 10000]", "pools": "empty (new campaign)",
            "claims": "truthful", "reports": "every station reports every global round",
        },
        "summary": rows,
        "markdown": markdown_table(rows),
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, rows)
    for key, row in rows.items():
        log.info("%s: %.1f%% with negative utility", key, 100 * row["negative_share"])
    log_written(log, json_path, png_path)
    return result


def markdown_table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| payment rule / share rule | participants | utility < 0 | owners < 0 | stations < 0 | mean utility (Gwei) "
        "| worst (Gwei) | rounds with a selection | mean true surplus Σv−Σk of m* (Gwei) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in rows.items():
        lines.append(
            f"| `{key}` | {r['participants']} | {100 * r['negative_share']:.1f}% | {100 * r['negative_share_owners']:.1f}% "
            f"| {100 * r['negative_share_stations']:.1f}% | {r['mean_utility_gwei']:.2f} | {r['worst_utility_gwei']:.2f} "
            f"| {100 * r['rounds_with_selection']:.1f}% | {r['mean_welfare_gwei']:.1f} |"
        )
    return "\n".join(lines)


def _plot(out_dir: Path, rows: dict[str, dict[str, Any]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    keys = list(rows)
    xs = range(len(keys))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], [100 * rows[k]["negative_share_owners"] for k in keys], width, label="owners")
    ax.bar([x + width / 2 for x in xs], [100 * rows[k]["negative_share_stations"] for k in keys], width, label="stations")
    ax.set_xticks(list(xs), [k.replace(" / ", "\n") for k in keys])
    ax.set_ylabel("truthful participants with utility < 0 (%)")
    ax.set_title("Participation: negative ex-post utility per payment rule / share rule (v2)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=13)


def run(args: argparse.Namespace) -> int:
    result = run_experiment(args.out, quick=args.quick, seed=args.seed)
    sys.stdout.write(result["markdown"] + "\n")
    return 0

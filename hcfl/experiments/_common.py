"""Shared plumbing for the experiments: arguments, output folder, JSON, figures."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

GWEI = 10**9


def add_standard_arguments(parser: argparse.ArgumentParser, name: str, default_seed: int) -> None:
    parser.add_argument("--out", default=f"out/{name}", metavar="DIR", help=f"output folder (default out/{name})")
    parser.add_argument("--quick", action="store_true", help="a smaller run that finishes in seconds")
    parser.add_argument("--seed", type=int, default=default_seed, metavar="N", help=f"random seed (default {default_seed})")


def write_json(out_dir: Path, name: str, data: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gwei(wei: int | float) -> float:
    return wei / GWEI


def log_written(log: logging.Logger, *paths: Path) -> None:
    for p in paths:
        log.info("wrote %s", p)


def save_figure(fig: Any, out_dir: Path, name: str) -> Path:
    """Lay out, write `<name>.png` (120 dpi) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def gain_summary(gains_pct: list[float], gains_gwei: list[float], exact_max_wei: Any) -> dict[str, Any]:
    """Summary of one rule's misreport gains: per-instance gains in % of the truth and in Gwei."""
    import statistics

    return {
        "instances": len(gains_pct),
        "max_gain_pct": max(gains_pct),
        "mean_gain_pct": statistics.fmean(gains_pct),
        "mean_positive_gain_pct": statistics.fmean(max(g, 0.0) for g in gains_pct),
        "share_with_positive_gain": sum(g > 0 for g in gains_pct) / len(gains_pct),
        "max_gain_gwei": max(gains_gwei),
        "mean_gain_gwei": statistics.fmean(gains_gwei),
        "max_gain_exact_wei": str(exact_max_wei),
    }


def result_header(name: str, seed: int, quick: bool, command: str, grid: Any) -> dict[str, Any]:
    """The fields every misreport experiment's JSON starts with."""
    return {
        "experiment": name,
        "seed": seed,
        "quick": quick,
        "command": command + (" --quick" if quick else "") + f" --seed {seed}",
        "grid": list(grid),
    }


def finish(log: logging.Logger, out_dir: Path, name: str, result: dict[str, Any], plot: Any) -> dict[str, Any]:
    """Write the JSON, draw the PNG (`plot()` returns its path), log each rule's gains and the paths."""
    json_path = write_json(out_dir, name, result)
    png_path = plot()
    for rule, s in result["summary"].items():
        log.info("%s: max gain %.3f%%, mean %.3f%%", rule, s["max_gain_pct"], s["mean_gain_pct"])
    log_written(log, json_path, png_path)
    return result

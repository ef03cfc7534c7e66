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

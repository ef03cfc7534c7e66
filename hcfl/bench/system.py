"""`hcfl bench system`: what the whole system adds per global round over the bare training compute.

Runs `hcfl demo --keep DIR` (coordinator + chain + 3 aggregator daemons + 6 `hcfl edge-client` processes; or
reads an existing `--logs DIR` of such a run) and, from the logs, for every global round g >= 1 (g = 0 pays
the processes' first-fit imports and connections):

- wall: from the coordinator's close of g - 1 to its close of g (coordinator.log, "global round N/T closed");
- bare compute: the slowest station's edge compute of g (aggregator-*.log, "edge compute=": per edge round the
  slowest included client's own training time, summed) plus the coordinator's aggregation and validation of
  g (the "compute X.XXXs" of its close line; the close's file writes are not compute): the same work with the
  same parallelism and no system around it;
- added = wall - bare compute, ratio = wall / bare compute.

Targets (issue 9): added <= 100 ms per global round at the demo's scale; ratio <= 1.10 when the bare compute is
>= 2 s per global round. The numbers depend on the machine's load: the demo's ten processes share its cores.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

_TS = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
# "(TOTALs, compute Cs)": C = aggregation + validation (+ the scores after the last round), the bare compute;
# logs written before the split carry only "(TOTALs)", which then counts whole
_CLOSE = re.compile(_TS + r" .*round (\d+): global round (\d+)/(\d+) closed: .*\((\d+\.\d+)s(?:, compute (\d+\.\d+)s)?\)")
_EDGE = re.compile(_TS + r" .*round (\d+) g=(\d+): .*edge compute=(\d+\.\d+)s flower=(\d+\.\d+)s")


def _t(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def analyse(logs: Path) -> list[dict[str, Any]]:
    """One row per global round g >= 1 of the kept run in `logs` (the folder holding coordinator.log)."""
    coord = next(logs.rglob("coordinator.log"), None)
    if coord is None:
        raise FileNotFoundError(f"no coordinator.log under {logs}")
    closes: dict[int, tuple[float, float]] = {}  # g (0-based) -> (close time, close compute)
    for line in coord.read_text(errors="replace").splitlines():
        m = _CLOSE.match(line)
        if m:
            closes[int(m.group(3)) - 1] = (_t(m.group(1)), float(m.group(6) or m.group(5)))
    compute: dict[int, list[float]] = {}
    flower: dict[int, list[float]] = {}
    for log in coord.parent.glob("aggregator-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            m = _EDGE.match(line)
            if m:
                compute.setdefault(int(m.group(3)), []).append(float(m.group(4)))
                flower.setdefault(int(m.group(3)), []).append(float(m.group(5)))
    rows = []
    for g in sorted(closes):
        if g == 0 or g - 1 not in closes or g not in compute:
            continue
        wall = closes[g][0] - closes[g - 1][0]
        bare = max(compute[g]) + closes[g][1]
        rows.append({"global_round": g, "stations": len(compute[g]), "wall_s": round(wall, 3),
                     "edge_compute_s": round(max(compute[g]), 3), "close_compute_s": closes[g][1],
                     "flower_s": round(max(flower[g]), 3), "bare_s": round(bare, 3),
                     "added_ms": round((wall - bare) * 1000), "ratio": round(wall / bare, 2) if bare > 0 else None})
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ("| g | stations | wall s | slowest station's edge compute s | coordinator aggregation + validation s | "
            "bare compute s | added ms | ratio |")
    out = [head, "|" + "---:|" * 8]
    for r in rows:
        out.append(f"| {r['global_round']} | {r['stations']} | {r['wall_s']:.3f} | {r['edge_compute_s']:.3f} | "
                   f"{r['close_compute_s']:.3f} | {r['bare_s']:.3f} | {r['added_ms']} | {r['ratio']} |")
    if rows:
        added = [r["added_ms"] for r in rows]
        ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
        out.append(f"\nadded per global round: median {statistics.median(added):.0f} ms, min {min(added)} ms, "
                   f"max {max(added)} ms over {len(rows)} global rounds; ratio median "
                   f"{statistics.median(ratios) if ratios else float('nan'):.3f}")
    return "\n".join(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from backend.demo_cli import add_workload_arguments

    parser.add_argument("--logs", type=Path, help="analyse the kept logs of an earlier `hcfl demo --keep DIR`")
    add_workload_arguments(parser)  # a heavier workload than the demo's: --local-epochs E, --hidden W,W
    parser.add_argument("--json", dest="json_file", type=Path, help="also write the rows here")


def run(args: argparse.Namespace) -> int:
    logs = args.logs
    tmp = None
    if logs is None:
        tmp = tempfile.TemporaryDirectory(prefix="hcfl-bench-system-")
        logs = Path(tmp.name)
        print(f"running `hcfl demo --keep {logs}` ...", file=sys.stderr)
        from backend.demo_cli import workload_argv

        subprocess.run([sys.executable, "-m", "hcfl.cli", "demo", "--keep", str(logs), *workload_argv(args)], check=True,
                       stdout=subprocess.DEVNULL)
    rows = analyse(logs)
    print(markdown_table(rows))
    if args.json_file:
        args.json_file.write_text(json.dumps(rows, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0

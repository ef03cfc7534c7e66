"""`hcfl demo`: the README's main job — a full crowdfunding round end-to-end with real processes
(coordinator, three aggregator daemons), real training on digits, the vote, payouts and the audit."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a full crowdfunding round end-to-end on a local chain")
    p.add_argument("--chain", default="embedded", help="embedded (default) | anvil (spawned)")
    p.add_argument("--quick", action="store_true", help="2 global rounds instead of 5")
    p.add_argument("--json", type=Path, help="write the report as JSON here")
    p.add_argument("--plot", type=Path, help="write the training curve as PNG here")
    p.add_argument("--keep", type=Path, help="keep the coordinator's and daemons' logs in this folder")
    p.add_argument("--spawn", action="store_true",
                   help="start every daemon and edge device as a fresh interpreter (default: forked from a server that "
                   "imported torch and Flower once)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.demo import Demo, render, save_plot

    workdir = args.keep.resolve() if args.keep else None
    demo = Demo(chain=args.chain, quick=args.quick, workdir=workdir)
    demo.forked = not args.spawn
    report = demo.run()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    if args.plot:
        save_plot(report, args.plot)
    return 0 if report.audit.get("ok") else 1

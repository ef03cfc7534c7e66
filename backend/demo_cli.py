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
    add_workload_arguments(p)
    p.set_defaults(func=run)


def add_workload_arguments(p: argparse.ArgumentParser) -> None:
    """The training workload (the demo's by default): `hcfl demo` and `hcfl bench system` take the same options."""
    p.add_argument("--local-epochs", type=_epochs, metavar="E", help="local epochs per edge round (default 2, at most 100)")
    p.add_argument("--hidden", type=_widths, metavar="W[,W...]", help="the MLP's hidden layer widths (default 64)")
    p.add_argument("--global-rounds", type=_global_rounds, metavar="T",
                   help="global rounds t of the proposal (default 5, 2 with --quick; at most 100)")


def _epochs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: local epochs must be a whole number within 1..100")
    return int(text)


def _global_rounds(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: global rounds must be a whole number within 1..100")
    return int(text)


def workload_argv(args: argparse.Namespace) -> list[str]:
    """The workload options of `args` as `hcfl demo` arguments."""
    argv = []
    if getattr(args, "local_epochs", None):
        argv += ["--local-epochs", str(args.local_epochs)]
    if getattr(args, "hidden", None):
        argv += ["--hidden", ",".join(str(w) for w in args.hidden)]
    if getattr(args, "global_rounds", None):
        argv += ["--global-rounds", str(args.global_rounds)]
    return argv


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give comma-separated layer widths, e.g. 256,256") from None
    if not widths or any(not 1 <= w <= 4096 for w in widths):
        raise argparse.ArgumentTypeError(f"{text!r}: every width must be within 1..4096")
    return widths


def run(args: argparse.Namespace) -> int:
    from backend.demo import Demo, render, save_plot

    workdir = args.keep.resolve() if args.keep else None
    demo = Demo(chain=args.chain, quick=args.quick, workdir=workdir, local_epochs=args.local_epochs, hidden=args.hidden,
                global_rounds=args.global_rounds)
    demo.forked = not args.spawn
    report = demo.run()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    if args.plot:
        save_plot(report, args.plot)
    return 0 if report.audit.get("ok") else 1

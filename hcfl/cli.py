"""The `hcfl` console command. Each subcommand lives in the module that owns it and is imported lazily,
so `hcfl settle` does not pay for importing torch or web3."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# subcommand -> module exposing `register(subparsers)`; the module adds its parser and sets `func`.
SUBCOMMANDS: dict[str, str] = {
    "toolchain": "hcfl.chain.cli",
    "deploy": "hcfl.chain.cli",
    "settle": "hcfl.mechanism.cli",
    "experiment": "hcfl.experiments.cli",
    "bench": "hcfl.bench.cli",
    "aggregator": "fl_worker.daemon_cli",
    "edge-client": "fl_worker.edge.cli",
    "serve": "backend.cli",
    "demo": "backend.demo_cli",
    "audit": "backend.audit_cli",
}

# The running system's processes (coordinator, station daemons, edge devices, and the demo that starts them all)
# touch small tensors from many threads. Under OpenMP, torch.set_num_threads binds only the calling thread: every
# other thread that runs a tensor op (a Flower worker, a paymaster's evaluation, an upload handler) gets its own team
# of OpenMP workers, which spin-wait after each op. On the demo's two cores that spinning was two thirds of each
# station daemon's CPU. So these processes default to one OpenMP thread (set before torch is imported; an
# OMP_NUM_THREADS the user set wins).
ONE_OPENMP_THREAD = frozenset({"serve", "aggregator", "edge-client", "demo"})


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hcfl", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered: set[str] = set()
    for name, module_name in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        if module_name in registered:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the product is not built yet
            raise
        module.register(sub)
        registered.add(module_name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in ONE_OPENMP_THREAD:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = build_parser(only=first if first in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

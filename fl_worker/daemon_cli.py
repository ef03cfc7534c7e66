"""`hcfl aggregator`: the base-station daemon (fl_worker.daemon). Imports torch only when it runs."""
from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

log = logging.getLogger("hcfl.aggregator")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "aggregator",
        help="run a base station's aggregator daemon: pull global models, train the edge clients, upload, report",
        description="Polls the coordinator's task endpoint for one round, trains this station's edge clients for "
        "each global round, uploads the signed station model and reports it on chain with the station's key.",
    )
    p.add_argument("--coordinator", required=True, metavar="URL", help="coordinator base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="file holding the station's private key (hex)")
    p.add_argument("--round", required=True, type=int, metavar="ID", dest="round_id", help="round id to serve")
    p.add_argument("--rpc", metavar="URL", help="JSON-RPC URL of the chain (default: {coordinator}/rpc)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="local dataset directory (mnist, cifar10)")
    p.add_argument("--poll", type=float, default=2.0, metavar="SECONDS", help="seconds between polls when waiting (2)")
    p.add_argument("--max-backoff", type=float, default=30.0, metavar="SECONDS",
                   help="cap of the exponential retry delay when the coordinator or node is unreachable (30)")
    p.add_argument("--forever", action="store_true",
                   help="after the round is done, keep serving the following round ids this station is selected for")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Until the daemon installs its own handlers (after importing torch), SIGTERM still means a clean exit.
    stop_early: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _f: stop_early.append(signum)) for s in (signal.SIGTERM, signal.SIGINT)}
    from pydantic import ValidationError

    from fl_worker.daemon import AggregatorDaemon, DaemonConfig

    try:
        config = DaemonConfig(
            coordinator=args.coordinator, key=DaemonConfig.key_from_file(args.key), round_id=args.round_id,
            rpc=args.rpc, data_dir=args.data_dir, poll=args.poll, max_backoff=args.max_backoff, forever=args.forever,
        )
    except (OSError, ValueError, ValidationError) as exc:
        log.error("bad configuration: %s", exc)
        return 2
    daemon = AggregatorDaemon(config)
    daemon.install_signal_handlers()
    del previous
    if stop_early:
        log.info("%s received during start-up: stopping", signal.Signals(stop_early[0]).name)
        return 0
    return daemon.run()

"""`hcfl serve`: the coordinator (FastAPI + uvicorn)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the coordinator: HTTP API, deadline driver, training (docs/protocol.md)")
    p.add_argument("--chain", default="embedded", help="embedded (default) | anvil | RPC URL")
    p.add_argument("--contract", help="HCFLCore (contract v2) address; a fresh one (with its libraries and lens) is deployed when absent")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default="hcfl-coordinator.sqlite", help="SQLite file of the coordinator's state")
    p.add_argument("--data-dir", default="hcfl-data", help="folder for model files")
    p.add_argument("--key-file", type=Path, help="gas payer's private key (hex) for advance/settle; default: the dev funder")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between deadline checks")
    p.add_argument("--round-timeout", type=float, default=120.0,
                   help="close a global round this many seconds after it opened once >= 1 station uploaded")
    p.add_argument("--max-station-samples", type=int, default=10**6, metavar="N",
                   help="cap on a station's aggregation weight (its declared samples are clipped to it and to what it "
                   "committed when it first asked for a task)")
    p.add_argument("--fast-forward", action="store_true",
                   help="dev chains only: jump the clock to a phase's deadline once everybody expected acted (join/propose: "
                   "someone joined/proposed and nothing new came for --fast-forward-quiet seconds)")
    p.add_argument("--fast-forward-quiet", type=float, default=3.0, metavar="S",
                   help="with --fast-forward: seconds without a new join or proposal before Joining/Proposing end")
    p.add_argument("--expect-joins", type=int, default=0, metavar="N",
                   help="with --fast-forward: end Joining as soon as N participants joined (default: the quiet rule)")
    p.add_argument("--expect-proposals", type=int, default=0, metavar="N",
                   help="with --fast-forward: end Proposing as soon as N proposals exist (default: the quiet rule)")
    p.add_argument("--dataset-dir", help="local copy of mnist/cifar10 for the coordinator's validation split")
    p.add_argument("--read-max-age", type=float, default=0.25, metavar="S",
                   help="anvil/RPC chains: read routes may answer from a ledger snapshot up to S seconds old")
    p.add_argument("--lease-ttl", type=float, default=6.0, metavar="S",
                   help="the database lease on the contract expires S seconds after its last renewal")
    p.add_argument("--beacon-interval", type=float, default=30.0, metavar="S",
                   help="anvil/RPC chains: seconds between on-chain beacons that tell other coordinators with their own "
                   "databases that this one drives the contract (0: none)")
    p.add_argument("--log-level", default="info", help="uvicorn's log level")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import Settings, create_app

    settings = Settings(
        chain=args.chain, contract=args.contract, host=args.host, port=args.port, db=args.db, data_dir=args.data_dir,
        key_file=str(args.key_file) if args.key_file else None, poll=args.poll, round_timeout=args.round_timeout,
        max_station_samples=args.max_station_samples, fast_forward=args.fast_forward, dataset_dir=args.dataset_dir,
        fast_forward_quiet=args.fast_forward_quiet, read_max_age=args.read_max_age, lease_ttl=args.lease_ttl,
        beacon_interval=args.beacon_interval, expect_joins=args.expect_joins, expect_proposals=args.expect_proposals,
    )
    if args.fast_forward and args.chain not in ("embedded", "anvil"):
        log.warning("--fast-forward only works on dev chains; it is ignored unless the node is anvil")
    from backend.app import Coordinator
    from backend.faults import install_traceback_rate_limit

    install_traceback_rate_limit()
    try:  # connect, check the state and take the lease before serving: a refusal is one clear line, exit 2
        coordinator = Coordinator.from_settings(settings)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            log.error("%s", exc.code)
            return 2
        raise
    app = create_app(coordinator=coordinator)
    log.info("serving on http://%s:%d (OpenAPI docs at /docs)", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, log_config=None)
    return 0

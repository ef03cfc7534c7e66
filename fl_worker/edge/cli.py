"""`hcfl edge-client`: an edge device's process (fl_worker.edge.client)."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger("hcfl.edge_client")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "edge-client",
        help="run an edge device: train on its own data for its base station (Flower) and verify its inclusion",
        description="Joins the station's cell as a Flower client, trains on the local data folder whenever the "
        "station asks, signs every update with the device's Ethereum key and verifies the station's Merkle proof "
        "that the update was included in each global round.",
    )
    p.add_argument("action", nargs="?", choices=["run", "claim"], default="run",
                   help="run: train and get paid (default); claim: claim a posted payout of --round now")
    p.add_argument("--station", required=True, metavar="URL", help="the station's edge endpoint, e.g. http://10.0.0.2:9100")
    p.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="file holding the device's private key (hex)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="local data: .npz files with arrays X and y, or MNIST / CIFAR-10 files")
    p.add_argument("--flower", metavar="HOST:PORT", help="the station's Flower server (default: from the station)")
    p.add_argument("--report", type=Path, metavar="FILE", help="keep a JSON record of the rounds and proofs here")
    p.add_argument("--rpc", metavar="URL", help="chain node: verify inclusion proofs against the station's on-chain "
                   "clientsRoot, verify the station's reward rule, seal cost claims and claim payouts with the device's "
                   "key (no payouts without it)")
    p.add_argument("--contract", metavar="ADDRESS", help="pin the HCFLCore address: refuse a station that names "
                   "another (with --rpc, inclusion proofs are checked against its clientsRoot on chain)")
    p.add_argument("--costs", metavar="X,Y[,Z]", help="cost parameters of the sealed claim when the rule takes "
                   "one (ifedcrowd: gamma,delta,t_min; lceme: c_p,c_l)")
    p.add_argument("--no-claim", action="store_true",
                   help="show the realised payout but leave claiming to `hcfl edge-client claim` (before the deadline)")
    p.add_argument("--round", type=int, metavar="N", help="claim: the round id")
    p.add_argument("--nice", type=_niceness, default=10, metavar="N",
                   help="CPU priority of the device's process, as nice(1) (0..19, default 10): training is background "
                   "work, so the device's own programs (and, on a shared machine, the stations' and the "
                   "coordinator's messages) go first; 0 keeps the priority it was started with")
    p.add_argument("--train-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _niceness(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 19:
        raise argparse.ArgumentTypeError(f"{text!r}: a niceness within 0..19")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from fl_worker.edge.client import EdgeClientError, EdgeClientProcess, install_signal_handlers, load_key
    from fl_worker.edge.data import EdgeDataError, load_edge_data

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from hcfl.edge.client_side import PayError

    try:
        account = load_key(args.key)
        if args.action == "claim":
            return _claim(args, account)
        if args.data is None:
            raise EdgeClientError("--data DIR is required")
        raw = load_edge_data(args.data)
        if args.nice:
            os.nice(args.nice)
        costs = [c.strip() for c in args.costs.split(",")] if args.costs else None
        process = EdgeClientProcess(args.station, account, raw, report=args.report, flower=args.flower,
                                    train_delay=args.train_delay, rpc=args.rpc, costs=costs,
                                    auto_claim=not args.no_claim, contract=args.contract)
        install_signal_handlers(process)
        return process.run()
    except (EdgeClientError, EdgeDataError, PayError) as exc:
        log.error("%s", exc)
        return 2


def _claim(args: argparse.Namespace, account) -> int:  # noqa: ANN001 - LocalAccount
    import json

    from fl_worker.edge.client import EdgeClientError
    from fl_worker.edge.paying import claim_once

    if args.round is None or args.rpc is None:
        raise EdgeClientError("claim needs --round N and --rpc URL")
    print(json.dumps(claim_once(args.station, account, args.round, args.rpc)))
    return 0

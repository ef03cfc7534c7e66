"""`hcfl edge-client`: an edge device's process (fl_worker.edge.client)."""
from __future__ import annotations

import argparse
import logging
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
    p.add_argument("--station", required=True, metavar="URL", help="the station's edge endpoint, e.g. http://10.0.0.2:9100")
    p.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="file holding the device's private key (hex)")
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="local data: .npz files with arrays X and y, or MNIST / CIFAR-10 files")
    p.add_argument("--flower", metavar="HOST:PORT", help="the station's Flower server (default: from the station)")
    p.add_argument("--report", type=Path, metavar="FILE", help="keep a JSON record of the rounds and proofs here")
    p.add_argument("--train-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fl_worker.edge.client import EdgeClientError, EdgeClientProcess, install_signal_handlers, load_key
    from fl_worker.edge.data import EdgeDataError, load_edge_data

    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        account = load_key(args.key)
        raw = load_edge_data(args.data)
        process = EdgeClientProcess(args.station, account, raw, report=args.report, flower=args.flower,
                                    train_delay=args.train_delay)
        install_signal_handlers(process)
        return process.run()
    except (EdgeClientError, EdgeDataError) as exc:
        log.error("%s", exc)
        return 2

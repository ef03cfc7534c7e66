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
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--edge", action="store_true",
                      help="train with this station's edge clients (hcfl edge-client processes) over Flower")
    mode.add_argument("--data", type=Path, metavar="DIR", dest="station_data",
                      help="station-level silo: train on this station's own data (.npz with X and y, MNIST, CIFAR-10)")
    mode.add_argument("--simulate", action="store_true",
                      help="simulation (demo, benches, tests): cut this station's clients out of the plan's shared "
                      "dataset by the plan's partition")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="--simulate: local copy of the plan's dataset (mnist, cifar10)")
    p.add_argument("--edge-flower", default="127.0.0.1:9091", metavar="HOST:PORT",
                   help="--edge: address of the cell's Flower server (127.0.0.1:9091)")
    p.add_argument("--edge-http", default="127.0.0.1:9090", metavar="HOST:PORT",
                   help="--edge: address of the cell's HTTP endpoint that edge clients are started with (127.0.0.1:9090)")
    p.add_argument("--min-edge-clients", type=int, default=1, metavar="N",
                   help="--edge: accepted updates needed per edge round (1)")
    p.add_argument("--edge-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="--edge: how long an edge round waits for clients to connect and answer (60)")
    p.add_argument("--edge-payouts", metavar="ADDRESS", help="--edge: pay the edge clients through this "
                   "EdgePayouts contract (announce the rule, post the Merkle payouts)")
    p.add_argument("--edge-rule", default="samples", metavar="NAME|FILE",
                   help="--edge-payouts: ifedcrowd, lceme, shapley, equal, samples, or a JSON EdgeRewardRule file")
    p.add_argument("--edge-reward-timeout", type=float, default=3600.0, metavar="SECONDS",
                   help="--edge-payouts: how long to wait after training for the station's HCFLCore reward to be "
                   "final (claimed) before its edge payouts are posted (3600)")
    p.add_argument("--edge-claim-reward", action="store_true",
                   help="--edge-payouts: claim the station's HCFLCore reward itself once the round is finished (a "
                   "plain claim: Equal/Stake shares; under contribution scores the operator claims with the proof)")
    p.add_argument("--edge-claim-window", type=int, default=7 * 86400, metavar="SECONDS",
                   help="--edge-payouts: how long edge clients may claim a posting before the station reclaims (7 days)")
    p.add_argument("--edge-pay-dir", type=Path, metavar="DIR", help="--edge-payouts: publish rules and settlements here")
    p.add_argument("--long-poll", type=float, default=25.0, metavar="SECONDS",
                   help="how long the coordinator may hold a task request open until there is work (25; 0: plain polling)")
    p.add_argument("--poll", type=float, default=2.0, metavar="SECONDS", help="seconds between polls when waiting (2)")
    p.add_argument("--max-backoff", type=float, default=30.0, metavar="SECONDS",
                   help="cap of the exponential retry delay when the coordinator or node is unreachable (30)")
    p.add_argument("--forever", action="store_true",
                   help="after the round is done, keep serving the following round ids this station is selected for")
    p.set_defaults(func=run)


def _edge_pay(args: argparse.Namespace):  # noqa: ANN202 - EdgePayConfig | None (torch-free import here)
    if not args.edge_payouts:
        return None
    import json

    from fl_worker.edge_pay import EdgePayConfig
    from hcfl.edge.rule import RULES, EdgeRewardRule

    rule = (EdgeRewardRule(name=args.edge_rule) if args.edge_rule in RULES
            else EdgeRewardRule.model_validate(json.loads(Path(args.edge_rule).read_text())))
    return EdgePayConfig(contract=args.edge_payouts, rule=rule, claim_window=args.edge_claim_window,
                         reward_timeout=args.edge_reward_timeout, claim_reward=args.edge_claim_reward,
                         out_dir=args.edge_pay_dir)


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
            mode="edge" if args.edge else "silo" if args.station_data is not None else "simulate",
            station_data=args.station_data, edge_flower=args.edge_flower, edge_http=args.edge_http,
            min_edge_clients=args.min_edge_clients, edge_timeout=args.edge_timeout, long_poll=args.long_poll,
            edge_pay=_edge_pay(args),
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

"""`hcfl bench gas`: gas of contract v2 (HCFLCore) per participant, and `settle` gas as N grows.

Every number is a receipt's `gasUsed` on a real chain (anvil by default, spawned with the EIP-7825
per-transaction cap enforced; `--chain embedded|anvil|URL`). The measurements are hcfl.bench.gas_v2's:

1. **Per participant at K = 1**: an owner's and a station's join + commit + reveal + claimAndWithdraw
   (target <= 250,000 gas).
2. **settle vs N** (K = 10, plus N = 10 at K = 20): `settle` is O(K), so its gas must not grow with N (target:
   within 10 % across N); the largest transaction of every round must stay under 16,777,216 gas.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from hcfl.chain import toolchain
from hcfl.chain.provider import connect

log = logging.getLogger(__name__)

QUICK_NS: tuple[int, ...] = (10, 100)


def _ensure_anvil_on_path() -> None:
    node_bin = str(toolchain.node_modules() / ".bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hcfl.bench import gas_v2

    parser.add_argument("--chain", default="anvil",
                        help="embedded | anvil (default: spawned from node_modules with the EIP-7825 cap) | RPC URL")
    parser.add_argument("--quick", action="store_true",
                        help=f"N in {list(QUICK_NS)} and no K=20 row (well under a minute on anvil)")
    parser.add_argument("--ns", "--n", dest="ns", type=_int_list, default=None, metavar="N[,N...]",
                        help=f"comma-separated N values of the settle-vs-N table (default on anvil {list(gas_v2.NS)}, "
                             f"about 6 min; on other chains {list(gas_v2.NS_SLOW_CHAIN)})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random claims and salts")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the measurements as JSON")


def run(args: argparse.Namespace) -> int:
    from hcfl.bench import gas_v2

    chain = args.chain
    ns = args.ns or (list(QUICK_NS) if args.quick else list(gas_v2.NS if chain == "anvil" else gas_v2.NS_SLOW_CHAIN))
    if chain == "anvil":
        _ensure_anvil_on_path()
        chain = "anvil-7825"  # every transaction must fit the EIP-7825 per-transaction cap: anvil enforces it
        ch = gas_v2.spawn_bench_anvil()
    else:
        ch = connect(chain)
    try:
        res = gas_v2.run_v2(ch, ns, seed=args.seed, worst_k=not args.quick)
    finally:
        ch.close()
    res.chain = chain
    sys.stdout.write(gas_v2.render_v2(res))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res.to_json(), indent=2) + "\n")
        log.info("wrote %s", args.json)
    return 0

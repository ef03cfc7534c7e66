"""`hcfl demo`: the README's main job. For now it runs the scripted crowdfunding round on the embedded
chain (or a spawned anvil) and checks the books; the coordinator-driven demo with real training replaces
it when the coordinator exists (issue 5)."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a full crowdfunding round end-to-end on a local chain")
    p.add_argument("--chain", default="embedded", help="embedded (default) | anvil | RPC URL of a dev node")
    p.add_argument("--json", type=Path, help="write the report as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hcfl.chain.provider import connect
    from hcfl.chain.scripted_round import as_dict, run_scripted_round, summary_table

    with connect(args.chain) as chain:
        result = run_scripted_round(chain, progress=True)
    print(f"round {result.round_id} on {args.chain}: selected proposal {result.selected}, surplus {result.surplus}")
    print(f"total payment C = {result.total_payment} wei, winner punished: {result.punished}")
    print(summary_table(result))
    print(f"{result.transactions} transactions; books balance: {result.solvent}; "
          f"left in the contract: {result.final_balance} wei (recycle pools {result.pools})")
    if args.json:
        args.json.write_text(json.dumps(as_dict(result), indent=2))
    return 0 if result.solvent else 1

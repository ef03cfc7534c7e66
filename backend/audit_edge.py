"""`hcfl audit ... --edge-payouts ADDR --edge-settlement FILE...`: check stations' published edge settlements
(fl_worker.edge_pay writes them) against EdgePayouts: rule hash, revealed claims, every amount recomputed
from the published inputs (hcfl.chain.edge_payouts.audit_settlement)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def run_edge(args: argparse.Namespace) -> int:
    from web3 import Web3

    from hcfl.chain.edge_payouts import EdgePayoutsClient, audit_settlement
    from hcfl.edge.round_settle import EdgeSettlement

    if not args.edge_payouts:
        print("hcfl audit: error: --edge-settlement needs --edge-payouts ADDRESS")
        return 1
    contract = EdgePayoutsClient(Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 60})), args.edge_payouts)
    report: list[dict[str, Any]] = []
    for path in args.edge_settlement:
        try:
            s = EdgeSettlement.from_json(Path(path).read_text())
            problems = audit_settlement(contract, s, args.from_block)
        except (OSError, ValueError) as exc:
            problems, s = [f"unreadable settlement: {exc}"[:500]], None
        report.append({"file": str(path), "station": s.station if s else None, "round_id": s.round_id if s else None,
                       "clients": len(s.amounts) if s else 0, "ok": not problems, "problems": problems})
    if getattr(args, "json", False):
        print(json.dumps({"edge_settlements": report}, indent=2))
    else:
        for r in report:
            print(f"edge settlement {r['file']}: station {r['station']} round {r['round_id']}, {r['clients']} client(s): "
                  + ("OK" if r["ok"] else "MISMATCH"))
            for p in r["problems"]:
                print(f"  - {p}")
    return 0 if all(r["ok"] for r in report) else 1

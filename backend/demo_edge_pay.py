"""The demo's edge payouts (issue 10): one EdgePayouts deployment, a rule per station, the daemons' and
edge devices' payout flags, and afterwards the table of what each edge device was paid and claimed, with
every station's published settlement audited against the chain (hcfl.chain.edge_payouts.audit_settlement).

The demo stations fund their edge payouts from their own balance (EDGE_BUDGET per round): the v2 station
reward is only claimable once the round settled, after training (docs/mechanism.md, "Edge payouts").
The demo uses rules without cost claims (samples, equal, shapley): the coordinator fast-forwards the dev
chain's clock, which would close claim windows under the devices' feet; tests/edge_tier/test_edge_pay_e2e.py
runs the sealed-claim rule (ifedcrowd) with real processes instead.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

EDGE_BUDGET = 10**15  # wei per station and round
EDGE_RULES = ("samples", "equal", "shapley")


def deploy(w3: Any, funder: Any) -> str:
    from hcfl.chain.edge_payouts import EdgePayoutsClient

    return EdgePayoutsClient.deploy(w3, funder).address


def daemon_args(contract: str, station_index: int, workdir: Path) -> list[str]:
    return ["--edge-payouts", contract, "--edge-rule", EDGE_RULES[station_index % len(EDGE_RULES)],
            "--edge-budget", str(EDGE_BUDGET), "--edge-pay-dir", str(workdir / "edge-pay")]


def client_args(rpc_url: str) -> list[str]:
    return ["--rpc", rpc_url]


def collect(w3: Any, contract: str, rid: int, edge: dict[str, dict[str, Any]], workdir: Path,
            timeout: float = 120.0) -> dict[str, Any]:
    """Rows (device, address, station, rule, amount, claim tx) once every paid device claimed (or `timeout`),
    and the audit of every published settlement."""
    from hcfl.chain.edge_payouts import EdgePayoutsClient, audit_settlement
    from hcfl.edge.round_settle import EdgeSettlement

    c = EdgePayoutsClient(w3, contract)
    folder = workdir / "edge-pay"
    deadline = time.monotonic() + timeout
    settlements: list[EdgeSettlement] = []
    while time.monotonic() < deadline:
        settlements = [EdgeSettlement.from_json(p.read_text()) for p in sorted(folder.glob("edge-settlement-*.json"))]
        stations = {info["station"] for info in edge.values()}
        paid = [(s, a) for s in settlements for a, v in s.amounts.items() if v > 0]
        if len(settlements) >= len(stations) and all(
                c.is_claimed(s.station, bytes.fromhex(s.round_key[2:]), a) for s, a in paid):
            break
        time.sleep(1.0)
    claims = {(ev.args["station"], ev.args["client"]): ev for ev in c.events() if ev.name == "Claimed"}
    by_addr = {s.station: s for s in settlements}
    rows = []
    for name, info in edge.items():
        report = json.loads(info["report"].read_text()) if info["report"].exists() else {}
        pay = report.get("payouts", {}).get(str(rid), {})
        station = pay.get("station")
        s = by_addr.get(station) if station else None
        amount = s.amounts.get(info["address"], 0) if s else None
        ev = claims.get((station, info["address"])) if station else None
        rows.append({"device": name, "address": info["address"], "station": info["station"],
                     "rule": s.rule.name if s else pay.get("rule"), "expected_wei": pay.get("expected_wei"),
                     "amount_wei": amount, "claimed_wei": int(ev.args["amount"]) if ev else 0,
                     "claim_tx": ev.tx_hash if ev else None})
    audits = [{"station": s.station, "rule": s.rule.name, "root": s.root, "funded": sum(s.amounts.values()),
               "returned": s.returned, "problems": audit_settlement(c, s)} for s in settlements]
    return {"contract": contract, "rows": rows, "audit": audits,
            "ok": bool(settlements) and all(not a["problems"] for a in audits)}


def render(section: dict[str, Any]) -> list[str]:
    lines = ["", f"edge payouts (EdgePayouts {section['contract']}; audit ok: {section['ok']}):",
             "| edge device | station | rule | expected (gwei) | amount (gwei) | claimed tx |", "|---|---|---|---:|---:|---|"]
    for r in section["rows"]:
        exp = "-" if r["expected_wei"] is None else f"{r['expected_wei'] / 1e9:g}"
        amt = "-" if r["amount_wei"] is None else f"{r['amount_wei'] / 1e9:g}"
        lines.append(f"| {r['device']} | {r['station']} | {r['rule']} | {exp} | {amt} | {r['claim_tx'] or '-'} |")
    for a in section["audit"]:
        for p in a["problems"]:
            lines.append(f"  AUDIT {a['station']}: {p}")
    return lines

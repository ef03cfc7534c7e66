"""The demo's edge payouts (issue 10): one EdgePayouts deployment bound to the demo's HCFLCore, a rule per
station (one of them, ifedcrowd, takes sealed cost claims of its edge devices), the daemons' and edge
devices' payout flags, the waits that keep the devices' sealed claims inside the round's own commit and
reveal windows, and afterwards the table of what each edge device claimed, with every station's published
settlement audited against the chain (hcfl.chain.edge_payouts.audit_settlement).

Each station splits exactly its HCFLCore reward for the round (EdgePayouts checks the funding against
HCFLCore.stationReward): its daemon announces the rule as soon as it starts (the station already joined),
and posts once the demo claimed the stations' rewards (claimWithScore) after the vote.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

# two stations take sealed cost claims: a station whose contribution score is <= 0 earns no reward, and so has
# nothing to split (live Shapley at the edge: tests/edge_tier/test_edge_paymaster.py)
EDGE_RULES = ("ifedcrowd", "samples", "ifedcrowd")
# sealed cost claims (gamma, delta, T_min) of the ifedcrowd station's edge devices, by device index
EDGE_COSTS = ("1.0,0.5,1.0", "2.0,1.0,1.0")
CLAIM_RULES = ("ifedcrowd", "lceme")


def deploy(w3: Any, funder: Any, core: str) -> str:
    from hcfl.chain.edge_payouts import EdgePayoutsClient

    return EdgePayoutsClient.deploy(w3, core, funder).address


def rule_of(station_index: int) -> str:
    return EDGE_RULES[station_index % len(EDGE_RULES)]


def daemon_args(contract: str, station_index: int, workdir: Path) -> list[str]:
    return ["--edge-payouts", contract, "--edge-rule", rule_of(station_index), "--edge-reward-timeout", "900",
            "--edge-pay-dir", str(workdir / "edge-pay")]


def client_args(rpc_url: str, station_index: int, device_index: int) -> list[str]:
    extra = ["--costs", EDGE_COSTS[device_index % len(EDGE_COSTS)]] if rule_of(station_index) in CLAIM_RULES else []
    return ["--rpc", rpc_url, *extra]


def wait_sealed(w3: Any, contract: str, rid: int, stations: dict[str, str], edge: dict[str, dict[str, Any]],
                revealed: bool, timeout: float = 120.0) -> int:
    """Until every edge device of a claim-rule station committed (`revealed`: revealed) its sealed cost claim on
    chain; the demo holds its own commits (reveals) until then, so that the coordinator's fast-forward, which
    waits only for the round's participants, never closes the devices' window under them. Returns how many."""
    from hcfl.chain.edge_payouts import EdgePayoutsClient, round_key

    c = EdgePayoutsClient(w3, contract)
    key = round_key(c.core, rid)
    names = list(stations)
    devices = [(stations[info["station"]], info["address"]) for info in edge.values()
               if rule_of(names.index(info["station"])) in CLAIM_RULES]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [c.cost_claim(s, key, a) for s, a in devices]
        if all((r if revealed else h != bytes(32)) for h, r in done):
            return len(devices)
        time.sleep(0.3)
    raise TimeoutError(f"the edge devices' sealed cost claims were not {'revealed' if revealed else 'committed'} "
                       f"within {timeout:g} s")


def collect(w3: Any, contract: str, rid: int, edge: dict[str, dict[str, Any]], workdir: Path,
            timeout: float = 120.0) -> dict[str, Any]:
    """Rows (device, address, station, rule, revealed costs, expected, amount, claimed, claim tx) once every
    paid device claimed (or `timeout`), each station's reward, and the audit of every published settlement."""
    from hcfl.chain.edge_payouts import EdgePayoutsClient, audit_settlement
    from hcfl.edge.round_settle import EdgeSettlement

    c = EdgePayoutsClient(w3, contract)
    folder = workdir / "edge-pay"
    deadline = time.monotonic() + timeout
    settlements: list[EdgeSettlement] = []
    stations = {info["station"] for info in edge.values()}
    while time.monotonic() < deadline:
        settlements = [EdgeSettlement.from_json(p.read_text()) for p in sorted(folder.glob("edge-settlement-*.json"))]
        paid = [(s, a) for s in settlements for a, v in s.amounts.items() if v > 0]
        if len(settlements) >= len(stations) and all(
                c.is_claimed(s.station, bytes.fromhex(s.round_key[2:]), a) for s, a in paid):
            break
        time.sleep(0.25)
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
        costs = s.claims.get(info["address"]) if s else None
        rows.append({"device": name, "address": info["address"], "station": info["station"], "station_address": station,
                     "rule": s.rule.name if s else pay.get("rule"), "expected_wei": pay.get("expected_wei"),
                     "costs": [v / 10**18 for v in costs] if costs else None,
                     "amount_wei": amount, "claimed_wei": int(ev.args["amount"]) if ev else 0,
                     "claim_tx": ev.tx_hash if ev else None})
    audits = [{"station": s.station, "rule": s.rule.name, "root": s.root, "reward": s.budget,
               "returned": s.returned, "problems": audit_settlement(c, s)} for s in settlements]
    return {"contract": contract, "rows": rows, "audit": audits,
            "ok": len(settlements) >= len(stations) and all(not a["problems"] for a in audits)}


def render(section: dict[str, Any]) -> list[str]:
    lines = ["", f"edge payouts: each station's HCFLCore reward split among its edge devices (EdgePayouts "
             f"{section['contract']}; audit ok: {section['ok']}):",
             "| edge device | station | rule | sealed costs | expected (gwei) | amount (gwei) | claimed (gwei) | claim tx |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for r in section["rows"]:
        exp = "-" if r["expected_wei"] is None else f"{r['expected_wei'] / 1e9:g}"
        amt = "-" if r["amount_wei"] is None else f"{r['amount_wei'] / 1e9:g}"
        costs = "-" if not r.get("costs") else ",".join(f"{x:g}" for x in r["costs"])
        lines.append(f"| {r['device']} | {r['station']} | {r['rule']} | {costs} | {exp} | {amt} | "
                     f"{r['claimed_wei'] / 1e9:g} | {r['claim_tx'] or '-'} |")
    for a in section["audit"]:
        lines.append(f"  station {a['station'][:10]} ({a['rule']}): reward {a['reward'] / 1e9:g} gwei, "
                     f"returned to the station {a['returned'] / 1e9:g} gwei")
        for p in a["problems"]:
            lines.append(f"  AUDIT {a['station']}: {p}")
    return lines

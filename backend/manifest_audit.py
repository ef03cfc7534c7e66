"""Recompute the coordinator's per-round inclusion manifests (docs/protocol.md, "Inclusion manifest") and hold
them against the chain: `hcfl audit --coordinator URL` runs it after the books.

For every global round g of every round with training at the coordinator:
- the manifest's root is the hcfl.merkle root of its `included` leaves (address, update_hash, weight);
- every included station reported that very update hash for g on chain (TrainingReported);
- every station that reported g on chain is included in g's manifest. A report without an included update
  is a claim for work that never went into the model: the audit names it (the contract pays it only when the
  winner recorded no inclusion root).
- rewards only for included work (hcfl/inclusion.py): the inclusion root and the manifests root the winner
  recorded on chain (InclusionRecorded) are those recomputed from the published manifests and the round's
  revealed stations; a finalized round without a recorded inclusion root is named too (its stations are paid
  for their reported rounds).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import BaseModel

from hcfl.merkle import MerkleTree
from hcfl.protocol.leaves import MANIFEST_LEAF_TYPES


class ManifestFinding(BaseModel):
    round_id: int
    global_round: int
    station: str | None = None
    problem: str


def check_round(manifests: Sequence[dict[str, Any]], reports: dict[tuple[str, int], str], round_id: int) -> list[ManifestFinding]:
    """`manifests[g]` as published; `reports[(station, g)]` = the update hash the station reported on chain."""
    findings: list[ManifestFinding] = []
    for g, m in enumerate(manifests):
        included = m.get("included") or []
        try:
            leaves = [(i["address"], bytes.fromhex(str(i["update_hash"])[2:]), int(i["weight"])) for i in included]
        except (KeyError, TypeError, ValueError) as exc:
            findings.append(ManifestFinding(round_id=round_id, global_round=g, problem=f"unreadable leaves: {exc}"))
            continue
        root = "0x" + MerkleTree.build(MANIFEST_LEAF_TYPES, sorted(leaves, key=lambda x: x[0].lower())).root.hex() \
            if leaves else None
        if root != m.get("root"):
            findings.append(ManifestFinding(round_id=round_id, global_round=g,
                                            problem=f"root {m.get('root')} is not the root {root} of the listed leaves"))
        for address, update_hash, _ in leaves:
            on_chain = reports.get((address, g))
            if on_chain is None:
                findings.append(ManifestFinding(round_id=round_id, global_round=g, station=address,
                                                problem="included but never reported on chain"))
            elif on_chain != "0x" + update_hash.hex():
                findings.append(ManifestFinding(round_id=round_id, global_round=g, station=address,
                                                problem=f"included update {'0x' + update_hash.hex()} differs from the "
                                                        f"reported {on_chain}"))
        names = {a for a, _, _ in leaves}
        for (station, rg), _h in sorted(reports.items()):
            if rg == g and station not in names:
                findings.append(ManifestFinding(round_id=round_id, global_round=g, station=station,
                                                problem="reported on chain but its update is not in the aggregate"))
    return findings


def audit_manifests(client: Any, coordinator: str) -> list[ManifestFinding]:
    """Fetch every closed global round's manifest from `coordinator` and check it against `client`'s events."""
    findings: list[ManifestFinding] = []
    events = client.events()
    with httpx.Client(base_url=coordinator.rstrip("/"), timeout=60) as http:
        rounds = client.counts()[1]
        for rid in range(rounds):
            reports = {(e.args["station"], int(e.args["globalRound"])): "0x" + bytes(e.args["updateHash"]).hex()
                       for e in events if e.name == "TrainingReported" and int(e.args["roundId"]) == rid}
            manifests = []
            g = 0
            while True:
                r = http.get(f"/api/rounds/{rid}/manifests/{g}")
                if r.status_code != 200:
                    break
                manifests.append(r.json())
                g += 1
            late = {k: v for k, v in reports.items() if k[1] < len(manifests)}
            findings += check_round(manifests, late, rid)
            findings += check_inclusion(client, events, rid, manifests)
            for (station, rg) in sorted(set(reports) - set(late)):
                findings.append(ManifestFinding(round_id=rid, global_round=rg, station=station,
                                                problem="reported on chain for a global round with no published manifest"))
    return findings


def check_inclusion(client: Any, events: Sequence[Any], rid: int, manifests: Sequence[dict[str, Any]]) -> list[ManifestFinding]:
    """The on-chain inclusion record of round `rid` against the one recomputed from its published manifests."""
    from hcfl.inclusion import inclusion_record
    from hcfl.ledger.fetch import ledger_of

    mine = [e for e in events if int(e.args.get("roundId", -1)) == rid]
    recorded = [e for e in mine if e.name == "InclusionRecorded"]
    finalized = any(e.name == "TrainingFinalized" for e in mine)
    if not recorded:
        if finalized and manifests:
            return [ManifestFinding(round_id=rid, global_round=len(manifests) - 1, problem=(
                "finalized without an inclusion root (recordInclusion): its stations are paid for reported rounds"))]
        return []
    ledger = ledger_of(client)
    expected = inclusion_record(ledger.rounds[rid].revealed_stations, manifests)
    findings = []
    on_chain = "0x" + bytes(recorded[0].args["inclusionRoot"]).hex()
    if on_chain != expected["inclusion_root"]:
        findings.append(ManifestFinding(round_id=rid, global_round=len(manifests) - 1, problem=(
            f"on-chain inclusion root {on_chain} is not the root {expected['inclusion_root']} of the manifests' "
            "included rounds per station")))
    on_chain_m = "0x" + bytes(recorded[0].args["manifestsRoot"]).hex()
    if on_chain_m != expected["manifests_root"]:
        findings.append(ManifestFinding(round_id=rid, global_round=len(manifests) - 1, problem=(
            f"on-chain manifests root {on_chain_m} is not the root {expected['manifests_root']} of the published "
            "manifests")))
    return findings

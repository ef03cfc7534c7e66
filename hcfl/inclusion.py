"""Rewards only for included work (docs/security.md, "Rewards only for included work"): the one definition
of the inclusion tree the winner records on chain (`recordInclusion`) and every station proves its leaf in
(`proveInclusion`), and of how it follows from the coordinator's per-round inclusion manifests.

- A manifest (backend/training.py, GET /api/rounds/{rid}/manifests/{g}) lists the station updates that went
  into global round g's aggregate; its root is a Merkle root over (station, update hash, weight).
- includedRounds(station) = the number of global rounds whose manifest lists the station.
- The inclusion tree has one leaf (station, includedRounds) per revealed station (0 included too, so every
  station can prove its leaf and claim), in ascending order of the lower-case address.
- manifestsRoot is the Merkle root of (globalRound, manifestRoot) for g = 0..t-1 (bytes32(0) for a global
  round that included nobody): it binds the published manifests to the chain.

On chain a station is paid for min(includedRounds, reported) of its t global rounds once the winner finalized
(HCFLCore.claim); `hcfl audit --coordinator URL` recomputes both roots from the published manifests.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eth_utils import to_checksum_address

from hcfl.merkle import MerkleTree

INCLUSION_LEAF_TYPES = ("address", "uint256")  # (station, includedRounds)
MANIFESTS_LEAF_TYPES = ("uint256", "bytes32")  # (globalRound, manifestRoot)
ZERO32 = b"\0" * 32


def included_rounds(stations: Iterable[str], manifests: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Per station (checksummed), the number of manifests whose `included` list names it."""
    counts = {to_checksum_address(a): 0 for a in stations}
    for m in manifests:
        named = {to_checksum_address(i["address"]) for i in (m.get("included") or [])}
        for a in named:
            if a in counts:
                counts[a] += 1
    return counts


def inclusion_tree(counts: Mapping[str, int]) -> dict[str, Any]:
    """The inclusion root and every station's leaf with its proof (what proveInclusion needs)."""
    values = sorted(((to_checksum_address(a), int(n)) for a, n in counts.items()), key=lambda v: v[0].lower())
    if not values:
        return {"inclusion_root": "0x" + ZERO32.hex(), "inclusion_leaves": []}
    tree = MerkleTree.build(INCLUSION_LEAF_TYPES, values)
    leaves = [{"station": a, "included_rounds": n, "proof": ["0x" + p.hex() for p in tree.proof(i)]}
              for i, (a, n) in enumerate(values)]
    return {"inclusion_root": "0x" + tree.root.hex(), "inclusion_leaves": leaves}


def manifests_root(roots: Sequence[str | None]) -> str:
    """Root over (g, manifest root of g) for the given per-round roots (None: nobody included)."""
    if not roots:
        return "0x" + ZERO32.hex()
    values = [(g, bytes.fromhex(r[2:]) if r else ZERO32) for g, r in enumerate(roots)]
    return "0x" + MerkleTree.build(MANIFESTS_LEAF_TYPES, values).root.hex()


def inclusion_record(stations: Iterable[str], manifests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Everything the winner records and the stations prove: inclusion root and leaves, manifests root."""
    out = inclusion_tree(included_rounds(stations, manifests))
    out["manifests_root"] = manifests_root([m.get("root") for m in manifests])
    return out


def counted_rounds(reported: int, included: int | None, contested: bool, punished: bool, use_root: bool) -> int:
    """The global rounds a station is paid for (the contract's TrainingModule.countedRounds; `included` None
    while its leaf is unproven, which counts as 0 here and leaves its claim waiting for a proof on chain)."""
    if not use_root or (contested and punished):
        return reported
    return min(included or 0, reported)

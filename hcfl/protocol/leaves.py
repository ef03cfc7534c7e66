"""The Merkle leaf layouts of the protocol (hcfl.merkle, OpenZeppelin-compatible trees), and the
contribution-score tree the winner finalizes with and stations claim against (claimWithScore).

- `MANIFEST_LEAF_TYPES`: a global round's inclusion manifest, (station, update hash, aggregation weight);
- `SCORE_LEAF_TYPES`: contribution scores, (station, score, prefixBefore) in the stations' order;
- `EDGE_LEAF_TYPES`: a station's edge clients of one global round, (edge client, update hash, samples).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils import to_checksum_address

from hcfl.merkle import MerkleTree

MANIFEST_LEAF_TYPES: tuple[str, ...] = ("address", "bytes32", "uint256")
SCORE_LEAF_TYPES: tuple[str, ...] = ("address", "uint256", "uint256")
EDGE_LEAF_TYPES: tuple[str, ...] = ("address", "bytes32", "uint256")
ZERO_ROOT = "0x" + "00" * 32


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def score_tree(stations: Sequence[str], scores: Sequence[int]) -> dict[str, Any]:
    """The contribution-score Merkle tree (V2-RULES.md): leaves (station, score, prefixBefore) in the stations'
    order; every station's leaf with its proof (what claimWithScore needs). No valid score (none, or all zero):
    the zero root, and the chain falls back to Equal."""
    prefixes, total = [], 0
    for sc in scores:
        prefixes.append(total)
        total += int(sc)
    if not stations or total == 0:
        return {"scores_root": ZERO_ROOT, "scores_total": 0, "score_leaves": []}
    values = [(to_checksum_address(a), int(sc), int(pb)) for a, sc, pb in zip(stations, scores, prefixes)]
    tree = MerkleTree.build(SCORE_LEAF_TYPES, values)
    leaves = [{"station": a, "score": sc, "prefix_before": pb, "proof": [_hex(x) for x in tree.proof(i)]}
              for i, (a, sc, pb) in enumerate(values)]
    return {"scores_root": _hex(tree.root), "scores_total": total, "score_leaves": leaves}

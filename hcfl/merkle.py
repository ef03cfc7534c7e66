"""Merkle trees compatible with OpenZeppelin's `MerkleProof` (sorted-pair keccak256, double-hashed leaves).

One definition for every tree in HCFL: station inclusion manifests, edge-client payouts and
contribution scores. A leaf is `keccak256(bytes.concat(keccak256(abi.encode(types, values))))`, as in
OpenZeppelin's StandardMerkleTree, so `contracts/utils/MerkleProof.sol` verifies the proofs made here.

    tree = MerkleTree.build(["address", "uint256"], [(alice, 5), (bob, 7)])
    proof = tree.proof(0)
    assert verify(tree.root, leaf_hash(["address", "uint256"], (alice, 5)), proof)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak


def leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """keccak256(bytes.concat(keccak256(abi.encode(values)))): the double hash defeats second preimages."""
    return keccak(keccak(encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """keccak256 of the two nodes in ascending order (commutative, as OpenZeppelin's `_hashPair`)."""
    return keccak(a + b) if a < b else keccak(b + a)


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True when `proof` leads from `leaf` to `root`."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


@dataclass(frozen=True)
class MerkleTree:
    """A complete tree stored as a flat array (root at 0), leaves in the order given."""

    types: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    nodes: tuple[bytes, ...]

    @classmethod
    def build(cls, types: Sequence[str], values: Sequence[Sequence[Any]]) -> MerkleTree:
        if not values:
            raise ValueError("a Merkle tree needs at least one leaf")
        leaves = [leaf_hash(types, v) for v in values]
        n = len(leaves)
        nodes: list[bytes] = [b""] * (2 * n - 1)
        for i, leaf in enumerate(leaves):
            nodes[len(nodes) - 1 - i] = leaf
        for i in range(len(nodes) - 1 - n, -1, -1):
            nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
        return cls(tuple(types), tuple(tuple(v) for v in values), tuple(nodes))

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def leaf(self, index: int) -> bytes:
        return self.nodes[len(self.nodes) - 1 - index]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf `index` up to (not including) the root."""
        if not 0 <= index < len(self.values):
            raise IndexError(f"leaf index {index} out of range")
        out: list[bytes] = []
        i = len(self.nodes) - 1 - index
        while i > 0:
            out.append(self.nodes[i - 1] if i % 2 == 0 else self.nodes[i + 1])
            i = (i - 1) // 2
        return out

"""What edge clients and their station agree on: the inclusion leaves and proofs (the signed update and root
messages: hcfl.protocol.messages). One definition each (docs/protocol.md, "Edge tier").

Inclusion: for every global round g a station builds a Merkle tree (hcfl.merkle, OpenZeppelin-compatible)
over one leaf per edge client whose update went into at least one edge aggregate of g:

    leaf = (address edge_client, bytes32 update_hash, uint256 samples)

sorted by address. `samples` summed over the leaves is the station's sample count for g. The station
serves every included client its proof; a client verifies it against the root the station committed to.
"""
from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hcfl.merkle import MerkleTree, leaf_hash, verify
from hcfl.protocol.leaves import EDGE_LEAF_TYPES

HEX32 = r"^0x[0-9a-fA-F]{64}$"


class EdgeLeaf(BaseModel):
    """One included edge client of one global round."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str
    update_hash: str = Field(pattern=HEX32)
    samples: int = Field(ge=0, lt=2**256)

    @field_validator("address")
    @classmethod
    def _checksum(cls, v: str) -> str:
        return to_checksum_address(v)

    @field_validator("update_hash")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()

    def values(self) -> tuple[Any, ...]:
        return (self.address, bytes.fromhex(self.update_hash[2:]), self.samples)

    def hash(self) -> bytes:
        return leaf_hash(EDGE_LEAF_TYPES, self.values())


def build_tree(leaves: list[EdgeLeaf]) -> MerkleTree:
    """The tree over `leaves` in address order (raises ValueError when empty or when an address repeats)."""
    ordered = sorted(leaves, key=lambda leaf: leaf.address.lower())
    if len({leaf.address for leaf in ordered}) != len(ordered):
        raise ValueError("an edge client appears twice among the leaves")
    return MerkleTree.build(EDGE_LEAF_TYPES, [leaf.values() for leaf in ordered])


class InclusionProof(BaseModel):
    """What a station serves an edge client for one global round (GET /edge/proofs/{rid}/{g}/{address})."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    station: str
    round_id: int = Field(ge=0)
    global_round: int = Field(ge=0)
    root: str = Field(pattern=HEX32)
    samples: int = Field(ge=0, description="the station's sample count for the round (sum over the leaves)")
    root_signature: str = Field(max_length=200, description="station's EIP-191 signature of edge_root_message")
    leaf: EdgeLeaf
    proof: list[str] = Field(max_length=64)

    def verifies(self, root: str | None = None) -> bool:
        """True when the leaf is in the tree of `root` (default: the root this proof names)."""
        target = (root or self.root).lower()
        try:
            siblings = [bytes.fromhex(p[2:] if p.startswith("0x") else p) for p in self.proof]
        except ValueError:
            return False
        return verify(bytes.fromhex(target[2:]), self.leaf.hash(), siblings)


def make_proof(tree: MerkleTree, leaves: list[EdgeLeaf], address: str) -> tuple[EdgeLeaf, list[str]] | None:
    """The leaf of `address` and its sibling path in `tree` (built by build_tree from `leaves`), or None."""
    ordered = sorted(leaves, key=lambda leaf: leaf.address.lower())
    for i, leaf in enumerate(ordered):
        if leaf.address.lower() == address.lower():
            return leaf, ["0x" + p.hex() for p in tree.proof(i)]
    return None

"""hcfl.merkle: proofs verify for every leaf and size; tampered leaves and proofs fail."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.merkle import MerkleTree, hash_pair, leaf_hash, verify

TYPES = ["address", "uint256"]


def _leaves(n: int) -> list[tuple[str, int]]:
    return [("0x" + f"{i + 1:040x}", 10 * i + 1) for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_every_leaf_verifies(n: int) -> None:
    tree = MerkleTree.build(TYPES, _leaves(n))
    for i in range(n):
        assert verify(tree.root, tree.leaf(i), tree.proof(i))
        assert tree.leaf(i) == leaf_hash(TYPES, _leaves(n)[i])


def test_tampered_leaf_and_proof_fail() -> None:
    tree = MerkleTree.build(TYPES, _leaves(5))
    forged = leaf_hash(TYPES, (_leaves(5)[2][0], 999))
    assert not verify(tree.root, forged, tree.proof(2))
    bad = tree.proof(2)
    bad[0] = bytes(32)
    assert not verify(tree.root, tree.leaf(2), bad)


def test_single_leaf_root_is_leaf_and_pairs_commute() -> None:
    tree = MerkleTree.build(TYPES, _leaves(1))
    assert tree.root == tree.leaf(0) and tree.proof(0) == []
    a, b = tree.leaf(0), bytes(32)
    assert hash_pair(a, b) == hash_pair(b, a)
    with pytest.raises(ValueError):
        MerkleTree.build(TYPES, [])
    with pytest.raises(IndexError):
        tree.proof(1)

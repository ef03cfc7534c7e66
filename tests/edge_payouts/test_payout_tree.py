"""The Python side of edge payouts (no chain): the rounding rule, the payout tree and its published manifest."""
from __future__ import annotations

from fractions import Fraction

import pytest
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.chain.edge_payouts import LEAF_TYPES, PayoutManifest, PayoutTree, allocate, round_key
from hcfl.merkle import leaf_hash, verify


def addr(i: int) -> str:
    return to_checksum_address(keccak(text=f"client/{i}")[-20:])


weights_st = st.dictionaries(st.integers(0, 200).map(addr), st.integers(0, 10**6), min_size=1, max_size=30)


@settings(max_examples=80, deadline=None)
@given(total=st.integers(0, 2**128), weights=weights_st)
def test_allocate_conserves_every_wei(total: int, weights: dict[str, int]) -> None:
    out = allocate(total, weights)
    assert sum(out.values()) == total
    assert set(out) == set(weights)
    w_sum = sum(weights.values())
    for a, v in out.items():
        exact = Fraction(total * weights[a], w_sum) if w_sum else Fraction(total, len(weights))
        assert exact - 1 <= v <= exact + 1  # floor plus at most one wei of remainder
        if w_sum and weights[a] == 0:
            assert v == 0


def test_allocate_rounding_rule_example() -> None:
    """10 wei among three equal weights: floor 3 each, the 1 wei remainder to the lowest address."""
    a, b, c = sorted([addr(1), addr(2), addr(3)], key=lambda x: int(x, 16))
    assert allocate(10, {c: 1, a: 1, b: 1}) == {a: 4, b: 3, c: 3}
    assert allocate(10, {c: 0, a: 0, b: 0}) == {a: 4, b: 3, c: 3}  # all-zero weights: equal split
    assert allocate(7, {a: 0, b: 1, c: 1}) == {a: 0, b: 4, c: 3}  # zero weight gets nothing, not the remainder


def test_allocate_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        allocate(5, {})
    with pytest.raises(ValueError):
        allocate(-1, {addr(1): 1})
    with pytest.raises(ValueError):
        allocate(5, {addr(1): -1})
    with pytest.raises(TypeError):
        allocate(5, {addr(1): 0.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        allocate(5, {addr(1): True})
    with pytest.raises(ValueError):
        allocate(5, {addr(1): 1, addr(1).lower(): 2})  # one address spelled twice
    with pytest.raises(ValueError):
        allocate(5, {"0x1234": 1})


@settings(max_examples=40, deadline=None)
@given(weights=weights_st, total=st.integers(1, 10**24))
def test_tree_serves_a_valid_proof_to_every_client(weights: dict[str, int], total: int) -> None:
    amounts = allocate(total, weights)
    tree = PayoutTree.build(amounts)
    assert tree.total == total
    for a, v in amounts.items():
        assert tree.amount(a.lower()) == v
        assert verify(tree.root, leaf_hash(LEAF_TYPES, (a, v)), tree.proof(a))
        assert not verify(tree.root, leaf_hash(LEAF_TYPES, (a, v + 1)), tree.proof(a))
    # the root does not depend on the order the amounts came in
    assert PayoutTree.build(dict(reversed(list(amounts.items())))).root == tree.root


def test_tree_rejects_bad_input() -> None:
    for bad in ({}, {addr(1): 0}, {addr(1): -1}, {addr(1): 2**256}, {addr(1): 1.0}, {addr(1): True},
                {addr(1): 1, addr(1).lower(): 1}):
        with pytest.raises(ValueError):
            PayoutTree.build(bad)  # type: ignore[arg-type]
    tree = PayoutTree.build({addr(1): 1})
    with pytest.raises(KeyError):
        tree.proof(addr(2))


def test_manifest_round_trip_and_tamper() -> None:
    tree = PayoutTree.build(allocate(1000, {addr(i): i for i in range(1, 6)}))
    key = round_key(addr(99), 3)
    m = tree.manifest(addr(7), key)
    back = PayoutManifest.from_json(m.model_dump_json())
    assert back.tree().root == tree.root and back.total == 1000
    leaves = list(m.leaves)
    leaves[0] = (leaves[0][0], leaves[0][1] + 1)
    with pytest.raises(ValueError):
        m.model_copy(update={"leaves": leaves}).tree()  # amounts no longer give the root
    with pytest.raises(ValueError):
        m.model_copy(update={"leaves": m.leaves + [m.leaves[0]]}).tree()  # a client listed twice
    with pytest.raises(ValueError):
        PayoutManifest.from_json(m.model_dump_json().replace('"total":1000', '"total":-1'))


def test_round_key_is_the_core_round_id() -> None:
    """An EdgePayouts deployment is bound to one HCFLCore; its round key is bytes32(roundId)."""
    assert round_key(addr(1), 1) == (1).to_bytes(32, "big")
    assert len({round_key(addr(1), 1), round_key(addr(1), 2)}) == 2
    assert round_key(addr(1).lower(), 7) == round_key(addr(1), 7)
    with pytest.raises(ValueError):
        round_key("0x1234", 1)
    with pytest.raises(ValueError):
        round_key(addr(1), -1)

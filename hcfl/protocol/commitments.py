"""The commitments: the sealed-claim and sealed-vote commitments, exactly as the contract recomputes them, and
ω, the model commitment a proposal puts on chain (spec_hash)."""
from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def new_salt() -> bytes:
    """A fresh random 32-byte salt; keep it until the reveal."""
    return secrets.token_bytes(32)


def claims_commitment(round_id: int, sender: str, claims: Sequence[int], salt: bytes) -> bytes:
    """keccak256(abi.encode(uint256 roundId, address sender, uint256[] claims, bytes32 salt))."""
    if len(salt) != 32:
        raise ValueError("salt must be 32 bytes")
    if any(int(c) < 0 for c in claims):
        raise ValueError("claims must be non-negative integers (wei)")
    return keccak(
        encode(
            ["uint256", "address", "uint256[]", "bytes32"],
            [int(round_id), to_checksum_address(sender), [int(c) for c in claims], salt],
        )
    )


def vote_commitment(round_id: int, voter: str, punish: bool, salt: bytes) -> bytes:
    """keccak256(abi.encode(uint256 roundId, address voter, bool punish, bytes32 salt))."""
    if len(salt) != 32:
        raise ValueError("salt must be 32 bytes")
    return keccak(encode(["uint256", "address", "bool", "bytes32"], [int(round_id), to_checksum_address(voter), bool(punish), salt]))


def salt_seed(salts: Sequence[bytes]) -> int:
    """The settlement seed: uint256(keccak256(abi.encode(XOR of the revealed salts)))."""
    acc = 0
    for s in salts:
        acc ^= int.from_bytes(s, "big")
    return int.from_bytes(keccak(acc.to_bytes(32, "big")), "big")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, no NaN/Infinity: the bytes a JSON commitment hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def model_commitment(spec: Mapping[str, Any], training: Mapping[str, Any]) -> str:
    """ω = keccak256(canonical JSON of {"spec": spec, "training": training}), 0x-hex: the proposal's `specHash`.

    It covers the model spec AND the training plan (both as their JSON objects, defaults filled in), so neither
    can be swapped once a proposal references ω: the coordinator stores a (spec, plan) pair under the ω it hashes
    to, and every daemon recomputes ω from the task it is served before it trains."""
    return "0x" + keccak(canonical_json({"spec": dict(spec), "training": dict(training)})).hex()

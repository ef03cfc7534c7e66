"""The deployment a coordinator's state belongs to: chain id, contract address, the block that deployed the
contract (number and hash) and the hash of its code.

A dev chain restarted empty gives the same contract the same address (same deployer, same nonce), so chain id
and address alone cannot tell the old deployment from the new one; the deploying block's hash can (its
timestamp and parent differ). `bind` records the identity in the database on first use and refuses, with a clear
message, a database that belongs to another deployment; `still_there` is the cheap check (one block header)
that the chain under a running coordinator was not reset.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from eth_utils import keccak

log = logging.getLogger(__name__)


class DeploymentMismatch(RuntimeError):
    """The database holds state of another deployment of the contract (or the chain was reset)."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str
    block: int
    block_hash: str
    code_hash: str

    def describe(self) -> str:
        return (f"contract {self.address} on chain {self.chain_id}, deployed in block {self.block} "
                f"({self.block_hash[:18]}...), code {self.code_hash[:18]}...")


def _code(w3: Any, address: str, block: int) -> bytes:
    try:
        return bytes(w3.eth.get_code(address, block))
    except Exception:  # noqa: BLE001 - a node without that block's state answers an error: treat as unknown
        return b""


def locate(w3: Any, address: str, chain_id: int) -> Deployment:
    """Find the block that deployed `address` (binary search over historical code; block 0 when the node keeps
    no history) and return the deployment's identity."""
    head = int(w3.eth.block_number)
    code = bytes(w3.eth.get_code(address, head))
    lo, hi = 0, head
    if _code(w3, address, 0):
        hi = 0
    else:
        while lo < hi:  # invariant: code at hi, none at lo - 1 (or lo = 0)
            mid = (lo + hi) // 2
            if _code(w3, address, mid):
                hi = mid
            else:
                lo = mid + 1
    block = w3.eth.get_block(hi)
    return Deployment(chain_id=chain_id, address=address, block=hi, block_hash="0x" + bytes(block["hash"]).hex(),
                      code_hash="0x" + keccak(code).hex())


def meta_key(chain_id: int, address: str) -> str:
    return f"deployment:{chain_id}:{address}"


def bind(store: Any, current: Deployment, db_label: str) -> None:
    """Record `current` as the deployment of this database's state, or raise DeploymentMismatch if the database
    already belongs to another deployment of the same address."""
    key = meta_key(current.chain_id, current.address)
    stored = store.get_meta(key)
    if stored is None:
        store.set_meta(key, json.dumps(asdict(current), sort_keys=True))
        return
    old = Deployment(**json.loads(stored))
    if (old.block, old.block_hash, old.code_hash) != (current.block, current.block_hash, current.code_hash):
        raise DeploymentMismatch(
            f"the database {db_label} holds state of {old.describe()}, but the chain now has {current.describe()}: "
            "the chain was reset or the contract redeployed. Refusing to serve the old state for the new deployment; "
            "start with a fresh --db (and --data-dir), or point --chain at the node that holds the old deployment.")


def still_there(w3: Any, dep: Deployment) -> str | None:
    """None while the deploying block is still on the chain; otherwise what changed."""
    try:
        block = w3.eth.get_block(dep.block)
    except Exception as exc:  # noqa: BLE001 - BlockNotFound (a shorter, fresh chain) or a node error
        if type(exc).__name__ == "BlockNotFound":
            return (f"block {dep.block} that deployed {dep.address} no longer exists: the chain was reset "
                    "(restart the coordinator with a fresh --db for the new deployment)")
        raise
    h = "0x" + bytes(block["hash"]).hex()
    if h != dep.block_hash:
        return (f"block {dep.block} that deployed {dep.address} changed hash ({dep.block_hash[:18]}... -> {h[:18]}...): "
                "the chain was reset or reorganised; restart the coordinator with a fresh --db for the new deployment")
    return None

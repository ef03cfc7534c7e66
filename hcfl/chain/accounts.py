"""Participant keys for demos and tests: deterministic from a label, funded from the chain's funder."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from hcfl.chain.provider import Chain

log = logging.getLogger(__name__)


def derive_key(label: str, namespace: str = "hcfl-dev") -> LocalAccount:
    """A deterministic dev key (never use for real funds): keccak(namespace/label)."""
    return Account.from_key(keccak(text=f"{namespace}/{label}"))


def fund(chain: Chain, addresses: Sequence[str], amount_wei: int) -> None:
    """Send `amount_wei` from the funder to each address; waits for all receipts."""
    w3 = chain.w3
    nonce = w3.eth.get_transaction_count(chain.funder.address, "pending")
    gas_price = w3.eth.gas_price
    hashes = []
    for i, addr in enumerate(addresses):
        tx = {"to": addr, "value": int(amount_wei), "gas": 21_000, "gasPrice": gas_price,
              "nonce": nonce + i, "chainId": w3.eth.chain_id}
        hashes.append(w3.eth.send_raw_transaction(chain.funder.sign_transaction(tx).raw_transaction))
    for h in hashes:
        if w3.eth.wait_for_transaction_receipt(h, timeout=120)["status"] != 1:
            raise RuntimeError("funding transfer failed")


def funded_accounts(chain: Chain, labels: Sequence[str], amount_wei: int = 10**21, namespace: str = "hcfl-dev") -> list[LocalAccount]:
    accounts = [derive_key(label, namespace) for label in labels]
    fund(chain, [a.address for a in accounts], amount_wei)
    return accounts


GAS_MONEY = 10**19  # 10 ETH of gas money per key on dev chains (gas price 1 gwei)


def funded_keys(chain: Chain, namespace: str, needs: dict[str, int], cache: dict[str, LocalAccount]) -> dict[str, LocalAccount]:
    """One deterministic key per label (cached in `cache`), each topped up to `needs[label]` + gas money
    (the on-chain runner of `hcfl settle --rules v2 --on-chain`)."""
    w3 = chain.w3
    low: dict[int, list[str]] = {}
    out: dict[str, LocalAccount] = {}
    for label, spend in needs.items():
        key = cache.get(label)
        if key is None:
            key = cache[label] = derive_key(label, namespace=namespace)
        out[label] = key
        need = spend + GAS_MONEY
        if w3.eth.get_balance(key.address) < need:
            low.setdefault(need, []).append(key.address)
    for need, addresses in low.items():
        fund(chain, addresses, need)
    return out

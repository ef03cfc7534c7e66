"""Many signed transactions into anvil quickly, for benchmarks (tens of thousands per round).

Automine is switched off while a chunk is in flight: the chunk's raw transactions go in one JSON-RPC batch,
one `evm_mine` packs them into a block (anvil's block gas limit is raised for big benches; every
transaction keeps its own gas limit, under the EIP-7825 cap that `--enable-tx-gas-limit` enforces), and the
block's receipts come back in one `eth_getBlockReceipts`. Every receipt is checked; a failed transaction
raises. Other chains (embedded, RPC) are not touched by this module.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from hcfl.chain.provider import TX_GAS_CAP, Chain

log = logging.getLogger(__name__)

MAX_CHUNK = 2000  # transactions per block


@dataclass(frozen=True)
class Receipt:
    """The parts of a receipt the benches read (same keys as web3's receipts)."""

    tx_hash: str
    sender: str
    gas_used: int
    status: int
    block: int

    def __getitem__(self, key: str) -> Any:
        return {"from": self.sender, "gasUsed": self.gas_used, "status": self.status, "transactionHash": self.tx_hash,
                "blockNumber": self.block}[key]


@dataclass(frozen=True)
class Tx:
    """One transaction to sign: `data` is the ABI-encoded call ("0x" for a plain transfer)."""

    account: LocalAccount
    to: str
    data: str
    value: int
    gas: int
    label: str = ""


class FastSender:
    """Batch sender for a spawned anvil (`chain.kind == "anvil"` with an RPC URL)."""

    def __init__(self, chain: Chain) -> None:
        if chain.kind != "anvil" or not chain.rpc_url:
            raise ValueError("FastSender needs anvil over HTTP")
        self.chain = chain
        self.url = chain.rpc_url
        self.session = requests.Session()
        w3 = chain.w3
        self.gas_price = int(w3.eth.gas_price)  # blocks stay under half the raised limit: the base fee only falls
        self.chain_id = int(w3.eth.chain_id)
        self.block_gas = int(w3.eth.get_block("latest")["gasLimit"])
        self._nonce: dict[str, int] = {}
        self._id = 0

    @staticmethod
    def supports(chain: Chain) -> bool:
        return chain.kind == "anvil" and bool(chain.rpc_url)

    def _call(self, method: str, params: list[Any]) -> Any:
        out = self._batch([(method, params)])[0]
        return out

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        payload = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        resp = self.session.post(self.url, json=payload, timeout=600)
        resp.raise_for_status()
        body = resp.json()
        by_id = {r["id"]: r for r in body}
        out = []
        for p in payload:
            r = by_id[p["id"]]
            if "error" in r:
                raise RuntimeError(f"{p['method']} failed: {r['error']}")
            out.append(r["result"])
        return out

    def _next_nonce(self, address: str) -> int:
        n = self._nonce[address]
        self._nonce[address] = n + 1
        return n

    def _read_nonces(self, addresses: Sequence[str]) -> None:
        """Every sender's pending nonce, read fresh in batches (other code may have sent since)."""
        self._nonce = {}
        todo = sorted(set(addresses))
        for j in range(0, len(todo), MAX_CHUNK):
            part = todo[j:j + MAX_CHUNK]
            counts = self._batch([("eth_getTransactionCount", [a, "pending"]) for a in part])
            self._nonce.update({a: int(c, 16) for a, c in zip(part, counts)})

    def send(self, txs: Sequence[Tx]) -> list[Receipt]:
        """Sign, send, mine and check `txs` (in order); returns their receipts in the same order."""
        out: list[Receipt] = []
        i = 0
        self._read_nonces([t.account.address for t in txs])
        self._call("evm_setAutomine", [False])
        try:
            while i < len(txs):
                chunk: list[Tx] = []
                gas = 0
                while i < len(txs) and len(chunk) < MAX_CHUNK and gas + txs[i].gas <= self.block_gas:
                    if txs[i].gas > TX_GAS_CAP:
                        raise ValueError(f"{txs[i].label}: gas limit {txs[i].gas} above the EIP-7825 cap")
                    gas += txs[i].gas
                    chunk.append(txs[i])
                    i += 1
                if not chunk:
                    raise ValueError("a transaction's gas limit exceeds the block gas limit")
                out += self._send_chunk(chunk)
        finally:
            self._call("evm_setAutomine", [True])
        return out

    def _send_chunk(self, chunk: Sequence[Tx]) -> list[Receipt]:
        raws = []
        for t in chunk:
            tx = {"to": to_checksum_address(t.to), "data": t.data, "value": int(t.value), "gas": int(t.gas),
                  "gasPrice": self.gas_price, "nonce": self._next_nonce(t.account.address), "chainId": self.chain_id}
            raws.append("0x" + bytes(t.account.sign_transaction(tx).raw_transaction).hex())
        try:
            hashes = self._batch([("eth_sendRawTransaction", [r]) for r in raws])
        except RuntimeError:
            self._call("evm_mine", [])  # whatever was accepted is mined; the caller sees the error
            raise
        want = {h.lower(): k for k, h in enumerate(hashes)}
        got: dict[int, Receipt] = {}
        for _ in range(len(chunk) + 1):  # each evm_mine includes at least one pending transaction
            if len(got) == len(chunk):
                break
            self._call("evm_mine", [])
            for r in self._call("eth_getBlockReceipts", ["latest"]) or []:
                k = want.get(r["transactionHash"].lower())
                if k is None:
                    continue
                got[k] = Receipt(tx_hash=r["transactionHash"], sender=to_checksum_address(r["from"]),
                                 gas_used=int(r["gasUsed"], 16), status=int(r["status"], 16),
                                 block=int(r["blockNumber"], 16))
        if len(got) != len(chunk):
            raise RuntimeError(f"{len(chunk) - len(got)} transactions were not mined")
        receipts = [got[k] for k in range(len(chunk))]
        for t, r in zip(chunk, receipts):
            if r.status != 1:
                raise RuntimeError(f"{t.label or 'transaction'} from {r.sender} failed (gas used {r.gas_used})")
        return receipts

    def fund(self, funder: LocalAccount, addresses: Sequence[str], amount_wei: int) -> None:
        """Send `amount_wei` to each address (plain transfers, 21,000 gas)."""
        self.send([Tx(funder, a, "0x", amount_wei, 21_000, "fund") for a in addresses])

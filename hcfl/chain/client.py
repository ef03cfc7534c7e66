"""The chain transport every typed client shares: custom-error decoding (:class:`ContractRevert`), a generic
:class:`ContractClient` (calls, events, balance, nonces) and :class:`Signer` (a key signing its own
transactions). Contract v2's client is hcfl.chain.v2.client; EdgePayouts' is hcfl.chain.edge_payouts.
"""
from __future__ import annotations

import ast
import logging
import threading
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

try:  # the embedded chain's own revert exception
    from eth_tester.exceptions import TransactionFailed as _TesterFailed
except ImportError:  # pragma: no cover - eth-tester is a pinned dependency
    class _TesterFailed(Exception):  # type: ignore[no-redef]
        pass

from hcfl.chain.compile import artifact  # noqa: E402 - after the optional eth-tester import above
from hcfl.chain.provider import TX_GAS_CAP  # noqa: E402

_REVERTS = (ContractCustomError, ContractLogicError, _TesterFailed)

try:  # the embedded chain's own revert exception
    from eth_tester.exceptions import TransactionFailed as _TesterFailed
except ImportError:  # pragma: no cover - eth-tester is a pinned dependency
    class _TesterFailed(Exception):  # type: ignore[no-redef]
        pass

_REVERTS = (ContractCustomError, ContractLogicError, _TesterFailed)

log = logging.getLogger(__name__)


class ContractRevert(Exception):
    """A transaction or call reverted; `error` is the custom error name (e.g. 'WrongPhase')."""

    def __init__(self, error: str, args: tuple[Any, ...] = (), raw: str = "") -> None:
        self.error = error
        self.error_args = args
        self.raw = raw
        super().__init__(f"{error}{args if args else ''}")


class TxFailed(Exception):
    """A mined transaction has status 0."""


@dataclass(frozen=True)
class ChainEvent:
    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int


def _abi_types(inputs: list[dict[str, Any]]) -> list[str]:
    out = []
    for i in inputs:
        t = i["type"]
        if t.startswith("tuple"):
            t = "(" + ",".join(_abi_types(i["components"])) + ")" + t[len("tuple"):]
        out.append(t)
    return out


class ErrorDecoder:
    """Maps revert data (selector + ABI args) to the contract's custom errors."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        for item in abi:
            if item.get("type") == "error":
                types = _abi_types(item["inputs"])
                sig = f"{item['name']}({','.join(types)})"
                self._errors[keccak(text=sig)[:4]] = (item["name"], types)
        self._errors[keccak(text="Error(string)")[:4]] = ("Error", ["string"])
        self._errors[keccak(text="Panic(uint256)")[:4]] = ("Panic", ["uint256"])

    def decode(self, data: str | bytes | None) -> ContractRevert:
        raw = HexBytes(data or b"")
        if len(raw) < 4 or raw[:4] not in self._errors:
            return ContractRevert("UnknownRevert", (), raw.hex())
        name, types = self._errors[raw[:4]]
        args = tuple(abi_decode(types, raw[4:])) if types else ()
        return ContractRevert(name, args, raw.hex())


def _revert_data(exc: BaseException) -> str | None:
    # eth-tester raises its own TransactionFailed with the raw revert bytes somewhere in the cause chain
    seen: BaseException | None = exc
    while seen is not None:
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, (bytes, bytearray)):
                return "0x" + bytes(arg).hex()
            if isinstance(arg, str) and "reverted: b" in arg:  # eth-tester's eth_call: "execution reverted: b'..'"
                literal = arg.split("reverted: ", 1)[1].strip()
                try:
                    value = ast.literal_eval(literal)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(value, bytes):
                    return "0x" + value.hex()
        seen = seen.__cause__ or seen.__context__
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(data, (bytes, bytearray)):
        return "0x" + bytes(data).hex()
    return None


class _NonceBook:
    """Local nonces so one key can send several transactions without waiting for each to be mined."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, w3: Web3, address: str, fresh: bool = True) -> int:
        """The next nonce; `fresh` re-reads the chain (another process may sign with the same key, as a
        station's daemon does), otherwise the local count continues (pipelined sends)."""
        with self._lock:
            if fresh or address not in self._next:
                chain_next = w3.eth.get_transaction_count(address, "pending")
                self._next[address] = max(chain_next, self._next.get(address, 0)) if not fresh else chain_next
            n = self._next[address]
            self._next[address] = n + 1
            return n

    def forget(self, address: str) -> None:
        with self._lock:
            self._next.pop(address, None)


def deploy_contract(chain_or_w3: Any, name: str, deployer: LocalAccount | None = None, *args: Any,
                    bytecode: str | None = None) -> Any:
    """Deploy the compiled contract `name` (constructor `args`) signed by `deployer` (default: the chain's
    funder); returns the receipt, whose `contractAddress` is the new contract. `bytecode`: the artifact's
    bytecode with its libraries linked (hcfl.chain.compile.link), for contracts that use linked libraries."""
    w3 = getattr(chain_or_w3, "w3", chain_or_w3)
    deployer = deployer or chain_or_w3.funder
    art = artifact(name)
    factory = w3.eth.contract(abi=art["abi"], bytecode=bytecode or art["bytecode"])
    tx = factory.constructor(*args).build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
         "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id}
    )
    tx["gas"] = min(int(w3.eth.estimate_gas(tx) * 1.2), TX_GAS_CAP)
    signed = deployer.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=120)
    if receipt["status"] != 1:
        raise TxFailed(f"deployment of {name} failed")
    log.info("deployed %s at %s (gas %d)", name, receipt["contractAddress"], receipt["gasUsed"])
    return receipt


class ContractClient:
    """One deployed contract, any ABI: calls with custom-error decoding, decoded events, balance, chain id and a
    nonce book for its signers. The typed clients (contract v2's `hcfl.chain.v2.client.CoreClient` transport,
    EdgePayouts) build on it."""

    deploy_receipt: Any  # set by the typed clients' deploy()

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self.w3 = w3
        self.abi = abi
        self.address = to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.abi)
        self.errors = ErrorDecoder(self.abi)
        self.nonces = _NonceBook()
        self._chain_id: int | None = None
        self._topics = {
            "0x" + keccak(text=f"{e['name']}({','.join(_abi_types(e['inputs']))})").hex(): e["name"]
            for e in self.abi
            if e.get("type") == "event"
        }

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def call(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn)(*args).call()
        except _REVERTS as exc:
            raise self.errors.decode(_revert_data(exc)) from exc

    def balance(self) -> int:
        return int(self.w3.eth.get_balance(self.address))

    def events(self, from_block: int = 0, to_block: int | str = "latest", round_id: int | None = None) -> list[ChainEvent]:
        """All events of the contract in chain order, decoded; optionally only one round's."""
        logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": from_block, "toBlock": to_block})
        out: list[ChainEvent] = []
        for entry in logs:
            topic0 = "0x" + bytes(entry["topics"][0]).hex()
            name = self._topics.get(topic0)
            if name is None:
                continue
            decoded = getattr(self.contract.events, name)().process_log(entry)
            args = dict(decoded["args"])
            if round_id is not None and "roundId" in args and args["roundId"] != round_id:
                continue
            out.append(ChainEvent(name=name, args=args, block_number=int(entry["blockNumber"]),
                                  tx_hash="0x" + bytes(entry["transactionHash"]).hex(), log_index=int(entry["logIndex"])))
        return out


class Signer:
    """A key that signs its own transactions against one contract (a ContractClient): gas estimation with
    decoded reverts, local nonces, checked receipts."""

    def __init__(self, client: Any, account: LocalAccount) -> None:
        self.client = client
        self.account = account
        self.address = account.address
        self.last_receipt: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    def transact(self, fn: str, *args: Any, value: int = 0, gas: int | None = None, wait: bool = True,
                 gas_price: int | None = None, fresh_nonce: bool | None = None) -> Any:
        """Sign and send a call to `fn`; returns the receipt (or the tx hash with wait=False). `gas`, `gas_price`:
        given, the node is not asked; `fresh_nonce` (default: `wait`): read the nonce from the node, else continue
        this client's local count."""
        c = self.client
        w3 = c.w3
        call = getattr(c.contract.functions, fn)(*args)
        tx: dict[str, Any] = {"from": self.address, "value": int(value), "chainId": c.chain_id,
                              "gasPrice": w3.eth.gas_price if gas_price is None else int(gas_price)}
        if gas is None:
            try:
                gas = int(call.estimate_gas({"from": self.address, "value": int(value)}) * 1.25) + 10_000
            except _REVERTS as exc:
                raise c.errors.decode(_revert_data(exc)) from exc
            gas = min(gas, 30_000_000)
        tx["gas"] = gas
        tx["nonce"] = c.nonces.take(w3, self.address, fresh=wait if fresh_nonce is None else fresh_nonce)
        built = call.build_transaction(tx)
        signed = self.account.sign_transaction(built)
        try:
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        except _REVERTS as exc:
            c.nonces.forget(self.address)
            raise c.errors.decode(_revert_data(exc)) from exc
        except Exception:
            c.nonces.forget(self.address)
            raise
        if not wait:
            return tx_hash
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        self.last_receipt = receipt
        if receipt["status"] != 1:
            raise TxFailed(f"{fn} failed in block {receipt['blockNumber']} (gas used {receipt['gasUsed']})")
        return receipt

    def _event_arg(self, receipt: Any, event: str, arg: str) -> Any:
        for ev in getattr(self.client.contract.events, event)().process_receipt(receipt):
            return ev["args"][arg]
        raise RuntimeError(f"no {event} event in receipt")

    def withdraw(self) -> Any:
        return self.transact("withdraw")

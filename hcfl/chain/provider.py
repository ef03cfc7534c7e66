"""Connections to the three kinds of chain HCFL runs on.

- ``embedded``: web3.py's in-process EthereumTesterProvider (eth-tester + py-evm), the default;
- ``anvil``: a spawned anvil node from the npm package @foundry-rs/anvil;
- any ``http(s)://`` / ``ws(s)://`` RPC URL.

A :class:`Chain` also holds a *funder* key (a pre-funded dev account) used to give fresh participant keys
their ether; participants then sign their own transactions.
"""
from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hcfl.chain import toolchain
from hcfl.net import free_port

log = logging.getLogger(__name__)

BLOCK_GAS_LIMIT = 30_000_000
TX_GAS_CAP = 16_777_216  # EIP-7825: no transaction may use more (anvil enforces it with --enable-tx-gas-limit)
# anvil's default dev mnemonic; its accounts are funded with 10,000 ETH each.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass
class Chain:
    """A connected chain: web3 handle, a funded key, and how to stop what we started."""

    kind: str  # "embedded" | "anvil" | "rpc"
    w3: Web3
    funder: LocalAccount
    rpc_url: str | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _tester: Any = field(default=None, repr=False)

    @property
    def is_dev(self) -> bool:
        return self.kind in ("embedded", "anvil")

    def now(self) -> int:
        """Timestamp of the latest block (embedded: its header from py-evm, not the whole block through web3)."""
        if self.kind == "embedded":
            return int(self._tester.backend.chain.get_canonical_head().timestamp)
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        """Number of the latest block (embedded: the one below py-evm's pending block; eth-tester's `eth_blockNumber`
        builds the whole latest block to answer it, a cost every poll of every client paid)."""
        if self.kind == "embedded":
            return int(self._tester.backend.chain.get_block().number) - 1
        return int(self.w3.eth.block_number)

    def increase_time(self, seconds: int) -> None:
        """Move a dev chain's clock forward and mine a block (deadlines become reachable)."""
        if self.kind == "embedded":
            self._tester.time_travel(self.now() + int(seconds))
            self._tester.mine_blocks(1)
        elif self.kind == "anvil":
            self.w3.provider.make_request("evm_increaseTime", [int(seconds)])
            self.w3.provider.make_request("evm_mine", [])
        else:
            raise RuntimeError("cannot move the clock of a non-dev chain; wait for the deadline instead")

    def wait_until(self, timestamp: int, poll: float = 0.5) -> None:
        """Block until the chain's clock passes `timestamp` (fast-forwarding dev chains)."""
        if self.is_dev:
            if self.now() <= timestamp:
                self.increase_time(timestamp - self.now() + 1)
            return
        while self.now() <= timestamp:
            time.sleep(poll)

    def snapshot(self) -> Any:
        if self.kind == "embedded":
            return self._tester.take_snapshot()
        if self.kind == "anvil":
            return self.w3.provider.make_request("evm_snapshot", [])["result"]
        raise RuntimeError("snapshots need a dev chain")

    def revert(self, snap: Any) -> None:
        if self.kind == "embedded":
            self._tester.revert_to_snapshot(snap)
        elif self.kind == "anvil":
            self.w3.provider.make_request("evm_revert", [snap])
        else:
            raise RuntimeError("snapshots need a dev chain")

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> "Chain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def http_web3(url: str, timeout: float = 60.0) -> Web3:
    """Web3 over an HTTP JSON-RPC endpoint that asks the node for its chain id once: web3 asks for it again before
    every call and transaction it validates (a daemon's every report, an edge device's every check)."""
    from web3.types import RPCEndpoint

    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                  cacheable_requests={RPCEndpoint("eth_chainId")}))


def connect(chain: str = "embedded", *, funder_key: str | None = None) -> Chain:
    """Connect to `embedded`, a freshly spawned `anvil` (`anvil-7825`: with the EIP-7825 per-transaction gas
    cap enforced), or an RPC URL."""
    if chain == "embedded":
        return embedded()
    if chain == "anvil":
        return spawn_anvil()
    if chain == "anvil-7825":
        return spawn_anvil(tx_gas_limit=True)
    if chain.startswith(("http://", "https://", "ws://", "wss://")):
        return rpc(chain, funder_key=funder_key)
    raise ValueError(f"unknown chain {chain!r}: use embedded, anvil or an RPC URL")


def embedded(num_accounts: int = 4) -> Chain:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    from hcfl.chain import gas_estimate

    params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": BLOCK_GAS_LIMIT})
    state = PyEVMBackend.generate_genesis_state(num_accounts=num_accounts)
    backend = PyEVMBackend(genesis_parameters=params, genesis_state=state)
    gas_estimate.install(backend)  # geth-like estimates in 3 executions, not py-evm's ~13
    tester = EthereumTester(backend)
    w3 = Web3(EthereumTesterProvider(tester))
    funder = Account.from_key(backend.account_keys[0].to_bytes())
    return Chain(kind="embedded", w3=w3, funder=funder, _tester=tester)


def anvil_key(index: int = 0) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def spawn_anvil(port: int | None = None, *, block_time: float | None = None, extra_args: list[str] | None = None,
                tx_gas_limit: bool = False, gas_limit: int = BLOCK_GAS_LIMIT) -> Chain:
    """Start anvil on loopback and wait until it answers; `close()` stops it. `tx_gas_limit`: enforce the
    EIP-7825 per-transaction cap of 16,777,216 gas (--enable-tx-gas-limit); `gas_limit`: the block gas limit
    (benchmarks raise it to pack thousands of transactions into one block)."""
    port = port or free_port()
    cmd = [
        str(toolchain.anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--gas-limit", str(gas_limit),
        "--silent",
    ]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    if tx_gas_limit:
        cmd += ["--enable-tx-gas-limit"]
    cmd += extra_args or []
    log.info("starting anvil on 127.0.0.1:%d", port)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"anvil exited with status {proc.returncode}: {err.strip()}")
        try:
            if w3.is_connected():
                break
        except Exception:  # noqa: BLE001 - any connection error means "not up yet"
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("anvil did not start within 30 s")
        time.sleep(0.1)
    return Chain(kind="anvil", w3=w3, funder=anvil_key(0), rpc_url=url, _process=proc)


def rpc(url: str, *, funder_key: str | None = None) -> Chain:
    """Connect to any EVM node; the funder is `funder_key`, $HCFL_FUNDER_KEY, or anvil's first dev key."""
    if url.startswith(("ws://", "wss://")):
        w3 = Web3(Web3.LegacyWebSocketProvider(url))
    else:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    if not w3.is_connected():
        raise ConnectionError(f"no EVM node answers at {url}")
    key = funder_key or os.environ.get("HCFL_FUNDER_KEY")
    funder = Account.from_key(key) if key else anvil_key(0)
    kind = "rpc"
    try:
        version = str(w3.client_version).lower()
        if "anvil" in version:
            kind = "anvil"
    except Exception:  # noqa: BLE001 - web3_clientVersion is optional
        pass
    return Chain(kind=kind, w3=w3, funder=funder, rpc_url=url)

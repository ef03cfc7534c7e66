"""The JSON-RPC pass-through behind POST /rpc: an allow-list of read and raw-transaction methods, forwarded to
the node (anvil, a remote node) or answered by the embedded chain through web3's eth-tester middleware.
Signing methods and node accounts are left out on purpose: the coordinator never signs for anybody."""
from __future__ import annotations

from typing import Any, Callable

import httpx
from web3.middleware import combine_middleware
from web3.providers.eth_tester.middleware import default_transaction_fields_middleware, ethereum_tester_middleware

from backend.gateway import ChainGateway
from backend.services.log_cache import LogCache
from hcfl.chain.client import _revert_data

# JSON-RPC methods the browser and the daemons may call through POST /rpc
RPC_ALLOWED = frozenset({
    "eth_chainId", "eth_blockNumber", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory",
    "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getTransactionCount",
    "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt",
    "eth_call", "eth_estimateGas", "eth_sendRawTransaction", "eth_getLogs", "eth_syncing",
    "net_version", "web3_clientVersion",
})
RPC_MAX_BATCH = 50


class RpcProxy:
    """Answers JSON-RPC request objects (already validated) for one chain gateway."""

    def __init__(self, gw: ChainGateway) -> None:
        self.gw = gw
        self._http: httpx.Client | None = None
        self._embedded_fn: Callable[[str, Any], Any] | None = None
        self._logs = LogCache(self._fetch_logs, self._block_hash)  # eth_getLogs on the embedded chain

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One response object: an error object for a method off the allow-list, else the node's answer."""
        if payload["method"] not in RPC_ALLOWED:
            return {"jsonrpc": "2.0", "id": payload.get("id"),
                    "error": {"code": -32601, "message": f"method {payload['method']} is not allowed here"}}
        return self.rpc(payload)

    def rpc(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer one JSON-RPC request object (already checked against RPC_ALLOWED)."""
        rid = payload.get("id")
        try:
            if self.gw.chain.kind == "embedded":
                return self._rpc_embedded(payload["method"], payload.get("params", []), rid)
            return self._rpc_forward(payload)
        finally:
            if payload["method"] == "eth_sendRawTransaction":
                self.gw.invalidate()  # the read routes' snapshot must show this transaction next

    def _rpc_forward(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.gw.chain.rpc_url
        if self._http is None:
            self._http = httpx.Client(timeout=60)
        try:
            resp = self._http.post(self.gw.chain.rpc_url, json=payload)
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"jsonrpc": "2.0", "id": payload.get("id"), "error": {"code": -32603, "message": f"node unreachable: {exc}"}}

    def _fetch_logs(self, start: int, end: int) -> list[dict[str, Any]]:
        """Logs of blocks start..end from the embedded chain (the caller holds the lock)."""
        assert self._embedded_fn is not None
        response = self._embedded_fn("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end)}])
        if "error" in response:
            raise RuntimeError(f"eth_getLogs {start}..{end}: {response['error']}")
        return list(_to_rpc_json(response.get("result")))

    def _block_hash(self, number: int) -> str:
        assert self._embedded_fn is not None
        return str(_to_rpc_json(self._embedded_fn("eth_getBlockByNumber", [hex(number), False])["result"])["hash"])

    def _rpc_embedded(self, method: str, params: Any, rid: Any) -> dict[str, Any]:
        # constants of the chain: answered without queueing behind the chain lock (web3 clients ask for the
        # chain id before every transaction they build)
        if method == "eth_syncing":
            return {"jsonrpc": "2.0", "id": rid, "result": False}
        if method == "net_version":
            return {"jsonrpc": "2.0", "id": rid, "result": str(self.gw.chain_id)}
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": rid, "result": hex(self.gw.chain_id)}
        with self.gw.lock:
            if self._embedded_fn is None:
                w3 = self.gw.chain.w3
                self._embedded_fn = combine_middleware(
                    middleware=(default_transaction_fields_middleware, ethereum_tester_middleware),
                    w3=w3, provider_request_fn=w3.provider.make_request,
                )
            try:
                args = params if isinstance(params, list) else [params]
                if method == "eth_blockNumber":  # the most polled method: from py-evm's head, not a built block
                    return {"jsonrpc": "2.0", "id": rid, "result": hex(self.gw.chain.block_number())}
                if method == "eth_getLogs":
                    cached = self._logs.answer(args, self.gw.chain.block_number())
                    if cached is not None:
                        return {"jsonrpc": "2.0", "id": rid, "result": cached}
                if method in ("eth_call", "eth_estimateGas") and args and isinstance(args[0], dict):
                    # like geth and anvil, a call or a gas estimate does not check the sender's nonce (eth-tester does)
                    args = [{k: v for k, v in args[0].items() if k != "nonce"}, *args[1:]]
                response = self._embedded_fn(method, args)
            except Exception as exc:  # noqa: BLE001 - any node error becomes a JSON-RPC error object
                data = _revert_data(exc)
                if data is not None or type(exc).__name__ == "TransactionFailed":
                    error = {"code": 3, "message": "execution reverted", "data": data or "0x"}
                else:
                    error = {"code": -32602 if "Validation" in type(exc).__name__ else -32603,
                             "message": f"{type(exc).__name__}: {exc}"[:500]}
                return {"jsonrpc": "2.0", "id": rid, "error": error}
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        if "error" in response:
            err = response["error"]
            out["error"] = err if isinstance(err, dict) else {"code": -32603, "message": str(err)}
        else:
            out["result"] = _to_rpc_json(response.get("result"))
        return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _to_rpc_json(value: Any) -> Any:
    """eth-tester's Python values -> JSON-RPC wire values (quantities and data as 0x-hex)."""
    if isinstance(value, (bool, float)) or value is None:  # floats: eth_feeHistory's gasUsedRatio
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(str(k)): _to_rpc_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_rpc_json(v) for v in value]
    if hasattr(value, "hex") and callable(value.hex):
        h = value.hex()
        return h if h.startswith("0x") else "0x" + h
    return value

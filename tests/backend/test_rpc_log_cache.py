"""eth_getLogs behind POST /rpc on the embedded chain is answered from a log cache (backend/services/log_cache.py):
every filter gives exactly eth-tester's answer, new blocks show at once, and a reverted chain is re-read."""
from __future__ import annotations

import pytest
from eth_account import Account

from backend.gateway import ChainGateway
from backend.services.rpc_proxy import RpcProxy, _to_rpc_json
from hcfl.chain.accounts import fund
from hcfl.chain.provider import embedded
from hcfl.chain.v2.client import CoreClient
from hcfl.protocol import CampaignConfig, Role

LONG = CampaignConfig(join_duration=3600, propose_duration=3600, commit_duration=3600, reveal_duration=3600,
                      train_duration=3600, vote_commit_duration=3600, vote_reveal_duration=3600)


@pytest.fixture(scope="module")
def proxy():
    chain = embedded()
    core = CoreClient.deploy(chain, chain.funder)
    yield RpcProxy(ChainGateway(chain, core, chain.funder)), core
    chain.close()


def _node(proxy: RpcProxy, params: list) -> dict:
    """eth-tester's own answer (no cache)."""
    proxy.rpc({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})  # sets up the middleware
    with proxy.gw.lock:
        response = proxy._embedded_fn("eth_getLogs", params)
    return {"result": _to_rpc_json(response["result"])} if "error" not in response else {"error": response["error"]}


def _cached(proxy: RpcProxy, params: list) -> dict:
    out = proxy.rpc({"jsonrpc": "2.0", "id": 7, "method": "eth_getLogs", "params": params})
    assert out["id"] == 7
    return {k: v for k, v in out.items() if k in ("result", "error")}


def _filters(core: CoreClient, head: int, topic0s: list[str]) -> list[dict]:
    a, other = core.address, "0x" + "11" * 20
    t0, t1 = topic0s[0], topic0s[-1]
    rid0 = "0x" + "00" * 32
    return [
        {}, {"fromBlock": "0x0"}, {"fromBlock": "0x0", "toBlock": "latest"}, {"fromBlock": "latest"},
        {"fromBlock": hex(head)}, {"fromBlock": hex(head - 3), "toBlock": hex(head - 1)},
        {"fromBlock": hex(head), "toBlock": hex(head - 2)}, {"toBlock": hex(max(head - 2, 0))},
        {"fromBlock": "0x0", "address": a}, {"fromBlock": "0x0", "address": a.lower()},
        {"fromBlock": "0x0", "address": [other, a]}, {"fromBlock": "0x0", "address": other},
        {"fromBlock": "0x0", "topics": [t0]}, {"fromBlock": "0x0", "topics": [[t0, t1]]},
        {"fromBlock": "0x0", "topics": [None, rid0]}, {"fromBlock": "0x0", "topics": [t1, None, None, None, None]},
        {"fromBlock": "0x0", "topics": [[t0, None]]}, {"fromBlock": "0x0", "topics": [t0.upper().replace("0X", "0x")]},
        {"fromBlock": "0x0", "address": a, "topics": [t1, rid0]},
    ]


def test_get_logs_from_the_cache_equal_the_node(proxy):
    rpc, core = proxy
    chain = rpc.gw.chain
    people = [Account.create() for _ in range(3)]
    fund(chain, [p.address for p in people], 10**18)
    owner = core.as_participant(people[0])
    rid = owner.open_round(owner.create_campaign(LONG))
    head = int(chain.w3.eth.block_number)
    logs = _node(rpc, [{"fromBlock": "0x0"}])["result"]
    topic0s = sorted({entry["topics"][0] for entry in logs})
    assert len(logs) >= 2 and len(topic0s) >= 2
    for flt in _filters(core, head, topic0s):
        assert _cached(rpc, [flt]) == _node(rpc, [flt]), flt
    # new blocks: the cache catches up (one fetch of the new blocks only)
    for i, p in enumerate(people):
        core.as_participant(p).join(rid, Role.OWNER if i == 0 else Role.STATION, deposit=10**17)
        head = int(chain.w3.eth.block_number)
        for flt in _filters(core, head, topic0s):
            assert _cached(rpc, [flt]) == _node(rpc, [flt]), flt
    # what the cache cannot answer exactly goes to the node unchanged (its errors included)
    block = chain.w3.eth.get_block(head)
    for flt in ({"blockHash": "0x" + bytes(block["hash"]).hex()}, {"fromBlock": "earliest"}, {"fromBlock": "pending"},
                {"fromBlock": "0x0", "toBlock": hex(head + 5)}, {"fromBlock": "0x0", "address": "nope"},
                {"fromBlock": "0x0", "topics": [[]]}, {"fromBlock": "0x0", "topics": ["0x12"]}):
        with rpc.gw.lock:
            assert rpc._logs.answer([flt], head) is None, flt


def test_a_reverted_chain_is_read_again(proxy):
    rpc, core = proxy
    chain = rpc.gw.chain
    p = Account.create()
    fund(chain, [p.address], 10**18)
    snap = chain.snapshot()
    owner = core.as_participant(p)
    owner.create_campaign(LONG)
    before = _cached(rpc, [{"fromBlock": "0x0"}])["result"]
    chain.revert(snap)
    owner2 = core.as_participant(p)
    core.nonces.forget(p.address)
    owner2.open_round(owner2.create_campaign(LONG))  # same height or higher, other blocks
    after = _cached(rpc, [{"fromBlock": "0x0"}])["result"]
    assert after == _node(rpc, [{"fromBlock": "0x0"}])["result"]
    assert after != before

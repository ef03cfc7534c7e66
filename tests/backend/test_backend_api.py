"""Every route of docs/protocol.md over real HTTP, with its 4xx answers (the training routes' refusals
while a round trains are in test_backend_training.py)."""
from __future__ import annotations

import json

import httpx
import pytest
from coord_helpers import PLAN, SPEC, fund, personal_sign
from eth_account import Account
from fastapi.testclient import TestClient

from backend.app import Settings, create_app
from hcfl.protocol import CampaignConfig, Role, download_message, update_message

LONG = CampaignConfig(join_duration=3600, propose_duration=3600, commit_duration=3600, reveal_duration=3600,
                   train_duration=3600, vote_commit_duration=3600, vote_reveal_duration=3600)


@pytest.fixture(scope="module")
def joining(live):
    """A round that stays in Joining: one owner and one station joined."""
    owner, station, stranger = Account.create(), Account.create(), Account.create()
    fund(live.client.w3, live.funder, [owner.address, station.address])
    o, s = live.client.as_participant(owner), live.client.as_participant(station)
    rid = o.open_round(o.create_campaign(LONG))
    o.join(rid, Role.OWNER, deposit=3 * 10**17)
    s.join(rid, Role.STATION, deposit=10**17)
    return rid, o, s, stranger


def test_health_and_chain(live):
    h = httpx.get(f"{live.base}/api/health").json()
    assert h["ok"] is True and h["chain_id"] == live.chain_id and h["contract"] == live.contract and h["block"] >= 1
    c = httpx.get(f"{live.base}/api/chain").json()
    assert c["rpc"] == "/rpc" and c["contract"] == live.contract and c["kind"] == "embedded"
    assert any(item.get("name") == "reportTraining" for item in c["abi"])
    assert httpx.get(f"{live.base}/openapi.json").status_code == 200
    assert httpx.get(f"{live.base}/docs").status_code == 200


def test_specs(live):
    base = live.base
    r = httpx.post(f"{base}/api/specs", json={"spec": SPEC, "training": PLAN})
    assert r.status_code == 201
    omega = r.json()["omega"]
    from fl_worker.models import ModelSpec
    from fl_worker.plan import TrainingPlan
    from fl_worker.plan import omega as omega_of

    assert omega == omega_of(ModelSpec.model_validate(SPEC), TrainingPlan.model_validate(PLAN))
    assert r.json()["uri"] == f"/api/specs/{omega}"
    got = httpx.get(f"{base}/api/specs/{omega}").json()
    assert got["omega"] == omega and got["spec"]["hidden"] == [32] and got["training"]["lr"] == 0.1
    assert httpx.get(f"{base}/api/specs/{omega.upper().replace('0X', '0x')}").status_code == 200
    # defaults fill the plan
    r = httpx.post(f"{base}/api/specs", json={"spec": {"arch": "cnn", "input_shape": [1, 8, 8]}})
    assert r.status_code == 201 and httpx.get(f"{base}{r.json()['uri']}").json()["training"]["dataset"] == "digits"
    bad_bodies = [
        b"not json",
        b"[1, 2]",
        json.dumps({"spec": {**SPEC, "input_shape": "tall"}}).encode(),
        json.dumps({"spec": {**SPEC, "arch": "transformer"}}).encode(),
        json.dumps({"spec": SPEC, "training": {**PLAN, "clients_per_station": "two"}}).encode(),
        json.dumps({"spec": SPEC, "training": {**PLAN, "dataset": "imagenet"}}).encode(),
        json.dumps({"spec": SPEC, "training": {**PLAN, "lr": -1}}).encode(),
        json.dumps({"spec": SPEC, "training": PLAN, "extra": 1}).encode(),
        json.dumps({"spec": {**SPEC, "colour": "red"}}).encode(),
        json.dumps({"spec": SPEC, "training": {**PLAN, "dataset": "mnist"}}).encode(),  # 8x8 model, 28x28 data
        json.dumps({"spec": {**SPEC, "num_classes": 5}}).encode(),  # digits has 10 labels
        json.dumps({"spec": {**SPEC, "hidden": [8192, 8192, 8192]}}).encode(),  # too many parameters
        json.dumps({"spec": {**SPEC, "init_seed": 2**70}}).encode(),
    ]
    for body in bad_bodies:
        r = httpx.post(f"{base}/api/specs", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (body, r.text)
        assert "detail" in r.json()
    assert httpx.get(f"{base}/api/specs/0x{'ab' * 32}").status_code == 404
    assert httpx.get(f"{base}/api/specs/0x1234").status_code == 422
    assert httpx.get(f"{base}/api/specs/{'zz' * 33}").status_code == 422


def test_rounds_read_api(live, joining):
    base = live.base
    rid, o, s, stranger = joining
    rounds = httpx.get(f"{base}/api/rounds").json()
    mine = [r for r in rounds if r["round_id"] == rid][0]
    assert mine["phase"] == "Joining" and mine["owner_count"] == 1 and mine["station_count"] == 1
    assert mine["cfg"]["payment_rule"] == "posted" and mine["cfg"]["min_bond"] == str(10**16)
    assert mine["cfg"]["station_share_rule"] == "stake" and mine["creator"] == o.address
    assert mine["selected"] is None and mine["total_payment"] == "0"
    d = httpx.get(f"{base}/api/rounds/{rid}").json()
    assert d["owners"][0]["address"] == o.address and d["owners"][0]["deposit"] == str(3 * 10**17)
    assert d["owners"][0]["role"] == "owner" and d["owners"][0]["status"] == "joined"
    assert d["stations"][0]["address"] == s.address and d["stations"][0]["revealed"] is False
    assert d["proposals"] == [] and d["surplus"] == []
    for bad, status in (("999999", 404), ("abc", 422), ("-1", 422), ("1.5", 422), (str(2**70), 422)):
        assert httpx.get(f"{base}/api/rounds/{bad}").status_code == status, bad
        assert httpx.get(f"{base}/api/rounds/{bad}/events").status_code == status, bad
        assert httpx.get(f"{base}/api/rounds/{bad}/training").status_code == status, bad
    events = httpx.get(f"{base}/api/rounds/{rid}/events").json()
    assert [e["name"] for e in events] == ["RoundOpened", "Joined", "Joined"]
    joined = events[1]
    assert joined["args"]["deposit"] == str(3 * 10**17) and joined["args"]["role"] == 1
    assert joined["args"]["account"] == o.address and joined["tx_hash"].startswith("0x") and joined["block"] > 0
    assert events[0]["args"]["joinEnd"] == str(mine["join_end"])
    funds = httpx.get(f"{base}/api/funds").json()
    row = [a for a in funds["accounts"] if a["address"] == o.address][0]
    assert row["deposits"] == str(3 * 10**17) and row["withdrawn"] == "0"
    assert funds["solvent"] is True and int(funds["balance"]) >= 4 * 10**17
    audit = httpx.get(f"{base}/api/audit")
    assert audit.status_code == 200 and audit.json()["ok"] is True and audit.json()["kind"] == "v2"


def test_training_routes_before_training(live, joining):
    base = live.base
    rid, o, s, stranger = joining
    t = httpx.get(f"{base}/api/rounds/{rid}/training").json()
    assert t["status"] == "waiting" and t["history"] == [] and t["result"] is None
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": s.address}).json()["status"] == "wait"
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": s.address.lower()}).json()["status"] == "wait"
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": o.address}).status_code == 403
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": stranger.address}).status_code == 403
    assert httpx.get(f"{base}/api/rounds/{rid}/models/global/0").status_code == 403  # unsigned: stations only
    msg = download_message(live.chain_id, live.contract, rid)
    r = httpx.get(f"{base}/api/rounds/{rid}/models/final",
                  headers={"X-HCFL-Owner": o.address, "X-HCFL-Signature": personal_sign(o.account, msg)})
    assert r.status_code == 403  # joined, but has not revealed (paid) anything
    body = b"\x00" * 16
    from fl_worker.wire import state_hash

    sig = personal_sign(s.account, update_message(live.chain_id, live.contract, rid, 0, state_hash(body), 1, 1))
    r = httpx.put(f"{base}/api/rounds/{rid}/updates/0", content=body,
                  headers={"X-HCFL-Station": s.address, "X-HCFL-Samples": "1", "X-HCFL-Accuracy-Bps": "1",
                           "X-HCFL-Signature": sig})
    assert r.status_code == 409 and "not in Training" in r.json()["detail"]


def test_rpc_pass_through(live):
    url = f"{live.base}/rpc"

    def call(method, params=None, rid=1):
        return httpx.post(url, json={"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}).json()

    assert int(call("eth_chainId")["result"], 16) == live.chain_id
    assert call("net_version")["result"] == str(live.chain_id)
    assert int(call("eth_blockNumber")["result"], 16) >= 1
    assert int(call("eth_getBalance", [live.funder.address, "latest"])["result"], 16) > 0
    block = call("eth_getBlockByNumber", ["latest", False])["result"]
    assert block["number"].startswith("0x") and "parentHash" in block
    for denied in ("eth_sendTransaction", "eth_accounts", "eth_sign", "personal_unlockAccount", "evm_increaseTime", "admin_peers"):
        assert call(denied)["error"]["code"] == -32601, denied
    # a revert carries the custom error's data, so web3 clients decode it
    data = live.client.contract.encode_abi("getRound", [10**9])
    err = call("eth_call", [{"to": live.contract, "data": data}, "latest"])["error"]
    assert err["code"] == 3 and live.client.errors.decode(err["data"]).error == "UnknownRound"
    # what wallets ask: the "pending" tag, fee history (gasUsedRatio is a JSON number), and a gas estimate that
    # carries a nonce (not checked, as on geth and anvil)
    assert int(call("eth_getTransactionCount", [live.funder.address, "pending"])["result"], 16) >= 1
    assert call("eth_getBlockByNumber", ["pending", False])["result"]["number"].startswith("0x")
    assert call("eth_call", [{"to": live.contract, "data": "0x"}, "pending"]).keys() >= {"id"}
    fees = call("eth_feeHistory", ["0x1", "latest", []])["result"]
    assert all(isinstance(x, (int, float)) for x in fees["gasUsedRatio"]) and fees["baseFeePerGas"][0].startswith("0x")
    est = call("eth_estimateGas", [{"from": live.funder.address, "to": live.funder.address, "nonce": "0x0"}])
    assert int(est["result"], 16) == 21000, est
    bad = call("eth_getBalance", ["nope", "latest"])
    assert "error" in bad and bad["id"] == 1
    assert "error" in call("eth_sendRawTransaction", ["0xdeadbeef"])
    batch = httpx.post(url, json=[{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                                  {"jsonrpc": "2.0", "id": "two", "method": "eth_accounts"}]).json()
    assert [b["id"] for b in batch] == [1, "two"] and "result" in batch[0] and "error" in batch[1]
    assert httpx.post(url, content=b"{not json").status_code == 400
    assert httpx.post(url, json=[]).status_code == 400
    assert httpx.post(url, json=[{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(51)]).status_code == 400
    assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1}).status_code == 400  # no method
    assert httpx.post(url, json={"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"}).status_code == 400
    assert httpx.post(url, json=17).status_code == 400
    assert httpx.post(url, content=b" " * (2 * 1024 * 1024)).status_code == 413


def test_unknown_paths_and_methods(live):
    assert httpx.get(f"{live.base}/api/nothing").status_code == 404
    assert httpx.delete(f"{live.base}/api/specs").status_code == 405
    assert httpx.get(f"{live.base}/").status_code == 404  # no UI folder in this fixture


def test_static_ui_is_mounted_when_present(tmp_path, live):
    (tmp_path / "index.html").write_text("<html><body>HCFL</body></html>")
    app = create_app(Settings(static_dir=str(tmp_path)), coordinator=live.coord)
    client = TestClient(app)  # no lifespan: only the static mount is exercised
    r = client.get("/")
    assert r.status_code == 200 and "HCFL" in r.text

"""Two in-test base stations train t = 2 global rounds through the coordinator over HTTP (embedded chain,
reached only through POST /rpc), with every refusal of the upload, task and download routes checked on
the way; then the winner finalizes, the deadline driver runs the vote, everybody withdraws."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import torch
from coord_helpers import Station, get_global, make_round, personal_sign, run_stations, wait_phase
from eth_account import Account

from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.wire import encode_state, state_hash
from hcfl.protocol import download_message, new_salt, update_message

pytestmark = pytest.mark.slow


def test_two_stations_complete_two_global_rounds(live):
    base, client = live.base, live.client
    setup = make_round(base, client, live.funder, global_rounds=2)
    rid = setup.rid
    a, b = (Station(p, j, 2) for j, p in enumerate(setup.stations))
    outsider = Station(setup.outsider_station, 0, 2)  # joined as a station, never committed
    stranger = setup.stranger
    cid, contract = live.chain_id, live.contract

    # the coordinator opened g = 0 with the spec's initial model
    view = httpx.get(f"{base}/api/rounds/{rid}/training").json()
    deadline = time.monotonic() + 30
    while view["status"] != "training" and time.monotonic() < deadline:
        time.sleep(0.2)
        view = httpx.get(f"{base}/api/rounds/{rid}/training").json()
    assert view["status"] == "training" and view["global_round"] == 0 and view["t"] == 2
    assert view["stations"] == [p.address for p in setup.stations]
    initial = encode_state(state_of(build_model(ModelSpec.model_validate(a.spec.model_dump()))))
    assert view["initial_model_hash"] == state_hash(initial)

    # ---- task route
    task = httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": a.account.address}).json()
    assert task["status"] == "train" and task["global_round"] == 0 and task["station_index"] == 0
    assert task["num_stations"] == 2 and task["label_mask"] == 0x3FF and task["spec"]["arch"] == "mlp"
    assert task["training"]["dataset"] == "digits" and task["global_model_hash"] == view["initial_model_hash"]
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": outsider.account.address}).status_code == 403
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": stranger.address}).status_code == 403
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": "0x1234"}).status_code == 422
    assert httpx.get(f"{base}/api/rounds/{rid}/task").status_code == 422
    assert httpx.get(f"{base}/api/rounds/999999/task", params={"station": a.account.address}).status_code == 404
    # the UI's "daemon seen": only the station that asked for its task (refused requests leave no trace)
    seen = httpx.get(f"{base}/api/rounds/{rid}/training").json()["stations_seen"]
    assert list(seen) == [a.account.address] and abs(seen[a.account.address] - time.time()) < 120

    # ---- global model route
    assert get_global(base, rid, 1, a.account).status_code == 404  # not produced yet
    assert get_global(base, rid, 2, a.account).status_code == 403  # g = t: owners only
    assert get_global(base, rid, 0, None).status_code == 403  # intermediate models: selected stations only
    assert get_global(base, rid, 0, outsider.account).status_code == 403
    assert get_global(base, rid, 0, stranger).status_code == 403
    forged = {"X-HCFL-Station": a.account.address, "X-HCFL-Signature": "0x" + "11" * 65}
    assert httpx.get(f"{base}/api/rounds/{rid}/models/global/0", headers=forged).status_code in (400, 403)
    assert get_global(base, rid, 0, a.account).status_code == 200
    assert httpx.get(f"{base}/api/rounds/999999/models/global/0").status_code == 404
    assert httpx.get(f"{base}/api/rounds/{rid}/models/global/x").status_code == 422

    # ---- uploads: every refusal before the good one
    body, h, samples, acc = a.train(base, task)
    url = f"{base}/api/rounds/{rid}/updates/0"
    good = a.upload_headers(cid, contract, rid, 0, h, samples, acc)

    def put(content=body, headers=None, at=url):
        return httpx.put(at, content=content, headers=headers if headers is not None else good, timeout=60)

    assert put(headers={**good, "X-HCFL-Signature": "0xzz"}).status_code == 400  # malformed signature
    assert put(headers={**good, "X-HCFL-Signature": "0x" + "11" * 64}).status_code == 400  # 64 bytes
    assert put(headers=a.upload_headers(cid, contract, rid, 0, h, samples, acc, signer=stranger)).status_code == 403
    assert put(headers={**good, "X-HCFL-Samples": str(samples + 1)}).status_code == 403  # signed other samples
    tampered = bytearray(body)
    tampered[-1] ^= 0x01
    assert put(content=bytes(tampered)).status_code == 403  # bytes no longer match the signed hash
    out_headers = outsider.upload_headers(cid, contract, rid, 0, h, samples, acc)
    assert put(headers=out_headers).status_code == 403  # joined station, not revealed
    stranger_headers = {**good, "X-HCFL-Station": stranger.address,
                        "X-HCFL-Signature": personal_sign(stranger, update_message(cid, contract, rid, 0, h, samples, acc))}
    assert put(headers=stranger_headers).status_code == 403  # never joined
    wrong_g = a.upload_headers(cid, contract, rid, 1, h, samples, acc)
    assert put(headers=wrong_g, at=f"{base}/api/rounds/{rid}/updates/1").status_code == 409  # not the current g
    garbage = b"not a safetensors file"
    r = put(content=garbage, headers=a.upload_headers(cid, contract, rid, 0, state_hash(garbage), samples, acc))
    assert r.status_code == 400 and "model rejected" in r.json()["detail"]
    other = encode_state(state_of(build_model(ModelSpec(arch="mlp", input_shape=(1, 8, 8), hidden=(16,)))))
    r = put(content=other, headers=a.upload_headers(cid, contract, rid, 0, state_hash(other), samples, acc))
    assert r.status_code == 400 and "shape" in r.json()["detail"]
    nan_state = {k: v.clone() for k, v in state_of(build_model(a.spec)).items()}
    next(iter(nan_state.values())).view(-1)[0] = float("nan")
    nan_body = encode_state(nan_state)
    r = put(content=nan_body, headers=a.upload_headers(cid, contract, rid, 0, state_hash(nan_body), samples, acc))
    assert r.status_code == 400 and "NaN" in r.json()["detail"]
    assert put(headers={**good, "X-HCFL-Samples": "many"}).status_code == 422
    assert put(headers={**good, "X-HCFL-Accuracy-Bps": "10001"}).status_code == 422
    assert put(headers={k: v for k, v in good.items() if k != "X-HCFL-Signature"}).status_code == 422
    r999 = a.upload_headers(cid, contract, 999999, 0, h, samples, acc)
    assert put(headers=r999, at=f"{base}/api/rounds/999999/updates/0").status_code == 404

    r = put()
    assert r.status_code == 200 and r.json() == {"accepted": True, "update_hash": h, "global_round": 0}
    assert put().status_code == 409  # duplicate
    a.p.report_training(rid, 0, bytes.fromhex(h[2:]), samples, acc)  # on chain, with the station's own key
    a.uploaded.append(0)
    waiting = httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": a.account.address}).json()
    assert waiting["status"] == "wait"
    assert httpx.get(f"{base}/api/rounds/{rid}/training").json()["uploaded"] == [a.account.address]

    # ---- the final model is not there yet
    owner = setup.owners[0]
    dl = {"X-HCFL-Owner": owner.address, "X-HCFL-Signature": personal_sign(owner.account, download_message(cid, contract, rid))}
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final", headers=dl).status_code == 409

    # ---- the next global model, long-polled: refused at once to anyone else and past t; held for a selected
    # station until g = 0 closes
    t0 = time.monotonic()
    assert get_global(base, rid, 1, outsider.account, wait=5).status_code == 403 and time.monotonic() - t0 < 4
    t0 = time.monotonic()
    assert get_global(base, rid, 2, a.account, wait=5).status_code == 403 and time.monotonic() - t0 < 4
    pool = ThreadPoolExecutor(1)
    ahead = pool.submit(get_global, base, rid, 1, a.account, 25)
    time.sleep(1.0)
    assert not ahead.done()  # held: b has not uploaded g = 0 yet

    # ---- both stations finish t = 2 rounds
    run_stations(base, rid, [a, b], cid, contract)
    early = ahead.result(timeout=30)
    pool.shutdown()
    assert a.uploaded == [0, 1] and b.uploaded == [0, 1]
    view = httpx.get(f"{base}/api/rounds/{rid}/training").json()
    assert view["status"] == "done" and view["global_round"] == 2
    assert [e["global_round"] for e in view["history"]] == [0, 1]
    assert all(len(e["stations"]) == 2 for e in view["history"])
    assert view["history"][1]["accuracy"] > 0.5
    result = view["result"]
    assert result["stations"] == [p.address for p in setup.stations]
    assert len(result["scores"]) == 2 and all(isinstance(s, int) and s >= 0 for s in result["scores"])
    assert result["global_model_hash"] == view["history"][1]["global_model_hash"]
    assert result["achieved_acc_bps"] == round(view["history"][1]["accuracy"] * 10_000)
    assert httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": b.account.address}).json()["status"] == "done"
    g1 = get_global(base, rid, 1, b.account)
    assert g1.status_code == 200 and g1.headers["X-HCFL-Model-Hash"] == view["history"][0]["global_model_hash"]
    assert early.status_code == 200 and early.content == g1.content

    # ---- downloads of the final model: paying owners only
    r = httpx.get(f"{base}/api/rounds/{rid}/models/final", headers=dl)
    assert r.status_code == 200 and state_hash(r.content) == result["global_model_hash"] == r.headers["X-HCFL-Model-Hash"]
    forged = {"X-HCFL-Owner": owner.address, "X-HCFL-Signature": personal_sign(stranger, download_message(cid, contract, rid))}
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final", headers=forged).status_code == 403
    station_dl = {"X-HCFL-Owner": a.account.address,
                  "X-HCFL-Signature": personal_sign(a.account, download_message(cid, contract, rid))}
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final", headers=station_dl).status_code == 403
    stranger_dl = {"X-HCFL-Owner": stranger.address,
                   "X-HCFL-Signature": personal_sign(stranger, download_message(cid, contract, rid))}
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final", headers=stranger_dl).status_code == 403
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final", headers={**dl, "X-HCFL-Signature": "0x00"}).status_code == 400
    assert httpx.get(f"{base}/api/rounds/{rid}/models/final").status_code == 422

    # ---- the winner signs the result; the driver closes the vote; everybody withdraws
    winner = setup.owners[0]
    # the result carries the contribution-score tree (leaves (station, score, prefixBefore)) and the
    # published validation split's hash
    from hcfl.merkle import MerkleTree, leaf_hash, verify

    total = sum(result["scores"])
    assert result["scores_total"] == total
    if total:
        leaves = result["score_leaves"]
        assert [leaf["station"] for leaf in leaves] == result["stations"]
        assert [leaf["prefix_before"] for leaf in leaves] == [0, result["scores"][0]]
        root = bytes.fromhex(result["scores_root"][2:])
        for leaf in leaves:
            lh = leaf_hash(("address", "uint256", "uint256"), (leaf["station"], leaf["score"], leaf["prefix_before"]))
            assert verify(root, lh, [bytes.fromhex(x[2:]) for x in leaf["proof"]])
        assert MerkleTree.build(("address", "uint256", "uint256"),
                                [(x["station"], x["score"], x["prefix_before"]) for x in leaves]).root == root
    v = httpx.get(f"{base}/api/rounds/{rid}/validation")
    assert v.status_code == 200 and state_hash(v.content) == result["validation_hash"] == v.headers["X-HCFL-Validation-Hash"]
    winner.finalize_training(rid, bytes.fromhex(result["global_model_hash"][2:]), result["achieved_acc_bps"],
                             bytes.fromhex(result["scores_root"][2:]), result["scores_total"],
                             bytes.fromhex(result["validation_hash"][2:]))
    wait_phase(base, rid, "VoteCommitting")
    voter = setup.owners[1]
    salt = new_salt()
    voter.commit_vote(rid, False, salt)
    wait_phase(base, rid, "VoteRevealing", timeout=60)
    voter.reveal_vote(rid, False, salt)
    wait_phase(base, rid, "Finished", timeout=60)
    assert httpx.get(f"{base}/api/rounds/{rid}/training").json()["status"] == "done"
    late = put(at=f"{base}/api/rounds/{rid}/updates/2", headers=a.upload_headers(cid, contract, rid, 2, h, samples, acc))
    assert late.status_code == 409

    detail = httpx.get(f"{base}/api/rounds/{rid}").json()
    assert detail["finalized"] and not detail["punished"] and detail["scores_root"] == result["scores_root"]
    assert detail["validation_hash"] == result["validation_hash"]
    assert [s["reported_rounds"] for s in detail["stations"][:2]] == [2, 2]
    for p in setup.owners + setup.stations:  # lazy settlement: everybody claims its own result, then withdraws
        p.claim(rid)
        if client.credit_of(p.address):
            p.withdraw()
    events = httpx.get(f"{base}/api/rounds/{rid}/events").json()
    names = [e["name"] for e in events]
    assert names.count("TrainingReported") == 4 and "TrainingFinalized" in names and "BondReleased" in names
    reported = [e for e in events if e["name"] == "TrainingReported"]
    assert {e["args"]["updateHash"] for e in reported} == {u["update_hash"] for e in view["history"] for u in e["stations"]}
    funds = httpx.get(f"{base}/api/funds").json()
    assert funds["solvent"]
    rows = {row["address"]: row for row in funds["accounts"]}
    assert int(rows[a.account.address]["rewards"]) > 0 and int(rows[a.account.address]["withdrawn"]) > 0
    assert int(rows[winner.address]["payments"]) > 0
    audit = httpx.get(f"{base}/api/audit")
    assert audit.status_code == 200 and audit.json()["ok"] is True, audit.json()


def test_signature_helpers_reject_garbage():
    from backend.auth import require_signature
    from backend.errors import ApiError
    from hcfl.protocol import SignatureError, recover_signer

    acct = Account.create()
    sig = personal_sign(acct, "hello")
    assert recover_signer("hello", sig) == acct.address
    for bad in ("", "0x", "nothex", "0x" + "00" * 65):
        with pytest.raises(SignatureError):
            recover_signer("hello", bad)
        with pytest.raises(ApiError) as err:
            require_signature("hello", bad, acct.address, "refused")
        assert err.value.status == 400
    with pytest.raises(ApiError) as err:
        require_signature("hello", personal_sign(Account.create(), "hello"), acct.address, "refused")
    assert err.value.status == 403 and err.value.detail == "refused"
    assert torch.get_num_threads() >= 1

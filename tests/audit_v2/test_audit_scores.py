"""Contribution scores anyone can verify (issue 8, defect 4): a coordinator on the embedded chain, two in-test
stations that really train one global round, a winner that finalizes on chain; `hcfl audit --coordinator --key`
recomputes the scores from the published validation split and station updates (backend.audit_scores).

- an honest round audits clean (exit 0);
- a round whose winner finalized a different scores root (everything to one station) is flagged (exit 1);
- a tampered validation split or station update at the coordinator (hash mismatch) is flagged;
- the score artifacts go only to the round's revealed participants, after training."""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
from coord_helpers import Station, ThreadServer, make_round, personal_sign, run_stations  # noqa: E402

from backend.app import Coordinator, Settings, create_app  # noqa: E402
from backend.audit_scores import audit_round_scores  # noqa: E402
from hcfl.chain.v2.client import CoreClient  # noqa: E402
from hcfl.cli import main as hcfl_main  # noqa: E402
from hcfl.ledger.fetch import LedgerFetcher  # noqa: E402
from hcfl.protocol import CampaignConfig, ShareRule, download_message  # noqa: E402
from hcfl.protocol.leaves import score_tree  # noqa: E402

pytestmark = pytest.mark.slow

CFG = CampaignConfig(join_duration=6, propose_duration=4, commit_duration=5, reveal_duration=5, train_duration=1800,
                     vote_commit_duration=5, vote_reveal_duration=5, station_share_rule=ShareRule.CONTRIBUTION)


@pytest.fixture(scope="module")
def coord(tmp_path_factory):
    from web3 import Web3

    tmp = tmp_path_factory.mktemp("coord-scores")
    settings = Settings(chain="embedded", db=str(tmp / "coord.sqlite"), data_dir=str(tmp / "data"), poll=0.25,
                        round_timeout=60, static_dir=str(tmp / "no-static"))
    c = Coordinator.from_settings(settings)
    with ThreadServer(create_app(settings, coordinator=c)) as server:
        w3 = Web3(Web3.HTTPProvider(f"{server.base}/rpc", request_kwargs={"timeout": 60}))
        yield server.base, c, CoreClient(w3, c.gw.address)


def _trained_round(base: str, c: Coordinator, client: CoreClient):
    setup = make_round(base, client, c.gw.chain.funder, global_rounds=1, cfg=CFG)
    stations = [Station(p, j, 2) for j, p in enumerate(setup.stations)]
    deadline = time.monotonic() + 30
    while httpx.get(f"{base}/api/rounds/{setup.rid}/training").json()["status"] != "training":
        assert time.monotonic() < deadline, "training did not open"
        time.sleep(0.2)
    run_stations(base, setup.rid, stations, c.gw.chain_id, c.gw.address)
    result = httpx.get(f"{base}/api/rounds/{setup.rid}/training").json()["result"]
    assert result is not None and result["scores_total"] > 0, result
    return setup, result


def _finalize(setup, result, scores_root: str, scores_total: int) -> None:
    # an honest winner records the inclusion root first (rewards only for included work)
    setup.owners[0].record_inclusion(setup.rid, bytes.fromhex(result["inclusion_root"][2:]),
                                     bytes.fromhex(result["manifests_root"][2:]))
    setup.owners[0].finalize_training(setup.rid, bytes.fromhex(result["global_model_hash"][2:]), result["achieved_acc_bps"],
                                      bytes.fromhex(scores_root[2:]), scores_total,
                                      bytes.fromhex(result["validation_hash"][2:]))


def _audit(base: str, contract: str, key: str | None, tmp_path: Path, capsys) -> tuple[int, str]:
    argv = ["audit", "--rpc", f"{base}/rpc", "--contract", contract, "--coordinator", base]
    if key is not None:
        (tmp_path / "key").write_text(key)
        argv += ["--key", str(tmp_path / "key")]
    rc = hcfl_main(argv)
    return rc, capsys.readouterr().out


def _record(client: CoreClient, rid: int):
    return LedgerFetcher(client).sync().rounds[rid]


def test_scores_recomputed_from_published_artifacts(coord, tmp_path, capsys):
    base, c, client = coord
    cid, contract = c.gw.chain_id, c.gw.address

    # ---- honest round
    honest, result = _trained_round(base, c, client)
    rid = honest.rid
    owner, station, outsider = honest.owners[1], honest.stations[0], honest.outsider_station
    msg = download_message(cid, contract, rid)
    url = f"{base}/api/rounds/{rid}/audit/updates/0/{station.address}"
    # access: revealed owners and stations only (the last round's updates rebuild the final model)
    assert httpx.get(url).status_code == 422
    for who in (honest.stranger, outsider.account):
        r = httpx.get(url, headers={"X-HCFL-Account": who.address, "X-HCFL-Signature": personal_sign(who, msg)})
        assert r.status_code == 403, r.text
    forged = {"X-HCFL-Account": owner.address, "X-HCFL-Signature": personal_sign(honest.stranger, msg)}
    assert httpx.get(url, headers=forged).status_code == 403
    auth = {"X-HCFL-Account": owner.address, "X-HCFL-Signature": personal_sign(owner.account, msg)}
    r = httpx.get(url, headers=auth)
    assert r.status_code == 200 and "0x" + __import__("eth_utils").keccak(r.content).hex() == r.headers["X-HCFL-Update-Hash"]
    assert httpx.get(f"{base}/api/rounds/{rid}/audit/updates/1/{station.address}", headers=auth).status_code == 404
    assert httpx.get(f"{base}/api/rounds/{rid}/audit/global/0", headers=auth).status_code == 200

    _finalize(honest, result, result["scores_root"], result["scores_total"])
    rc, out = _audit(base, contract, owner.account.key.hex(), tmp_path, capsys)
    assert rc == 0 and "contribution scores: ok" in out, out
    rc_nokey, out_nokey = _audit(base, contract, None, tmp_path, capsys)
    assert "contribution scores: not recomputed" in out_nokey

    # ---- tampered artifacts at the coordinator: hash mismatches are flagged. A damaged file alone is refused
    # by the coordinator itself (it verifies every model file against its record: 503 naming the model store);
    # a coordinator that also rewrites its record serves the bytes, and the auditor catches them against the
    # hashes on chain.
    record = _record(client, rid)
    rdir = c.store.round_dir(rid)
    with httpx.Client(base_url=base, timeout=120) as http:
        assert audit_round_scores(record, http, owner.account, cid, contract) == []
        for name in ("validation.safetensors", f"update-0-{station.address}.safetensors"):
            path = rdir / name
            good = path.read_bytes()
            bad = bytearray(good)
            bad[-1] ^= 0x01
            path.write_bytes(bytes(bad))
            try:
                findings = audit_round_scores(record, http, owner.account, cid, contract)
                assert len(findings) == 1 and "HTTP 503" in findings[0].problem, findings
                with _lying_record(c, rid, name, station.address, "0x" + keccak(bytes(bad)).hex()):
                    findings = audit_round_scores(record, http, owner.account, cid, contract)
            finally:
                path.write_bytes(good)
            assert len(findings) == 1 and "hashes to" in findings[0].problem, findings
            assert ("validationHash" in findings[0].problem) == name.startswith("validation")

    # ---- a winner that finalizes "everything to my station" is caught
    greedy, result2 = _trained_round(base, c, client)
    tree = score_tree([p.address for p in greedy.stations], [10_000, 0])
    assert tree["scores_root"] != result2["scores_root"]
    _finalize(greedy, result2, tree["scores_root"], tree["scores_total"])
    rc2, out2 = _audit(base, contract, greedy.stations[1].account.key.hex(), tmp_path, capsys)
    assert rc2 == 1 and f"round {greedy.rid}" in out2 and "the winner finalized root " + tree["scores_root"] in out2, out2
    # the honest round's key cannot fetch the greedy round's updates: that round is skipped, not failed
    rc3, out3 = _audit(base, contract, owner.account.key.hex(), tmp_path, capsys)
    assert "contribution scores: ok" in out3 and f"rounds [{greedy.rid}] skipped" in out3, out3
    assert rc_nokey == rc3 == 0  # a round the key may not audit is skipped, not failed
    assert Account.from_key(owner.account.key).address == owner.address


def test_norm_clipped_update_is_reproducible_from_the_manifest_evidence():
    """The auditor redoes a norm clip from the evidence's exact `scale` (backend.services.training.clip_update) and gets the
    very tensors the coordinator aggregated and scored."""
    import torch

    from fl_worker.hfl import StationResult
    from fl_worker.strategy import clip_update, screen_updates

    g = torch.Generator().manual_seed(0)
    prev = {"w": torch.randn(4, 3, generator=g), "b": torch.randn(3, generator=g)}
    deltas = [0.1, 0.12, 0.11, 5.0]  # the last one is far beyond 5x the median distance
    results = [StationResult(i, 0, {k: v + d * torch.ones_like(v) for k, v in prev.items()}, 10, 0.5)
               for i, d in enumerate(deltas)]
    kept, evidence = screen_updates(results, prev, 5.0, -0.5)
    assert [e["action"] for e in evidence] == ["norm-clipped"] and evidence[0]["station_id"] == 3
    redone = clip_update(results[3].state, prev, evidence[0]["scale"])
    assert all(torch.equal(redone[k], kept[3].state[k]) for k in prev)


@contextmanager
def _lying_record(c: Coordinator, rid: int, name: str, station: str, new_hash: str) -> Iterator[None]:
    """The coordinator's database rewritten to vouch for a tampered file (a coordinator that lies consistently)."""
    store = c.store
    if name.startswith("validation"):
        before = store._one("SELECT result_json FROM trainings WHERE ns = ? AND round_id = ?", (store.ns, rid))[0]
        result = dict(json.loads(before), validation_hash=new_hash)
        store._exec("UPDATE trainings SET result_json = ? WHERE ns = ? AND round_id = ?", (json.dumps(result), store.ns, rid))
        try:
            yield
        finally:
            store._exec("UPDATE trainings SET result_json = ? WHERE ns = ? AND round_id = ?", (before, store.ns, rid))
        return
    args = (store.ns, rid, station)
    before = store._one("SELECT update_hash FROM uploads WHERE ns = ? AND round_id = ? AND g = 0 AND station = ?", args)[0]
    store._exec("UPDATE uploads SET update_hash = ? WHERE ns = ? AND round_id = ? AND g = 0 AND station = ?", (new_hash, *args))
    try:
        yield
    finally:
        store._exec("UPDATE uploads SET update_hash = ? WHERE ns = ? AND round_id = ? AND g = 0 AND station = ?", (before, *args))

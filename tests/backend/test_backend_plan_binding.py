"""Issue 11: a training plan cannot be replaced once a proposal references it. ω (the proposal's specHash) is
hcfl.protocol.model_commitment over the spec AND the plan, so the anonymous re-post attack (same spec, lr 10,
3 samples per station, a synthetic dataset) gets another ω and changes nothing of the proposal's pair; a pair
stored under an ω it does not hash to is refused by the coordinator and by every daemon."""
from __future__ import annotations

import httpx
from coord_helpers import PLAN, SPEC, fund, wait_phase
from eth_account import Account

from backend.services.training import TrainingManager
from backend.store import Store
from fl_worker.models import ModelSpec
from fl_worker.plan import TrainingPlan, omega
from hcfl.protocol import CampaignConfig, ProposalSpec, Role, model_commitment

EVIL = {**{k: v for k, v in PLAN.items() if k not in ("clients_per_station", "partition")},
        "dataset": "synthetic", "lr": 10.0, "simulation": {"samples_per_station": 3}}
CFG = CampaignConfig(join_duration=2, propose_duration=3600, commit_duration=3600, reveal_duration=3600,
                     train_duration=3600, vote_commit_duration=3600, vote_reveal_duration=3600)


def test_omega_covers_spec_and_plan():
    spec, plan = ModelSpec.model_validate(SPEC), TrainingPlan.model_validate(PLAN)
    w = omega(spec, plan)
    assert w == model_commitment(spec.model_dump(mode="json"), plan.model_dump(mode="json"))
    assert w != omega(spec, TrainingPlan.model_validate(EVIL))  # another plan, another ω
    assert w != omega(ModelSpec.model_validate({**SPEC, "init_seed": 8}), plan)  # another spec, another ω


def test_anonymous_repost_cannot_replace_a_proposals_plan(live, tmp_path):
    base = live.base
    r = httpx.post(f"{base}/api/specs", json={"spec": SPEC, "training": PLAN})
    assert r.status_code == 201
    w = r.json()["omega"]
    # a proposal on chain references ω
    owner, station = Account.create(), Account.create()
    fund(live.client.w3, live.funder, [owner.address, station.address])
    o, s = live.client.as_participant(owner), live.client.as_participant(station)
    rid = o.open_round(o.create_campaign(CFG))
    o.join(rid, Role.OWNER, deposit=10**17)
    s.join(rid, Role.STATION, deposit=10**17)
    wait_phase(base, rid, "Proposing", timeout=30)  # the driver mines past the deadline (no time travel: shared chain)
    o.propose(rid, ProposalSpec(spec_hash=bytes.fromhex(w[2:]), uri=f"/api/specs/{w}", promised_acc_bps=5000,
                                global_rounds=1), bond=10**16)
    before = httpx.get(f"{base}/api/specs/{w}").json()

    # the attack: the same spec with another plan, from nobody in particular
    evil = httpx.post(f"{base}/api/specs", json={"spec": SPEC, "training": EVIL})
    assert evil.status_code == 201 and evil.json()["omega"] != w
    # naming the target ω is refused with a clear error
    aimed = httpx.post(f"{base}/api/specs", json={"omega": w, "spec": SPEC, "training": EVIL})
    assert aimed.status_code == 422 and aimed.json()["detail"][0]["loc"] == ["body", "omega"]
    # ... and nothing changed: the proposal's ω still serves the honest pair
    after = httpx.get(f"{base}/api/specs/{w}").json()
    assert after == before and after["training"]["lr"] == PLAN["lr"] and after["training"]["dataset"] == "digits"
    proposal = httpx.get(f"{base}/api/rounds/{rid}").json()["proposals"][0]
    assert proposal["spec_hash"] == w and proposal["spec_known"] is True
    # a re-post of the honest pair is idempotent
    again = httpx.post(f"{base}/api/specs", json={"spec": SPEC, "training": PLAN})
    assert again.status_code == 201 and again.json()["omega"] == w

    # the old attack's effect (a plan swapped under ω in the database) is refused by the coordinator
    store = Store(str(tmp_path / "tampered.sqlite"), str(tmp_path / "data"), namespace="t")
    try:
        store.put_spec(w, before["spec"], TrainingPlan.model_validate(EVIL).model_dump(mode="json"))
        assert TrainingManager(store, live.coord.gw).spec_of(w) is None
        store.put_spec(evil.json()["omega"], before["spec"], TrainingPlan.model_validate(EVIL).model_dump(mode="json"))
        assert TrainingManager(store, live.coord.gw).spec_of(evil.json()["omega"]) is not None
    finally:
        store.close()

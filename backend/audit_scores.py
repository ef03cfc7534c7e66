"""Recompute a round's contribution scores from the chain and the coordinator's content-addressed artifacts
(issue 8, defect 4; docs/protocol.md, "Score audit"): `hcfl audit --coordinator URL --key KEY` runs it.

For every finalized round with a scores root on chain:
- the validation split (GET /api/rounds/{rid}/validation) must hash to the on-chain validationHash;
- the last global round's inclusion manifest lists the updates that were aggregated (and their weights); each
  one (GET /api/rounds/{rid}/audit/updates/{g}/{station}) must hash to the station's on-chain updateHash;
- the global model the last global round started from (GET /api/rounds/{rid}/audit/global/{g}) must hash to
  the model the previous manifest published (the spec's initial model for g = 0);
- the scores are recomputed with the coordinator's own function (fl_worker.strategy.round_scores), the score
  tree rebuilt with hcfl.protocol.leaves.score_tree (hcfl.merkle), and root and total compared with the
  on-chain scoresRoot / scoresTotal.
Every mismatch is one finding; `hcfl audit` exits 1 on any.
"""
from __future__ import annotations

from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel

from fl_worker.data.base import Split
from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.plan import TrainingPlan
from fl_worker.plan import omega as omega_of
from fl_worker.strategy import clip_update, round_scores
from fl_worker.wire import WireFormatError, decode_state, encode_state, state_hash
from hcfl.ledger.records import RoundRecord
from hcfl.protocol import download_message, sign
from hcfl.protocol.leaves import score_tree

ZERO32 = b"\0" * 32


class ScoreFinding(BaseModel):
    round_id: int
    station: str | None = None
    problem: str


class _Refused(Exception):
    pass


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def audit_round_scores(r: RoundRecord, http: httpx.Client, account: LocalAccount, chain_id: int,
                       contract: str) -> list[ScoreFinding]:
    """The findings for one round (an empty list when the published scores are what the artifacts give)."""
    rid, fin = r.round_id, r.finalization
    if fin is None or fin.scores_root == ZERO32:
        return []
    found: list[ScoreFinding] = []

    def bad(problem: str, station: str | None = None) -> None:
        found.append(ScoreFinding(round_id=rid, station=station, problem=problem))

    proposal = r.selected_proposal
    if proposal is None:
        bad("finalized with a scores root but no selected proposal")
        return found
    signature = sign(account, download_message(chain_id, contract, rid))
    auth = {"X-HCFL-Account": account.address, "X-HCFL-Signature": signature}

    def get(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        resp = http.get(f"/api/rounds/{rid}{path}", headers=headers or {})
        if resp.status_code != 200:
            raise _Refused(f"GET {path}: HTTP {resp.status_code} {resp.text[:200]}")
        return resp

    omega = _hex(proposal.spec_hash)
    try:
        body = http.get(f"/api/specs/{omega}").json()
        spec = ModelSpec.model_validate(body["spec"])
        served = omega_of(spec, TrainingPlan.model_validate(body["training"]))
        if served != omega:
            bad(f"the coordinator's spec and plan hash to {served}, not the proposal's {omega}")
            return found
        view = get("/training").json()
        stations, t = r.revealed_stations, int(view["t"])
        if t != int(proposal.global_rounds):
            bad(f"the coordinator trained t = {t} global rounds, the proposal says {proposal.global_rounds}")
            return found
        g = t - 1
        manifest = get(f"/manifests/{g}").json()
        validation = None
        if fin.validation_hash != ZERO32:
            data = get("/validation").content
            if state_hash(data) != _hex(fin.validation_hash):
                bad(f"validation split hashes to {state_hash(data)}, not the on-chain validationHash "
                    f"{_hex(fin.validation_hash)}")
                return found
            from safetensors.torch import load as st_load

            tensors = st_load(data)
            validation = Split(tensors["X"], tensors["y"])
        # the model global round g started from
        start_hash = get(f"/manifests/{g - 1}").json()["global_model_hash"] if g > 0 else \
            state_hash(encode_state(state_of(build_model(spec))))
        raw = get(f"/audit/global/{g}", auth).content
        prev_state = decode_state(raw, spec, start_hash)
        reports = {rep.station: _hex(rep.update_hash) for rep in r.reports if rep.global_round == g}
        reported_samples = {rep.station: int(rep.samples) for rep in r.reports if rep.global_round == g}
        clipped = {e["station"]: float(e["scale"]) for e in manifest.get("evidence") or []
                   if e.get("action") == "norm-clipped" and "scale" in e}
        included: list[tuple[str, Any, int]] = []
        for leaf in manifest.get("included") or []:
            station = str(leaf["address"])
            on_chain = reports.get(station)
            if on_chain is None:
                bad(f"update of global round {g} is in the scores but was never reported on chain", station)
                continue
            data = get(f"/audit/updates/{g}/{station}", auth).content
            if state_hash(data) != on_chain:
                bad(f"published update hashes to {state_hash(data)}, not the on-chain updateHash {on_chain}", station)
                continue
            if int(leaf["weight"]) > reported_samples[station]:
                bad(f"aggregation weight {leaf['weight']} exceeds the {reported_samples[station]} samples reported "
                    "on chain", station)
                continue
            state = decode_state(data, spec, on_chain)
            if station in clipped:
                state = clip_update(state, prev_state, clipped[station])
            included.append((station, state, int(leaf["weight"])))
    except _Refused as exc:
        bad(f"cannot fetch the score artifacts: {exc}")
        return found
    except (WireFormatError, KeyError, TypeError, ValueError, httpx.HTTPError) as exc:
        bad(f"unusable score artifact: {type(exc).__name__}: {exc}"[:400])
        return found
    if found:
        return found
    scores = round_scores(stations, included, spec, validation, int(proposal.label_mask), prev_state, rid)
    tree = score_tree(stations, scores)
    if tree["scores_root"] != _hex(fin.scores_root) or int(tree["scores_total"]) != int(fin.scores_total):
        bad(f"recomputed scores {scores} give root {tree['scores_root']} total {tree['scores_total']}; the winner "
            f"finalized root {_hex(fin.scores_root)} total {fin.scores_total}")
    return found


def may_audit(r: RoundRecord, account: str) -> bool:
    """The score artifacts go to the round's revealed participants only (they rebuild the final model)."""
    return any(p.address.lower() == account.lower() and p.revealed for p in r.participants)


def audit_scores(core: Any, coordinator: str, account: LocalAccount) -> tuple[list[ScoreFinding], list[int]]:
    """Every finalized round of the v2 deployment `core` in which `account` revealed, against the artifacts of
    `coordinator`. Returns (findings, the finalized rounds skipped because `account` may not fetch their updates)."""
    from hcfl.ledger.fetch import LedgerFetcher

    ledger = LedgerFetcher(core).sync()
    findings: list[ScoreFinding] = []
    skipped: list[int] = []
    with httpx.Client(base_url=coordinator.rstrip("/"), timeout=120) as http:
        for rid in sorted(ledger.rounds):
            r = ledger.rounds[rid]
            if r.finalization is None or r.finalization.scores_root == ZERO32:
                continue
            if not may_audit(r, account.address):
                skipped.append(rid)
                continue
            findings += audit_round_scores(r, http, account, core.chain_id, core.address)
    return findings, skipped

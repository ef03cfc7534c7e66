"""The read API of rounds, events, funds and the audit, served from the event ledger."""
from __future__ import annotations

from fastapi import APIRouter

from backend import schemas
from backend.audit_v2 import audit_v2
from backend.deps import Coord, Gateway, RoundId, StoreDep, known_round
from backend.errors import ERROR_RESPONSES
from backend.views import funds, round_detail, round_summary

router = APIRouter(prefix="/api", tags=["rounds"])


@router.get("/rounds", response_model=list[schemas.RoundSummary])
def list_rounds(gw: Gateway) -> list[schemas.RoundSummary]:
    ledger = gw.ledger()
    return [round_summary(gw, ledger.rounds[rid]) for rid in sorted(ledger.rounds)]


@router.get("/rounds/{rid}", response_model=schemas.RoundDetail, responses=ERROR_RESPONSES)
def get_round(rid: RoundId, gw: Gateway, store: StoreDep) -> schemas.RoundDetail:
    known_round(gw, rid)
    return round_detail(gw, rid, lambda omega: store.get_spec(omega) is not None)


@router.get("/rounds/{rid}/events", response_model=list[schemas.EventOut], responses=ERROR_RESPONSES)
def round_events(rid: RoundId, coord: Coord) -> list[schemas.EventOut]:
    known_round(coord.gw, rid)
    return [coord.formatter.event(e) for e in coord.gw.events(round_id=rid)]


@router.get("/funds", response_model=schemas.FundsOut)
def get_funds(gw: Gateway) -> schemas.FundsOut:
    return funds(gw)


@router.get("/audit", response_model=schemas.AuditOut)
def get_audit(gw: Gateway) -> schemas.AuditOut:
    with gw.lock:  # the chain cannot move between the ledger and the balance check
        report = audit_v2(gw.core, ledger=gw.ledger())
    return schemas.AuditOut.model_validate({**report.model_dump(mode="json"), "ok": report.ok})

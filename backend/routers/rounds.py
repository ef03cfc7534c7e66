"""The read API of rounds, events, funds and the audit, served from the event ledger."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from backend import schemas
from backend.audit_v2 import audit_v2
from backend.deps import Coord, Gateway, RoundId, known_round
from backend.errors import ERROR_RESPONSES, ApiError
from backend.views import funds

router = APIRouter(prefix="/api", tags=["rounds"])


@router.get("/rounds", response_model=list[schemas.RoundSummary])
def list_rounds(coord: Coord) -> Response:
    return coord.views.rounds()  # JSON built once per ledger snapshot (backend/read_views.py)


@router.get("/rounds/{rid}", response_model=schemas.RoundDetail, responses=ERROR_RESPONSES)
def get_round(rid: RoundId, coord: Coord) -> Response:
    found = coord.views.round(rid)
    if found is None:
        raise ApiError(404, f"unknown round {rid}")
    return found


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

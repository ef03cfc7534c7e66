"""Model specs and training plans, addressed by ω (the hash proposals commit to on chain)."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path as PathParam

from backend import schemas
from backend.deps import OMEGA_PATTERN, StoreDep
from backend.errors import ERROR_RESPONSES, ApiError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/specs", tags=["specs"])


@router.post("", response_model=schemas.SpecCreated, status_code=201)
def post_spec(body: schemas.SpecIn, store: StoreDep) -> schemas.SpecCreated:
    omega = body.spec.omega
    store.put_spec(omega, body.spec.model_dump(mode="json"), body.training.model_dump(mode="json"))
    log.info("spec %s stored (%s, dataset %s)", omega, body.spec.arch, body.training.dataset)
    return schemas.SpecCreated(omega=omega, uri=f"/api/specs/{omega}")


@router.get("/{omega}", response_model=schemas.SpecOut, responses=ERROR_RESPONSES)
def get_spec(omega: Annotated[str, PathParam(pattern=OMEGA_PATTERN)], store: StoreDep) -> schemas.SpecOut:
    found = store.get_spec(omega)
    if found is None:
        raise ApiError(404, f"no spec {omega}")
    return schemas.SpecOut(omega=omega.lower(), spec=found[0], training=found[1])

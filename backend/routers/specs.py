"""Model specs with their training plans, addressed by ω = hcfl.protocol.model_commitment(spec, plan): the hash a
proposal commits to on chain covers both, so a stored pair can never be replaced (a re-post of the same pair
is idempotent; another plan is another ω)."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from backend import schemas
from backend.deps import OMEGA_PATTERN, StoreDep
from backend.errors import ERROR_RESPONSES, ApiError
from fl_worker.plan import omega as omega_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/specs", tags=["specs"])


@router.post("", response_model=schemas.SpecCreated, status_code=201)
def post_spec(body: schemas.SpecIn, store: StoreDep) -> schemas.SpecCreated:
    omega = omega_of(body.spec, body.training)
    store.put_spec(omega, body.spec.model_dump(mode="json"), body.training.model_dump(mode="json"))
    log.info("spec %s stored (%s, dataset %s)", omega, body.spec.arch, body.training.dataset)
    return schemas.SpecCreated(omega=omega, uri=f"/api/specs/{omega}")


@router.get("/{omega}", response_model=schemas.SpecOut, responses=ERROR_RESPONSES)
def get_spec(omega: Annotated[str, PathParam(pattern=OMEGA_PATTERN)], store: StoreDep) -> schemas.SpecOut:
    found = store.get_spec(omega)
    if found is None:
        raise ApiError(404, f"no spec {omega}")
    return schemas.SpecOut(omega=omega.lower(), spec=found[0], training=found[1])

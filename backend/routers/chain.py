"""Health and the chain the coordinator drives."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend import schemas
from backend.deps import Coord, Gateway

router = APIRouter(prefix="/api", tags=["chain"])


@router.get("/health", response_model=schemas.HealthOut,
            responses={503: {"model": schemas.HealthDown, "description": "something is down: `down` names it"}})
def health(coord: Coord) -> Any:
    assert coord.watchdog is not None
    status, body = coord.watchdog.health()  # node, database, model store, deployment, lease (backend/watchdog.py)
    return schemas.HealthOut.model_validate(body) if status == 200 else JSONResponse(body, status_code=status)


@router.get("/chain", response_model=schemas.ChainOut)
def chain_info(gw: Gateway) -> schemas.ChainOut:
    return schemas.ChainOut(chain_id=gw.chain_id, contract=gw.address, rpc="/rpc", kind=gw.chain.kind,
                            abi=gw.core.abi)

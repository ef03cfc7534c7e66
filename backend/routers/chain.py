"""Health and the chain the coordinator drives."""
from __future__ import annotations

from fastapi import APIRouter

from backend import schemas
from backend.deps import Gateway

router = APIRouter(prefix="/api", tags=["chain"])


@router.get("/health", response_model=schemas.HealthOut)
def health(gw: Gateway) -> schemas.HealthOut:
    return schemas.HealthOut(ok=True, chain_id=gw.chain_id, contract=gw.address, block=gw.block_number())


@router.get("/chain", response_model=schemas.ChainOut)
def chain_info(gw: Gateway) -> schemas.ChainOut:
    return schemas.ChainOut(chain_id=gw.chain_id, contract=gw.address, rpc="/rpc", kind=gw.chain.kind,
                            abi=gw.client.abi)

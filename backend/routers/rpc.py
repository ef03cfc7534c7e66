"""POST /rpc: the JSON-RPC pass-through (allow-listed methods; batches of up to RPC_MAX_BATCH)."""
from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from backend import schemas
from backend.deps import Coord, read_body
from backend.errors import ApiError
from backend.services.rpc_proxy import RPC_MAX_BATCH

RPC_MAX_BYTES = 1024 * 1024
_RPC_SCHEMA = schemas.RpcRequest.model_json_schema()
router = APIRouter(tags=["chain"])


@router.post("/rpc", responses={413: {"description": "body too large"}, 400: {"description": "not JSON-RPC"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "oneOf": [_RPC_SCHEMA, {"type": "array", "items": _RPC_SCHEMA, "minItems": 1,
                                         "maxItems": RPC_MAX_BATCH}]}}}}})
async def rpc(request: Request, coord: Coord) -> JSONResponse:
    raw = await read_body(request, RPC_MAX_BYTES)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body is not JSON") from None
    batch = isinstance(payload, list)
    items = payload if batch else [payload]
    if batch and not 1 <= len(items) <= RPC_MAX_BATCH:
        raise ApiError(400, f"a batch holds 1..{RPC_MAX_BATCH} requests")
    requests = []
    for item in items:
        try:
            requests.append(schemas.RpcRequest.model_validate(item).model_dump())
        except Exception:  # noqa: BLE001 - pydantic ValidationError or a non-object
            raise ApiError(400, "not a JSON-RPC 2.0 request object") from None
    out = [await run_in_threadpool(coord.rpc.answer, req) for req in requests]
    return JSONResponse(out if batch else out[0])

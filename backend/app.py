"""The coordinator's FastAPI application: `create_app(settings) -> FastAPI` (routes: docs/protocol.md).

The app owns a `Coordinator` (chain gateway, store, training manager, deadline driver), built in the
lifespan from `Settings` or passed in ready-made (tests). Handlers reach it through `Depends`.
"""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from backend import schemas
from backend.audit_v2 import audit_v2
from backend.chain_watch import (
    RPC_ALLOWED,
    RPC_MAX_BATCH,
    ChainGateway,
    DeadlineDriver,
    EventFormatter,
    funds,
    round_detail,
    round_summary,
)
from backend.limits import JsonBodyLimits, restore_recursion_limit
from backend.store import Store
from backend.training import ApiError, TrainingManager
from hcfl.chain.client import ContractRevert

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
RPC_MAX_BYTES = 1024 * 1024
MODEL_MAX_BYTES = 64 * 1024 * 1024
OCTET = "application/octet-stream"
_RPC_SCHEMA = schemas.RpcRequest.model_json_schema()
U64 = 2**63  # samples are stored in SQLite's signed 64-bit integers


@dataclass
class Settings:
    chain: str = "embedded"
    contract: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "hcfl-coordinator.sqlite"
    data_dir: str = "hcfl-data"
    key_file: str | None = None
    poll: float = 2.0
    round_timeout: float = 120.0
    max_station_samples: int = 10**6
    fast_forward: bool = False
    dataset_dir: str | None = None
    static_dir: str | None = None
    fast_forward_quiet: float = 3.0  # Joining/Proposing: seconds without a new join/proposal before the jump
    background: bool = True  # run the deadline driver and the training worker


@dataclass
class Coordinator:
    gw: ChainGateway
    store: Store
    training: TrainingManager
    driver: DeadlineDriver
    settings: Settings
    formatter: EventFormatter = field(init=False)
    owns_chain: bool = True

    def __post_init__(self) -> None:
        self.formatter = EventFormatter(self.gw.client.abi)

    @classmethod
    def from_settings(cls, settings: Settings, chain: Any = None) -> "Coordinator":
        from eth_account import Account

        from hcfl.chain.provider import connect
        from hcfl.chain.v2.client import CoreClient

        owns = chain is None
        key = Path(settings.key_file).read_text().strip() if settings.key_file else None
        chain = chain or connect(settings.chain, funder_key=key)
        payer = Account.from_key(key) if key else chain.funder
        if settings.contract:
            client = CoreClient(chain.w3, settings.contract)
            if not chain.w3.eth.get_code(client.address):
                raise SystemExit(f"no contract deployed at {client.address} on {settings.chain}")
            try:
                client.counts()
            except Exception:  # noqa: BLE001 - any failure: not an HCFLCore
                raise SystemExit(f"{client.address} on {settings.chain} is not an HCFLCore (contract v2)") from None
        else:
            client = CoreClient.deploy(chain, payer)
            log.info("deployed a fresh HCFLCore (v2) at %s (lens %s)", client.address,
                     client.lens.address if client.lens else None)
        gw = ChainGateway(chain, client, payer)
        store = Store(settings.db, settings.data_dir, namespace=f"{gw.chain_id}:{client.address}")
        training = TrainingManager(store, gw, round_timeout=settings.round_timeout, poll=min(settings.poll, 1.0),
                                   dataset_dir=settings.dataset_dir, max_station_samples=settings.max_station_samples)
        driver = DeadlineDriver(gw, poll=settings.poll, fast_forward=settings.fast_forward,
                                quiet=settings.fast_forward_quiet)
        log.info("coordinator on chain %s (id %d, %s), contract %s, gas payer %s, db %s",
                 settings.chain, gw.chain_id, chain.kind, client.address, payer.address, settings.db)
        return cls(gw=gw, store=store, training=training, driver=driver, settings=settings, owns_chain=owns)

    def start(self) -> None:
        if self.settings.background:
            self.driver.start()
            self.training.start()

    def stop(self) -> None:
        self.driver.stop()
        self.training.stop()
        self.gw.close()
        self.store.close()
        if self.owns_chain:
            self.gw.chain.close()


# ------------------------------------------------------------------ dependencies
def get_coordinator(request: Request) -> Coordinator:
    return request.app.state.coordinator


def get_gateway(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> ChainGateway:
    return coord.gw


def get_store(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> Store:
    return coord.store


def get_training(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> TrainingManager:
    return coord.training


Coord = Annotated[Coordinator, Depends(get_coordinator)]
Gateway = Annotated[ChainGateway, Depends(get_gateway)]
StoreDep = Annotated[Store, Depends(get_store)]
TrainingDep = Annotated[TrainingManager, Depends(get_training)]
RoundId = Annotated[int, PathParam(description="round id", ge=0, lt=2**64)]
GlobalRound = Annotated[int, PathParam(description="global round g", ge=0, lt=2**32)]
OMEGA_PATTERN = r"^0x[0-9a-fA-F]{64}$"


def _known_round(gw: ChainGateway, rid: int) -> None:
    if rid >= gw.round_count():
        raise ApiError(404, f"unknown round {rid}")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed input"}, 403: {"description": "not allowed"},
    404: {"description": "unknown round / object"}, 409: {"description": "wrong state"},
}


# ------------------------------------------------------------------ the app
def create_app(settings: Settings | None = None, coordinator: Coordinator | None = None) -> FastAPI:
    settings = settings or (coordinator.settings if coordinator else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        coord = coordinator or await run_in_threadpool(Coordinator.from_settings, settings)
        restore_recursion_limit()  # connecting may have imported py-evm, which raises it again
        app.state.coordinator = coord
        coord.start()
        try:
            yield
        finally:
            await run_in_threadpool(coord.stop)

    app = FastAPI(
        title="HCFL coordinator",
        version="1.0",
        description="Drives HCFL crowdfunding rounds and hierarchical FL training; holds no participant key. "
                    "Protocol: docs/protocol.md.",
        lifespan=lifespan,
    )
    restore_recursion_limit()
    app.add_middleware(JsonBodyLimits, max_bytes=RPC_MAX_BYTES)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(ContractRevert)
    async def _revert(_: Request, exc: ContractRevert) -> JSONResponse:
        status = 404 if exc.error == "UnknownRound" else 409
        return JSONResponse({"detail": f"contract refused: {exc}"}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            item = {k: e[k] for k in ("loc", "msg", "type") if k in e}
            if isinstance(e.get("ctx"), dict):
                item["ctx"] = {k: str(v) for k, v in e["ctx"].items()}
            errors.append(item)
        return JSONResponse({"detail": errors}, status_code=422)

    # -------------------------------------------------------------- health and chain
    @app.get("/api/health", response_model=schemas.HealthOut, tags=["chain"])
    def health(gw: Gateway) -> dict[str, Any]:
        return {"ok": True, "chain_id": gw.chain_id, "contract": gw.address, "block": gw.block_number()}

    @app.get("/api/chain", response_model=schemas.ChainOut, tags=["chain"])
    def chain_info(gw: Gateway) -> dict[str, Any]:
        return {"chain_id": gw.chain_id, "contract": gw.address, "rpc": "/rpc", "kind": gw.chain.kind, "abi": gw.client.abi}

    # -------------------------------------------------------------- specs
    @app.post("/api/specs", response_model=schemas.SpecCreated, status_code=201, tags=["specs"])
    def post_spec(body: schemas.SpecIn, store: StoreDep) -> dict[str, Any]:
        omega = body.spec.omega
        store.put_spec(omega, body.spec.model_dump(mode="json"), body.training.model_dump(mode="json"))
        log.info("spec %s stored (%s, dataset %s)", omega, body.spec.arch, body.training.dataset)
        return {"omega": omega, "uri": f"/api/specs/{omega}"}

    @app.get("/api/specs/{omega}", response_model=schemas.SpecOut, tags=["specs"], responses=ERROR_RESPONSES)
    def get_spec(omega: Annotated[str, PathParam(pattern=OMEGA_PATTERN)], store: StoreDep) -> dict[str, Any]:
        found = store.get_spec(omega)
        if found is None:
            raise ApiError(404, f"no spec {omega}")
        return {"omega": omega.lower(), "spec": found[0], "training": found[1]}

    # -------------------------------------------------------------- rounds (read API)
    @app.get("/api/rounds", response_model=list[schemas.RoundSummary], tags=["rounds"])
    def list_rounds(gw: Gateway) -> list[dict[str, Any]]:
        ledger = gw.ledger()
        return [round_summary(gw, ledger.rounds[rid]) for rid in sorted(ledger.rounds)]

    @app.get("/api/rounds/{rid}", response_model=schemas.RoundDetail, tags=["rounds"], responses=ERROR_RESPONSES)
    def get_round(rid: RoundId, gw: Gateway, store: StoreDep) -> dict[str, Any]:
        _known_round(gw, rid)
        return round_detail(gw, rid, lambda omega: store.get_spec(omega) is not None)

    @app.get("/api/rounds/{rid}/events", response_model=list[schemas.EventOut], tags=["rounds"], responses=ERROR_RESPONSES)
    def round_events(rid: RoundId, coord: Coord) -> list[dict[str, Any]]:
        _known_round(coord.gw, rid)
        return [coord.formatter.event(e) for e in coord.gw.events(round_id=rid)]

    @app.get("/api/funds", response_model=schemas.FundsOut, tags=["rounds"])
    def get_funds(gw: Gateway) -> dict[str, Any]:
        return funds(gw)

    @app.get("/api/audit", response_model=schemas.AuditOut, tags=["rounds"])
    def get_audit(gw: Gateway) -> Any:
        with gw.lock:  # the chain cannot move between the ledger and the balance check
            report = audit_v2(gw.core, ledger=gw.ledger())
        return JSONResponse({**report.model_dump(mode="json"), "ok": report.ok})

    # -------------------------------------------------------------- training
    @app.get("/api/rounds/{rid}/task", response_model=schemas.TaskOut, response_model_exclude_none=True,
             tags=["training"], responses=ERROR_RESPONSES)
    def get_task(rid: RoundId, station: Annotated[str, Query(max_length=64, description="the station's address")],
                 tm: TrainingDep, response: Response,
                 wait: Annotated[float, Query(ge=0, le=30, description="long-poll: while training is open, hold a "
                                                                      "'wait' answer up to this many seconds")] = 0,
                 samples: Annotated[int | None, Query(ge=1, lt=U64, description="samples the station commits to (caps its weight)")] = None,
                 ) -> dict[str, Any]:
        answer, held = tm.task_wait(rid, station, wait, samples)
        if held:
            response.headers["X-HCFL-Long-Poll"] = "1"
        return answer

    @app.get("/api/rounds/{rid}/manifests/{g}", tags=["training"], responses=ERROR_RESPONSES)
    def get_manifest(rid: RoundId, g: GlobalRound, tm: TrainingDep) -> dict[str, Any]:
        return tm.manifest(rid, g)

    @app.get("/api/rounds/{rid}/training", response_model=schemas.TrainingOut, tags=["training"], responses=ERROR_RESPONSES)
    def get_training_state(rid: RoundId, tm: TrainingDep) -> dict[str, Any]:
        return tm.training_view(rid)

    @app.get("/api/rounds/{rid}/models/global/{g}", tags=["training"], response_class=Response,
             responses={200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}},
                              "description": "safetensors; header X-HCFL-Model-Hash"}, **ERROR_RESPONSES})
    def get_global_model(
        rid: RoundId, g: GlobalRound, tm: TrainingDep,
        x_hcfl_station: Annotated[str, Header(alias="X-HCFL-Station", max_length=64)] = "",
        x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)] = "",
    ) -> Response:
        data, h = tm.global_model(rid, g, x_hcfl_station, x_hcfl_signature)
        return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})

    @app.put("/api/rounds/{rid}/updates/{g}", response_model=schemas.UploadAccepted, tags=["training"],
             responses={413: {"description": "body too large"}, **ERROR_RESPONSES},
             openapi_extra={"requestBody": {"required": True, "content": {OCTET: {"schema": {"type": "string", "format": "binary"}}}}})
    async def put_update(
        rid: RoundId, g: GlobalRound, request: Request, tm: TrainingDep,
        x_hcfl_station: Annotated[str, Header(alias="X-HCFL-Station", max_length=64)],
        x_hcfl_samples: Annotated[int, Header(alias="X-HCFL-Samples", ge=0, lt=U64)],
        x_hcfl_accuracy_bps: Annotated[int, Header(alias="X-HCFL-Accuracy-Bps", ge=0, le=10_000)],
        x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)],
        x_hcfl_edge_root: Annotated[str | None, Header(alias="X-HCFL-Edge-Root", max_length=80)] = None,
        x_hcfl_edge_root_signature: Annotated[str | None, Header(alias="X-HCFL-Edge-Root-Signature", max_length=200)] = None,
    ) -> dict[str, Any]:
        body = await _read_body(request, MODEL_MAX_BYTES)
        return await run_in_threadpool(tm.upload, rid, g, x_hcfl_station, x_hcfl_samples, x_hcfl_accuracy_bps,
                                       x_hcfl_signature, body, x_hcfl_edge_root, x_hcfl_edge_root_signature)

    @app.get("/api/rounds/{rid}/validation", tags=["training"], response_class=Response,
             responses={200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}},
                              "description": "safetensors {X, y}: the validation split the result was computed on; "
                                             "header X-HCFL-Validation-Hash (keccak256, = validationHash on chain)"},
                        **ERROR_RESPONSES})
    def get_validation(rid: RoundId, tm: TrainingDep) -> Response:
        data, h = tm.validation_split(rid)
        return Response(data, media_type=OCTET, headers={"X-HCFL-Validation-Hash": h})

    @app.get("/api/rounds/{rid}/audit/global/{g}", tags=["training"], response_class=Response,
             responses={200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}},
                              "description": "safetensors of the global model global round g started from (after training, "
                                             "for the round's revealed participants); header X-HCFL-Model-Hash"},
                        **ERROR_RESPONSES})
    def get_audit_global(
        rid: RoundId, g: GlobalRound, tm: TrainingDep,
        x_hcfl_account: Annotated[str, Header(alias="X-HCFL-Account", max_length=64)],
        x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)],
    ) -> Response:
        data, h = tm.audit_artifact(rid, g, None, x_hcfl_account, x_hcfl_signature)
        return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})

    @app.get("/api/rounds/{rid}/audit/updates/{g}/{station}", tags=["training"], response_class=Response,
             responses={200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}},
                              "description": "safetensors of a station's uploaded update of global round g (after "
                                             "training, for the round's revealed participants); header X-HCFL-Update-Hash"},
                        **ERROR_RESPONSES})
    def get_audit_update(
        rid: RoundId, g: GlobalRound, station: Annotated[str, PathParam(max_length=64)], tm: TrainingDep,
        x_hcfl_account: Annotated[str, Header(alias="X-HCFL-Account", max_length=64)],
        x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)],
    ) -> Response:
        data, h = tm.audit_artifact(rid, g, station, x_hcfl_account, x_hcfl_signature)
        return Response(data, media_type=OCTET, headers={"X-HCFL-Update-Hash": h})

    @app.get("/api/rounds/{rid}/models/final", tags=["training"], response_class=Response,
             responses={200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}},
                              "description": "safetensors of the final global model"}, **ERROR_RESPONSES})
    def get_final_model(
        rid: RoundId, tm: TrainingDep,
        x_hcfl_owner: Annotated[str, Header(alias="X-HCFL-Owner", max_length=64)],
        x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)],
    ) -> Response:
        data, h = tm.final_model(rid, x_hcfl_owner, x_hcfl_signature)
        return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})

    # -------------------------------------------------------------- JSON-RPC pass-through
    @app.post("/rpc", tags=["chain"], responses={413: {"description": "body too large"}, 400: {"description": "not JSON-RPC"}},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "oneOf": [_RPC_SCHEMA, {"type": "array", "items": _RPC_SCHEMA, "minItems": 1, "maxItems": RPC_MAX_BATCH}]}}}}})
    async def rpc(request: Request, gw: Gateway) -> JSONResponse:
        raw = await _read_body(request, RPC_MAX_BYTES)
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
        out = []
        for req in requests:
            if req["method"] not in RPC_ALLOWED:
                out.append({"jsonrpc": "2.0", "id": req["id"],
                            "error": {"code": -32601, "message": f"method {req['method']} is not allowed here"}})
            else:
                out.append(await run_in_threadpool(gw.rpc, req))
        return JSONResponse(out if batch else out[0])

    # -------------------------------------------------------------- the UI (another engineer's folder)
    static = Path(settings.static_dir) if settings.static_dir else STATIC_DIR
    if static.is_dir():
        app.mount("/", StaticFiles(directory=static, html=True), name="static")

    return app

"""Training: a station's task (long-poll), uploads, global models, manifests, the training view, the
validation split, and the signed downloads (intermediate and final models, audit artifacts)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from backend import schemas
from backend.deps import (
    OCTET,
    AccountDownload,
    GlobalRound,
    OwnerDownload,
    RoundId,
    StationDownload,
    TrainingDep,
    read_body,
)
from backend.errors import ERROR_RESPONSES
from hcfl.protocol import SQLITE_INT_LIMIT

MODEL_MAX_BYTES = 64 * 1024 * 1024
router = APIRouter(prefix="/api/rounds/{rid}", tags=["training"], responses=ERROR_RESPONSES)


def _binary(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {OCTET: {"schema": {"type": "string", "format": "binary"}}}, "description": description}}


@router.get("/task", response_model=schemas.TaskOut, response_model_exclude_none=True)
def get_task(rid: RoundId, station: Annotated[str, Query(max_length=64, description="the station's address")],
             tm: TrainingDep, response: Response,
             wait: Annotated[float, Query(ge=0, le=30, description="long-poll: while training is open, hold a "
                                                                  "'wait' answer up to this many seconds")] = 0,
             samples: Annotated[int | None, Query(ge=1, lt=SQLITE_INT_LIMIT,
                                                  description="samples the station commits to (caps its weight)")] = None,
             ) -> schemas.TaskOut:
    answer, held = tm.task_wait(rid, station, wait, samples)
    if held:
        response.headers["X-HCFL-Long-Poll"] = "1"
    return schemas.TaskOut.model_validate(answer)


@router.get("/manifests/{g}", response_model=schemas.ManifestOut)
def get_manifest(rid: RoundId, g: GlobalRound, tm: TrainingDep) -> schemas.ManifestOut:
    return schemas.ManifestOut.model_validate(tm.manifest(rid, g))


@router.get("/training", response_model=schemas.TrainingOut)
def get_training_state(rid: RoundId, tm: TrainingDep) -> schemas.TrainingOut:
    return schemas.TrainingOut.model_validate(tm.training_view(rid))


@router.get("/models/global/{g}", response_class=Response,
            responses=_binary("safetensors; header X-HCFL-Model-Hash"))
def get_global_model(rid: RoundId, g: GlobalRound, tm: TrainingDep, signed: StationDownload,
                     wait: Annotated[float, Query(ge=0, le=30, description="long-poll: a global model of this round "
                                                                          "that is not there yet is waited for up to "
                                                                          "this many seconds")] = 0) -> Response:
    data, h = tm.global_model(rid, g, signed.signer(tm.gw, rid), wait)
    return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})


@router.put("/updates/{g}", response_model=schemas.UploadAccepted, responses={413: {"description": "body too large"}},
            openapi_extra={"requestBody": {"required": True, "content": {OCTET: {"schema": {"type": "string",
                                                                                            "format": "binary"}}}}})
async def put_update(
    rid: RoundId, g: GlobalRound, request: Request, tm: TrainingDep,
    x_hcfl_station: Annotated[str, Header(alias="X-HCFL-Station", max_length=64)],
    x_hcfl_samples: Annotated[int, Header(alias="X-HCFL-Samples", ge=0, lt=SQLITE_INT_LIMIT)],
    x_hcfl_accuracy_bps: Annotated[int, Header(alias="X-HCFL-Accuracy-Bps", ge=0, le=10_000)],
    x_hcfl_signature: Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)],
    x_hcfl_edge_root: Annotated[str | None, Header(alias="X-HCFL-Edge-Root", max_length=80)] = None,
    x_hcfl_edge_root_signature: Annotated[str | None, Header(alias="X-HCFL-Edge-Root-Signature", max_length=200)] = None,
) -> schemas.UploadAccepted:
    body = await read_body(request, MODEL_MAX_BYTES)
    accepted = await run_in_threadpool(tm.upload, rid, g, x_hcfl_station, x_hcfl_samples, x_hcfl_accuracy_bps,
                                       x_hcfl_signature, body, x_hcfl_edge_root, x_hcfl_edge_root_signature)
    return schemas.UploadAccepted.model_validate(accepted)


@router.get("/validation", response_class=Response,
            responses=_binary("safetensors {X, y}: the validation split the result was computed on; header "
                              "X-HCFL-Validation-Hash (keccak256, = validationHash on chain)"))
def get_validation(rid: RoundId, tm: TrainingDep) -> Response:
    data, h = tm.validation_split(rid)
    return Response(data, media_type=OCTET, headers={"X-HCFL-Validation-Hash": h})


@router.get("/audit/global/{g}", response_class=Response,
            responses=_binary("safetensors of the global model global round g started from (after training, for the "
                              "round's revealed participants); header X-HCFL-Model-Hash"))
def get_audit_global(rid: RoundId, g: GlobalRound, tm: TrainingDep, signed: AccountDownload) -> Response:
    data, h = tm.audit_artifact(rid, g, None, signed.signer(tm.gw, rid))
    return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})


@router.get("/audit/updates/{g}/{station}", response_class=Response,
            responses=_binary("safetensors of a station's uploaded update of global round g (after training, for the "
                              "round's revealed participants); header X-HCFL-Update-Hash"))
def get_audit_update(rid: RoundId, g: GlobalRound, station: Annotated[str, PathParam(max_length=64)], tm: TrainingDep,
                     signed: AccountDownload) -> Response:
    data, h = tm.audit_artifact(rid, g, station, signed.signer(tm.gw, rid))
    return Response(data, media_type=OCTET, headers={"X-HCFL-Update-Hash": h})


@router.get("/models/final", response_class=Response, responses=_binary("safetensors of the final global model"))
def get_final_model(rid: RoundId, tm: TrainingDep, signed: OwnerDownload) -> Response:
    data, h = tm.final_model(rid, signed.signer(tm.gw, rid))
    return Response(data, media_type=OCTET, headers={"X-HCFL-Model-Hash": h})

"""The coordinator's refusals: `ApiError` (an HTTP status and a detail) and the app's exception handlers, which
answer every refusal as JSON {"detail": ...}."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hcfl.chain.client import ContractRevert


class ApiError(Exception):
    """A refusal with an HTTP status (answered as {"detail": ...})."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "malformed input"}, 403: {"description": "not allowed"},
    404: {"description": "unknown round / object"}, 409: {"description": "wrong state"},
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _revert(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContractRevert)
    status = 404 if exc.error == "UnknownRound" else 409
    return JSONResponse({"detail": f"contract refused: {exc}"}, status_code=status)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        item = {k: e[k] for k in ("loc", "msg", "type") if k in e}
        if isinstance(e.get("ctx"), dict):
            item["ctx"] = {k: str(v) for k, v in e["ctx"].items()}
        errors.append(item)
    return JSONResponse({"detail": errors}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ContractRevert, _revert)
    app.add_exception_handler(RequestValidationError, _validation)

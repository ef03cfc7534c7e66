"""The coordinator's FastAPI application: `create_app(settings) -> FastAPI` (routes: docs/protocol.md).

The app owns a `Coordinator` (backend.coordinator), built in the lifespan from `Settings` or passed in
ready-made (tests); the routers (backend.routers) reach its parts through the dependencies of backend.deps.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from backend.coordinator import Coordinator, Settings
from backend.errors import install_error_handlers
from backend.faults import JsonErrors, Refusal, install_traceback_rate_limit
from backend.limits import JsonBodyLimits, restore_recursion_limit
from backend.routers import chain, rounds, rpc, specs, training

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["Coordinator", "Settings", "create_app"]


def create_app(settings: Settings | None = None, coordinator: Coordinator | None = None) -> FastAPI:
    settings = settings or (coordinator.settings if coordinator else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        coord = coordinator or await run_in_threadpool(Coordinator.from_settings, settings)
        restore_recursion_limit()  # connecting may have imported py-evm, which raises it again
        install_traceback_rate_limit()
        app.state.coordinator = coord
        refusal.box = coord.refusal
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
    app.add_middleware(JsonBodyLimits, max_bytes=rpc.RPC_MAX_BYTES)
    install_error_handlers(app)
    refusal = _LateRefusal(coordinator.refusal if coordinator else None)
    app.add_middleware(JsonErrors, refusal=refusal)  # faults: JSON 503/500, refusals (backend/faults.py)
    for module in (chain, specs, rounds, training, rpc):
        app.include_router(module.router)

    # the UI (another engineer's folder)
    static = Path(settings.static_dir) if settings.static_dir else STATIC_DIR
    if static.is_dir():
        app.mount("/", StaticFiles(directory=static, html=True), name="static")
    return app


class _LateRefusal(Refusal):
    """The coordinator's Refusal, known only once the lifespan built the coordinator."""

    def __init__(self, box: Refusal | None) -> None:
        self.box = box

    @property
    def reasons(self) -> dict[str, str]:  # type: ignore[override]
        return self.box.reasons if self.box is not None else {}

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def message(self) -> str:
        return self.box.message() if self.box is not None else ""

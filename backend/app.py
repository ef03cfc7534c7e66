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
    app.add_middleware(JsonBodyLimits, max_bytes=rpc.RPC_MAX_BYTES)
    install_error_handlers(app)
    for module in (chain, specs, rounds, training, rpc):
        app.include_router(module.router)

    # the UI (another engineer's folder)
    static = Path(settings.static_dir) if settings.static_dir else STATIC_DIR
    if static.is_dir():
        app.mount("/", StaticFiles(directory=static, html=True), name="static")
    return app

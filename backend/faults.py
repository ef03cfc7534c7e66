"""Honest about faults: what is down, as JSON, never a plain-text 500 (issue 11, section 5).

- `classify(exc)` names the component an exception comes from: "node" (the chain node does not answer),
  "database" (SQLite refuses: malformed page, I/O error, deleted file), "model store" (a model file is missing or
  does not match its hash) or None (a bug).
- `JsonErrors` is the outermost ASGI middleware inside Starlette's error middleware: an exception that escaped the
  routes becomes `503 {"detail", "down"}` for a known component and `500 {"detail"}` otherwise, and is logged
  through the rate-limited logger, so a node that is down costs one traceback a minute, not megabytes.
- `Refusal`: a fatal condition found while running (the chain was reset under us, another coordinator drives this
  contract); while set, every API route except /api/health answers 503 with its message.
- `TracebackRateLimit`: a logging filter that passes the first record with a traceback per (logger, message) in
  each window and strips the traceback from the rest (their one-line message stays, with a count).
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

NODE = "node"
DATABASE = "database"
MODEL_STORE = "model store"


class ModelStoreError(RuntimeError):
    """A model file the coordinator wrote is missing, unreadable or does not hash to what its database row says."""


class DatabaseFault(RuntimeError):
    """The coordinator's database is unusable (corrupt page, deleted WAL, deleted file)."""


def _node_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import requests

        types.append(requests.exceptions.RequestException)
    except ImportError:  # pragma: no cover - web3 depends on requests
        pass
    try:
        import aiohttp

        types.append(aiohttp.ClientError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


NODE_ERRORS = _node_error_types()


def classify(exc: BaseException) -> str | None:
    """The component `exc` says is down, or None when it is a plain bug."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # look through `raise ... from` chains
        seen.add(id(e))
        if isinstance(e, ModelStoreError):
            return MODEL_STORE
        if isinstance(e, (DatabaseFault, sqlite3.DatabaseError)):
            return DATABASE
        if isinstance(e, NODE_ERRORS):
            return NODE
        if type(e).__name__ in ("ProviderConnectionError", "Web3RPCError") and "connect" in str(e).lower():
            return NODE
        e = e.__cause__ or e.__context__
    return None


def describe(component: str, exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > 300:
        text = text[:297] + "..."
    if component == NODE:
        return f"the chain node does not answer ({text})"
    if component == DATABASE:
        return f"the coordinator's database is unusable ({text})"
    if component == MODEL_STORE:
        return f"the model store is damaged ({text})"
    return text


class Refusal:
    """A fatal condition the coordinator found while running; thread-safe, first reason wins per component."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reasons: dict[str, str] = {}

    def set(self, component: str, reason: str) -> None:
        with self._lock:
            if component not in self.reasons:
                log.error("refusing to drive: %s: %s", component, reason)
                self.reasons[component] = reason

    def clear(self, component: str) -> None:
        with self._lock:
            self.reasons.pop(component, None)

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def message(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items()))


class JsonErrors:
    """ASGI middleware: unhandled exceptions -> JSON 503 (known component down) or 500 (bug); while `refusal`
    holds, API routes other than /api/health answer 503 with its message."""

    def __init__(self, app: ASGIApp, refusal: Refusal | None = None) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.refusal and (path.startswith("/api/") or path == "/rpc") and path != "/api/health":
            await _json(send, 503, {"detail": f"this coordinator refuses to serve: {self.refusal.message()}",
                                    "down": sorted(self.refusal.reasons)})
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the one place that turns any escape into JSON
            component = classify(exc)
            if component is None:
                log.error("%s %s failed", scope.get("method"), path, exc_info=exc)
                body: dict[str, Any]
                status, body = 500, {"detail": f"internal error ({type(exc).__name__}); see the coordinator's log"}
            else:
                log.warning("%s is down (%s %s)", component, scope.get("method"), path, exc_info=exc)
                status, body = 503, {"detail": describe(component, exc), "down": [component]}
            if started:
                raise
            await _json(send, status, body)


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class TracebackRateLimit(logging.Filter):
    """Per (logger, message template, exception type): the first record with a traceback in each `window` seconds
    passes whole; later ones lose their traceback and pass as one line at most every `line_every` seconds (the
    others are dropped and counted in the next line that passes)."""

    def __init__(self, window: float = 60.0, line_every: float = 5.0) -> None:
        super().__init__()
        self.window = window
        self.line_every = line_every
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], list[float]] = {}  # key -> [last traceback, last line, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        key = (record.name, f"{record.msg}|{type(exc).__name__}")
        now = time.monotonic()
        with self._lock:
            st = self._state.setdefault(key, [-1e18, -1e18, 0])
            dropped = int(st[2])
            if now - st[0] >= self.window:
                st[0] = st[1] = now
                st[2] = 0
                if dropped:
                    record.msg = f"{record.msg} [{dropped} similar records dropped]"
                return True
            if now - st[1] < self.line_every:
                st[2] += 1
                return False
            st[1] = now
            st[2] = 0
        record.exc_info = None
        record.exc_text = None
        more = f"; {dropped} similar records dropped" if dropped else ""
        detail = f"{type(exc).__name__}: {str(exc)[:200]}".replace("%", "%%")
        record.msg = f"{record.msg} ({detail}; traceback suppressed{more})"
        return True


_INSTALLED: list[TracebackRateLimit] = []


def install_traceback_rate_limit(window: float = 60.0) -> None:
    """Attach the filter to every handler of the root logger (idempotent per handler)."""
    flt = _INSTALLED[0] if _INSTALLED else TracebackRateLimit(window)
    if not _INSTALLED:
        _INSTALLED.append(flt)
    for handler in logging.getLogger().handlers:
        if flt not in handler.filters:
            handler.addFilter(flt)

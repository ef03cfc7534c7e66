"""Request-body limits checked before anything parses the body (ASGI middleware).

py_ecc and py-evm raise the recursion limit to 100,000 on import, so a deeply nested JSON body would
overflow CPython's C stack inside the JSON decoder (SIGSEGV) instead of raising. Every JSON body is
therefore held to a size limit and a nesting-depth limit by a linear byte scan first; the service
process also restores a sane recursion limit (`restore_recursion_limit`).
"""
from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

JSON_MAX_BYTES = 256 * 1024
JSON_MAX_DEPTH = 32
SAFE_RECURSION_LIMIT = 4000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def restore_recursion_limit() -> None:
    """Undo the 100,000 that py_ecc/py-evm set, so deep recursion raises instead of crashing."""
    if sys.getrecursionlimit() > SAFE_RECURSION_LIMIT:
        sys.setrecursionlimit(SAFE_RECURSION_LIMIT)


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects in `body`, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class JsonBodyLimits:
    """Rejects a JSON request body over `max_bytes` (413) or nested deeper than `max_depth` (400).

    Applies to every request whose content type is JSON or absent; binary uploads
    (application/octet-stream) have their own limits in their routes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or not self._is_json(scope):
            await self.app(scope, receive, send)
            return
        declared = self._header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, 413, f"JSON body larger than {self.max_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send, 413, f"JSON body larger than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # nesting never exceeds the number of brackets, counted in C: the byte-by-byte scan only for bodies with many
        if body.count(b"[") + body.count(b"{") > self.max_depth and json_depth(body) > self.max_depth:
            await self._reject(send, 400, f"JSON nested deeper than {self.max_depth} levels")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _header(scope: Scope, name: bytes) -> str | None:
        for key, value in scope.get("headers", []):
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def _is_json(self, scope: Scope) -> bool:
        ctype = (self._header(scope, b"content-type") or "").lower()
        return not ctype or "json" in ctype or ctype.startswith("text/")

    @staticmethod
    async def _reject(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

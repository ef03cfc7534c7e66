"""`/api/rounds` and `/api/rounds/{rid}` from the ledger snapshot, serialized once per ledger version.

The body of each answer depends only on the ledger snapshot (its head block and that block's timestamp, which
fixes every phase) and, for a round's detail, on which specs the store knows. The JSON bytes are built once per
(head block, head time, spec version) and served as they are by every request until the snapshot moves; no chain
call and no lock on the request path (the gateway refreshes the snapshot at most every `max_age` seconds).
"""
from __future__ import annotations

import threading
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter

from backend import schemas
from backend.gateway import ChainGateway
from backend.views import round_detail, round_summary

_LIST = TypeAdapter(list[schemas.RoundSummary])
_DETAIL = TypeAdapter(schemas.RoundDetail)
JSON = "application/json"


class ReadViews:
    def __init__(self, gw: ChainGateway, store: Any, max_entries: int = 4096) -> None:
        self.gw = gw
        self.store = store
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._version: tuple[int, int, int] | None = None
        self._list: bytes | None = None
        self._detail: dict[int, bytes] = {}

    def _current(self) -> tuple[Any, tuple[int, int, int]]:
        ledger, block, head_time = self.gw.snapshot()
        version = (block, head_time, int(getattr(self.store, "spec_version", 0)))
        with self._lock:
            if version != self._version:
                self._version, self._list, self._detail = version, None, {}
        return ledger, version

    def rounds(self) -> Response:
        with self.gw.reading():
            return self._rounds()

    def round(self, rid: int) -> Response | None:
        """The round's detail, or None when there is no round `rid`."""
        with self.gw.reading():
            return self._round(rid)

    def _rounds(self) -> Response:
        ledger, version = self._current()
        body = self._list
        if body is None:
            rows = [round_summary(self.gw, ledger.rounds[rid]) for rid in sorted(ledger.rounds)]
            body = _LIST.dump_json(_LIST.validate_python(rows))
            with self._lock:
                if self._version == version:
                    self._list = body
        return Response(body, media_type=JSON)

    def _round(self, rid: int) -> Response | None:
        if not self.gw.has_round(rid):
            return None
        ledger, version = self._current()
        if rid not in ledger.rounds:
            return None
        body = self._detail.get(rid)
        if body is None:
            out = round_detail(self.gw, rid, lambda omega: self.store.get_spec(omega) is not None)
            body = _DETAIL.dump_json(_DETAIL.validate_python(out))
            with self._lock:
                if self._version == version and len(self._detail) < self.max_entries:
                    self._detail[rid] = body
        return Response(body, media_type=JSON)

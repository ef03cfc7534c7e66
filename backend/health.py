"""Waiting for a coordinator to answer: shared by the demo, the benchmarks and the tests that start
`hcfl serve` as a subprocess."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


class CoordinatorNotReady(RuntimeError):
    """The coordinator exited, or did not answer `/api/health` in time."""


def wait_until_serving(base: str, *, proc: subprocess.Popen[Any] | None = None, timeout: float = 120.0,
                       log_path: Path | None = None, poll: float = 0.2) -> dict[str, Any]:
    """Poll `{base}/api/health` until it answers `{"ok": true, ...}` and return that body. Fails fast
    when `proc` (the coordinator's process) has exited; the error carries the tail of `log_path`."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise CoordinatorNotReady(f"hcfl serve exited with {proc.returncode}{_tail(log_path)}")
        try:
            r = httpx.get(f"{base}/api/health", timeout=5)
            if r.status_code == 200 and r.json().get("ok"):
                return dict(r.json())
        except (httpx.HTTPError, ValueError):
            pass  # not up yet
        if time.monotonic() > deadline:
            raise CoordinatorNotReady(f"{base} did not answer /api/health within {timeout:.0f} s{_tail(log_path)}")
        time.sleep(poll)


def _tail(log_path: Path | None, chars: int = 4000) -> str:
    if log_path is None or not log_path.exists():
        return ""
    return ":\n" + log_path.read_text(errors="replace")[-chars:]

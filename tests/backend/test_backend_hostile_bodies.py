"""Hostile request bodies against the real `hcfl serve` process: deeply nested JSON (which used to kill
the process with SIGSEGV, since py-evm raises the recursion limit to 100,000) and oversized bodies get
a JSON 4xx, and the coordinator keeps serving."""
from __future__ import annotations

import httpx
import pytest
from coord_helpers import kill, start_coordinator

from backend.limits import JSON_MAX_DEPTH, json_depth


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    proc, base = start_coordinator(
        ["--chain", "embedded", "--db", str(tmp / "c.sqlite"), "--data-dir", str(tmp / "data")], tmp / "serve.log")
    yield proc, base
    kill(proc)


@pytest.mark.parametrize("route", ["/api/specs", "/rpc"])
def test_deep_nesting_is_refused_and_the_process_survives(served, route: str) -> None:
    proc, base = served
    for depth in (100_000, 80_000, JSON_MAX_DEPTH + 1):
        body = b"[" * depth + b"]" * depth
        r = httpx.post(f"{base}{route}", content=body, headers={"content-type": "application/json"}, timeout=30)
        assert r.status_code == 400 and "nested deeper" in r.json()["detail"], (depth, r.text[:200])
        assert proc.poll() is None
    nested_obj = b'{"a":' * 70_000 + b"1" + b"}" * 70_000
    r = httpx.post(f"{base}{route}", content=nested_obj, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 or r.status_code == 400
    assert httpx.get(f"{base}/api/health").status_code == 200 and proc.poll() is None


def test_oversized_bodies_are_refused_before_reading_them_all(served) -> None:
    proc, base = served
    big = b'{"spec": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    r = httpx.post(f"{base}/api/specs", content=big, headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():
        for _ in range(64):
            yield b"[" + b"0," * 32_768 + b"0]"

    r = httpx.post(f"{base}/api/specs", content=chunks(), headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 413  # no content-length: counted while streaming
    assert proc.poll() is None and httpx.get(f"{base}/api/health").status_code == 200


def test_brackets_inside_strings_do_not_count() -> None:
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[["}') == 1
    assert json_depth(b"[[1], [[2]]]") == 3
    assert json_depth(b'"\\\\"') == 0

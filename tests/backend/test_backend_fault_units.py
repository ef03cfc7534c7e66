"""The fault machinery's parts on their own (fast; the real-process tests are in test_backend_faults.py): the
database lease, the traceback rate limit, verified model reads, deployment binding and fault classification."""
from __future__ import annotations

import io
import logging
import sqlite3

import pytest
import requests

from backend.deployment import Deployment, DeploymentMismatch, bind
from backend.faults import DATABASE, MODEL_STORE, NODE, ModelStoreError, TracebackRateLimit, classify
from backend.integrity import IntegrityMonitor, file_hash, read_model
from backend.lease import DbLease, LeaseHeld
from backend.store import GlobalRow, Store, TrainingRow


def test_db_lease_one_holder_at_a_time(tmp_path):
    db = str(tmp_path / "c.sqlite")
    a = DbLease(db, "1:0xabc", "holder-a", ttl=30)
    b = DbLease(db, "1:0xabc", "holder-b", ttl=30)
    other_ns = DbLease(db, "1:0xdef", "holder-b", ttl=30)
    a.acquire()
    with pytest.raises(LeaseHeld, match="holds the lease on 1:0xabc"):
        b.acquire(wait=0.2)
    other_ns.acquire()  # another contract in the same database is another lease
    assert a.renew() is None
    a.release()
    b.acquire(wait=0)
    a2 = DbLease(db, "1:0xabc", "holder-a", ttl=30)
    assert "took the lease" in (a2.renew() or "")  # the old holder, back, finds it taken and stops
    b.release()
    other_ns.release()


def test_db_lease_of_a_dead_holder_expires(tmp_path):
    db = str(tmp_path / "c.sqlite")
    DbLease(db, "ns", "dead", ttl=0.3).acquire()  # never renewed, never released
    DbLease(db, "ns", "next", ttl=5).acquire(wait=2)


def test_traceback_rate_limit():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TracebackRateLimit(window=60, line_every=60))
    logger = logging.getLogger("test.ratelimit")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for _ in range(100):
            try:
                raise ConnectionError("node gone")
            except ConnectionError:
                logger.exception("tick failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("Traceback") == 1 and text.count("tick failed") == 1, text


def test_read_model_verifies_the_hash(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"model bytes")
    h = file_hash(b"model bytes")
    assert read_model(path, h) == b"model bytes"
    path.write_bytes(b"model bytez")
    with pytest.raises(ModelStoreError, match="corrupt"):
        read_model(path, h)
    path.unlink()
    with pytest.raises(ModelStoreError, match="cannot be read"):
        read_model(path, h)


def test_model_store_check(tmp_path):
    store = Store(tmp_path / "c.sqlite", tmp_path / "models", namespace="1:0xabc")
    monitor = IntegrityMonitor(store)
    path = store.round_dir(0) / "global-0.safetensors"
    path.write_bytes(b"w0")
    store.open_training(TrainingRow(0, "0x" + "11" * 32, "training", 0, 1, 1, ["0xS"], 0.0),
                        GlobalRow(0, 0, file_hash(b"w0"), str(path), None))
    assert monitor.check_model_store() is None and monitor.check_database() is None
    path.write_bytes(b"w1")
    assert "corrupt" in (monitor.check_model_store() or "")
    path.unlink()
    assert "missing" in (monitor.check_model_store() or "")
    store.close()


def test_deployment_binding(tmp_path):
    store = Store(tmp_path / "c.sqlite", tmp_path / "models", namespace="1:0xabc")
    first = Deployment(1, "0xabc", 5, "0x" + "aa" * 32, "0x" + "cc" * 32)
    bind(store, first, "c.sqlite")
    bind(store, first, "c.sqlite")  # the same deployment again: fine
    with pytest.raises(DeploymentMismatch, match="chain was reset or the contract redeployed"):
        bind(store, Deployment(1, "0xabc", 5, "0x" + "bb" * 32, "0x" + "cc" * 32), "c.sqlite")
    store.close()


def test_classify():
    assert classify(requests.exceptions.ConnectionError("refused")) == NODE
    assert classify(sqlite3.DatabaseError("database disk image is malformed")) == DATABASE
    assert classify(ModelStoreError("x")) == MODEL_STORE
    try:
        try:
            raise requests.exceptions.ConnectionError("refused")
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as outer:
        assert classify(outer) == NODE
    assert classify(ValueError("a bug")) is None

"""Is the coordinator's own state intact? The database (SQLite) and the model store (files named by database rows).

- `read_model(path, expected_hash)`: the bytes of a model file, verified against the keccak256 its row records;
  a missing or altered file raises ModelStoreError (the API answers 503, health names the model store).
- `check_database(store)`: a fresh connection (no page cache) runs `PRAGMA quick_check` (at most every
  `every` seconds); a deleted database file or WAL (while in WAL mode, the -wal file exists as long as a
  connection is open) is reported too.
- `check_model_store(store)`: the data folder exists and every model file of this deployment's rounds exists and
  hashes to its row (hashes cached per (size, mtime), so a health check re-reads only changed files).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from eth_utils import keccak

from backend.faults import DatabaseFault, ModelStoreError


def file_hash(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def read_model(path: str | Path, expected_hash: str) -> bytes:
    """The file's bytes, verified against `expected_hash` (keccak256, 0x-hex). Bytes equal to what this process
    already verified (or wrote) under that path and hash pass without hashing them again (a comparison of bytes
    costs a fraction of keccak: the three stations download each global model, ~10 ms of hashing per copy of a
    2.6 MB model); any other content is hashed."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelStoreError(f"model file {path} cannot be read ({type(exc).__name__}: {exc})") from None
    expected = expected_hash.lower()
    with _VERIFIED_LOCK:
        known = _VERIFIED.get(str(path))
    if known is not None and known[0] == expected and known[1] == data:
        return data
    actual = file_hash(data)
    if actual != expected:
        raise ModelStoreError(f"model file {path} is corrupt: it hashes to {actual}, its record says {expected_hash}")
    remember_verified(path, expected, data)
    return data


# path -> (hash, bytes) of model files this process verified or wrote, most recent last, at most _VERIFIED_MAX bytes
_VERIFIED: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_MAX = 256 * 1024 * 1024


def remember_verified(path: str | Path, expected_hash: str, data: bytes) -> None:
    """`data` hashes to `expected_hash` and was written to (or read from) `path`: read_model compares against it."""
    if len(data) > _VERIFIED_MAX // 4:
        return
    with _VERIFIED_LOCK:
        _VERIFIED.pop(str(path), None)
        _VERIFIED[str(path)] = (expected_hash.lower(), data)
        total = sum(len(d) for _, d in _VERIFIED.values())
        while total > _VERIFIED_MAX and _VERIFIED:
            _, (_, dropped) = _VERIFIED.popitem(last=False)
            total -= len(dropped)


def open_checked(db_path: str) -> None:
    """At start-up: a database that cannot be opened or fails `quick_check` is a clear error."""
    if db_path == ":memory:" or not Path(db_path).exists():
        return
    problem = _quick_check(db_path)
    if problem:
        raise DatabaseFault(f"the database {db_path} is corrupt ({problem}); restore it from a backup or start "
                            "with a fresh --db")


def _quick_check(db_path: str) -> str | None:
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            rows = [r[0] for r in con.execute("PRAGMA quick_check(5)").fetchall()]
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    if rows != ["ok"]:
        return "quick_check: " + "; ".join(str(r) for r in rows)
    return None


class IntegrityMonitor:
    """Cached checks of the database and the model store of one Store."""

    def __init__(self, store: Any, every: float = 10.0) -> None:
        self.store = store
        self.every = every
        self._lock = threading.Lock()
        self._db_checked = -1e18
        self._db_problem: str | None = None
        self._hashes: dict[str, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, hash)

    def check_database(self) -> str | None:
        path = self.store.db_path
        if path == ":memory:":
            return None
        if not Path(path).exists():
            return f"the database file {path} was deleted; state written from now on would be lost"
        wal = path + "-wal"
        try:
            mode = self.store._one("PRAGMA journal_mode")[0]
        except sqlite3.Error as exc:
            return f"{type(exc).__name__}: {exc}"
        if str(mode).lower() == "wal" and not Path(wal).exists():
            return (f"the write-ahead log {wal} was deleted while the coordinator runs; training state kept only "
                    "there is lost when this process exits")
        with self._lock:
            now = time.monotonic()
            if now - self._db_checked >= self.every:
                self._db_problem = _quick_check(path)
                self._db_checked = now
            return self._db_problem

    def model_files(self) -> list[tuple[str, str]]:
        files: list[tuple[str, str]] = []
        for tr in self.store.trainings():
            files += [(g.path, g.hash) for g in self.store.globals_of(tr.round_id)]
            files += [(u.path, u.update_hash) for u in self.store.uploads(tr.round_id)]
        return files

    def check_model_store(self) -> str | None:
        data_dir = Path(self.store.data_dir)
        if not data_dir.is_dir():
            return f"the model folder {data_dir} is missing"
        for path, expected in self.model_files():
            try:
                st = os.stat(path)
            except OSError:
                return f"model file {path} is missing"
            cached = self._hashes.get(path)
            if cached is None or cached[:2] != (st.st_size, st.st_mtime_ns):
                try:
                    h = file_hash(Path(path).read_bytes())
                except OSError as exc:
                    return f"model file {path} cannot be read ({exc})"
                cached = (st.st_size, st.st_mtime_ns, h)
                self._hashes[path] = cached
            if cached[2] != expected.lower():
                return f"model file {path} is corrupt: it hashes to {cached[2]}, its record says {expected}"
        return None

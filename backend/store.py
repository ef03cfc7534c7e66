"""The coordinator's own state: SQLite (stdlib sqlite3) plus a folder of model files.

Specs are global (content-addressed by ω); everything about rounds is kept per deployment
(`namespace` = "chainId:contract"), so one database can serve several contracts without mixing
round ids. Model files are written atomically (temp file + rename) before the row naming them.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS specs (
    omega TEXT PRIMARY KEY,
    spec_json TEXT NOT NULL,
    training_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trainings (
    ns TEXT NOT NULL,
    round_id INTEGER NOT NULL,
    omega TEXT NOT NULL,
    status TEXT NOT NULL,            -- training | done | abandoned
    g INTEGER NOT NULL,              -- current global round (t once done)
    t INTEGER NOT NULL,
    label_mask TEXT NOT NULL,
    stations_json TEXT NOT NULL,     -- revealed stations in join order
    opened_at REAL NOT NULL,         -- wall time the current g opened
    result_json TEXT,
    updated REAL NOT NULL,
    PRIMARY KEY (ns, round_id)
);
CREATE TABLE IF NOT EXISTS globals (
    ns TEXT NOT NULL,
    round_id INTEGER NOT NULL,
    g INTEGER NOT NULL,              -- the global model that starts global round g (g = t: final)
    hash TEXT NOT NULL,
    path TEXT NOT NULL,
    accuracy REAL,                   -- validation accuracy of this model (NULL for g = 0)
    created REAL NOT NULL,
    PRIMARY KEY (ns, round_id, g)
);
CREATE TABLE IF NOT EXISTS uploads (
    ns TEXT NOT NULL,
    round_id INTEGER NOT NULL,
    g INTEGER NOT NULL,
    station TEXT NOT NULL,
    samples INTEGER NOT NULL,
    accuracy_bps INTEGER NOT NULL,
    update_hash TEXT NOT NULL,
    path TEXT NOT NULL,
    received REAL NOT NULL,
    PRIMARY KEY (ns, round_id, g, station)
);
"""


@dataclass
class TrainingRow:
    round_id: int
    omega: str
    status: str
    g: int
    t: int
    label_mask: int
    stations: list[str]
    opened_at: float
    result: dict[str, Any] | None = None


@dataclass
class UploadRow:
    round_id: int
    g: int
    station: str
    samples: int
    accuracy_bps: int
    update_hash: str
    path: str
    received: float


@dataclass
class GlobalRow:
    round_id: int
    g: int
    hash: str
    path: str
    accuracy: float | None
    extra: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self, db_path: str | Path, data_dir: str | Path, namespace: str = "default") -> None:
        self.db_path = str(db_path)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.ns = namespace
        self.spec_version = 0  # bumped on every put_spec (backend/read_views.py keys its caches on it)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def set_namespace(self, namespace: str) -> None:
        self.ns = namespace

    # ------------------------------------------------------------ helpers
    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def round_dir(self, round_id: int) -> Path:
        safe_ns = self.ns.replace(":", "-")
        path = self.data_dir / safe_ns / f"round-{round_id}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def write_file(path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + f".tmp{os.getpid()}-{threading.get_ident()}")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def _checkpoint(self) -> None:
        """Copy the WAL into the main file after a training-state transaction: a deleted or lost -wal file then
        loses nothing already committed (backend/integrity.py reports the deletion itself)."""
        if self.db_path != ":memory:":
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # never fails the transaction it follows; health reports a broken database
                pass

    # ------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------ specs
    def put_spec(self, omega: str, spec: dict[str, Any], training: dict[str, Any]) -> None:
        self._exec(
            "INSERT INTO specs(omega, spec_json, training_json, created) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(omega) DO NOTHING",  # ω commits to the pair: a stored pair is never replaced
            (omega.lower(), json.dumps(spec, sort_keys=True), json.dumps(training, sort_keys=True), time.time()),
        )
        self.spec_version += 1

    def get_spec(self, omega: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        row = self._one("SELECT spec_json, training_json FROM specs WHERE omega = ?", (omega.lower(),))
        if row is None:
            return None
        return json.loads(row["spec_json"]), json.loads(row["training_json"])

    # ------------------------------------------------------------ training state
    def _training(self, row: sqlite3.Row) -> TrainingRow:
        return TrainingRow(
            round_id=int(row["round_id"]), omega=row["omega"], status=row["status"], g=int(row["g"]), t=int(row["t"]),
            label_mask=int(row["label_mask"]), stations=json.loads(row["stations_json"]), opened_at=float(row["opened_at"]),
            result=json.loads(row["result_json"]) if row["result_json"] else None,
        )

    def get_training(self, round_id: int) -> TrainingRow | None:
        row = self._one("SELECT * FROM trainings WHERE ns = ? AND round_id = ?", (self.ns, round_id))
        return None if row is None else self._training(row)

    def trainings(self, status: str | None = None) -> list[TrainingRow]:
        if status is None:
            rows = self._all("SELECT * FROM trainings WHERE ns = ? ORDER BY round_id", (self.ns,))
        else:
            rows = self._all("SELECT * FROM trainings WHERE ns = ? AND status = ? ORDER BY round_id", (self.ns, status))
        return [self._training(r) for r in rows]

    def open_training(self, tr: TrainingRow, initial: GlobalRow) -> None:
        """Create a round's training state and its g = 0 model in one transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO trainings(ns, round_id, omega, status, g, t, label_mask, stations_json, opened_at, result_json, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    (self.ns, tr.round_id, tr.omega, tr.status, tr.g, tr.t, str(tr.label_mask), json.dumps(tr.stations), tr.opened_at,
                     time.time()),
                )
                self._insert_global(initial)
                self._db.execute("COMMIT")
                self._checkpoint()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _insert_global(self, gr: GlobalRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO globals(ns, round_id, g, hash, path, accuracy, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.ns, gr.round_id, gr.g, gr.hash, gr.path, gr.accuracy, time.time()),
        )

    def advance_training(self, round_id: int, next_global: GlobalRow, *, done: bool = False,
                         result: dict[str, Any] | None = None) -> None:
        """Record the global model that closes a global round and open the next one (or finish)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._insert_global(next_global)
                self._db.execute(
                    "UPDATE trainings SET g = ?, opened_at = ?, status = ?, result_json = ?, updated = ? WHERE ns = ? AND round_id = ?",
                    (next_global.g, time.time(), "done" if done else "training",
                     json.dumps(result) if result is not None else None, time.time(), self.ns, round_id),
                )
                self._db.execute("COMMIT")
                self._checkpoint()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def set_status(self, round_id: int, status: str) -> None:
        self._exec("UPDATE trainings SET status = ?, updated = ? WHERE ns = ? AND round_id = ?", (status, time.time(), self.ns, round_id))

    def globals_of(self, round_id: int) -> list[GlobalRow]:
        rows = self._all("SELECT * FROM globals WHERE ns = ? AND round_id = ? ORDER BY g", (self.ns, round_id))
        return [GlobalRow(int(r["round_id"]), int(r["g"]), r["hash"], r["path"], r["accuracy"]) for r in rows]

    def get_global(self, round_id: int, g: int) -> GlobalRow | None:
        r = self._one("SELECT * FROM globals WHERE ns = ? AND round_id = ? AND g = ?", (self.ns, round_id, g))
        return None if r is None else GlobalRow(int(r["round_id"]), int(r["g"]), r["hash"], r["path"], r["accuracy"])

    # ------------------------------------------------------------ uploads
    def add_upload(self, up: UploadRow) -> bool:
        """Insert an upload; False when the station already uploaded for that g."""
        try:
            self._exec(
                "INSERT INTO uploads(ns, round_id, g, station, samples, accuracy_bps, update_hash, path, received) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.ns, up.round_id, up.g, up.station, up.samples, up.accuracy_bps, up.update_hash, up.path, up.received),
            )
        except sqlite3.IntegrityError:
            return False
        self._checkpoint()
        return True

    def uploads(self, round_id: int, g: int | None = None) -> list[UploadRow]:
        if g is None:
            rows = self._all("SELECT * FROM uploads WHERE ns = ? AND round_id = ? ORDER BY g, received", (self.ns, round_id))
        else:
            rows = self._all("SELECT * FROM uploads WHERE ns = ? AND round_id = ? AND g = ? ORDER BY received", (self.ns, round_id, g))
        return [
            UploadRow(int(r["round_id"]), int(r["g"]), r["station"], int(r["samples"]), int(r["accuracy_bps"]),
                      r["update_hash"], r["path"], float(r["received"]))
            for r in rows
        ]

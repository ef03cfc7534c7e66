"""Real edge-client processes (`hcfl edge-client`) against a station cell (fl_worker.edge.cell.EdgeCell)
running in the test process on loopback ports."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount

from fl_worker.data import load_digits
from fl_worker.edge.cell import CellConfig, EdgeCell
from fl_worker.models import ModelSpec, build_model, state_of

ROOT = Path(__file__).resolve().parents[2]
SPEC = ModelSpec(arch="mlp", input_shape=(1, 8, 8), hidden=(32,), init_seed=1)
CONTRACT = "0x" + "ab" * 20
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "FLWR_TELEMETRY_ENABLED": "0"}


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    log_path: Path
    address: str

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def write_key(folder: Path, name: str) -> tuple[Path, LocalAccount]:
    account = Account.create()
    path = folder / f"{name}.key"
    path.write_text(account.key.hex())
    return path, account


def write_digits(folder: Path, part: int, parts: int = 2, limit: int | None = None) -> Path:
    train = load_digits(seed=0).train
    folder.mkdir(parents=True, exist_ok=True)
    X, y = train.X[part::parts].numpy(), train.y[part::parts].numpy()
    np.savez(folder / "data.npz", X=X[:limit], y=y[:limit])
    return folder


@pytest.fixture
def cell_factory() -> Iterator[Callable[..., EdgeCell]]:
    cells: list[EdgeCell] = []

    def make(min_clients: int = 1, timeout: float = 20.0) -> EdgeCell:
        cell = EdgeCell(Account.create(), CellConfig(min_clients=min_clients, round_timeout=timeout))
        cell.start()
        cells.append(cell)
        return cell

    yield make
    for cell in cells:
        cell.stop()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(args: list[str], name: str, address: str = "") -> Proc:
        log_path = tmp_path / f"{name}.log"
        proc = subprocess.Popen(args, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, env=ENV, cwd=ROOT)
        p = Proc(proc, log_path, address)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


def edge_client(spawn: Callable[..., Proc], tmp: Path, cell: EdgeCell, name: str, data: Path, *extra: str) -> Proc:
    key, account = write_key(tmp, name)
    return spawn([sys.executable, "-m", "hcfl.cli", "edge-client", "--station", f"http://{cell.http_address}",
                  "--key", str(key), "--data", str(data), "--report", str(tmp / f"{name}.json"), *extra], name,
                 account.address)


def initial_state() -> dict[str, torch.Tensor]:
    return state_of(build_model(SPEC))


def run_round(cell: EdgeCell, g: int, state: dict[str, torch.Tensor], edge_rounds: int = 1):
    return cell.train_global_round(chain_id=31337, contract=CONTRACT, round_id=7, g=g, spec=SPEC, label_mask=0x3FF,
                                   global_state=state, edge_rounds=edge_rounds, local_epochs=1, batch_size=32, lr=0.1,
                                   seed=3)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def digits():
    return load_digits(seed=0)

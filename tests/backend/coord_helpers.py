"""Helpers for the coordinator tests: servers on loopback, participants that sign their own
transactions, and base stations that really train (fl_worker.StationTrainer) and sign their uploads."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.health import wait_until_serving
from hcfl.chain.v2.client import CoreClient
from hcfl.chain.v2.client import ParticipantV2 as Participant
from hcfl.protocol import CampaignConfig, ProposalSpec, Role, download_message, new_salt, sign, update_message

ROOT = Path(__file__).resolve().parents[2]
GWEI = 10**9
SPEC = {"arch": "mlp", "input_shape": [1, 8, 8], "hidden": [32], "init_seed": 7}
PLAN = {"dataset": "digits", "clients_per_station": 2, "partition": "iid", "seed": 0, "edge_rounds": 1,
        "local_epochs": 1, "batch_size": 32, "lr": 0.1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_health(base: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> dict[str, Any]:
    return wait_until_serving(base, proc=proc, timeout=timeout)


class ThreadServer:
    """uvicorn serving an app in a background thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadServer":
        self.thread.start()
        wait_health(self.base)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


def start_coordinator(args: list[str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """`hcfl serve` as a subprocess on a free port; returns (process, base URL)."""
    port = free_port()
    cmd = [sys.executable, "-m", "hcfl.cli", "serve", "--port", str(port), *args]
    env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_health(base, proc=proc)
    return proc, base


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def fund(w3: Web3, funder: LocalAccount, addresses: list[str], amount: int = 10**20) -> None:
    nonce = w3.eth.get_transaction_count(funder.address, "pending")
    hashes = []
    for i, a in enumerate(addresses):
        tx = {"to": a, "value": amount, "gas": 21_000, "gasPrice": w3.eth.gas_price, "nonce": nonce + i,
              "chainId": w3.eth.chain_id}
        hashes.append(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    for h in hashes:
        assert w3.eth.wait_for_transaction_receipt(h, timeout=60)["status"] == 1


def personal_sign(account: LocalAccount, message: str) -> str:
    return sign(account, message)


def get_global(base: str, rid: int, g: int, account: LocalAccount | None, wait: float = 0) -> httpx.Response:
    """GET a global model < t as `account` (a selected station signs the download message), or unsigned; `wait`:
    long-poll for a model not produced yet."""
    headers = {}
    if account is not None:
        info = httpx.get(f"{base}/api/chain", timeout=30).json()
        msg = download_message(info['chain_id'], info['contract'], rid)
        headers = {"X-HCFL-Station": account.address, "X-HCFL-Signature": personal_sign(account, msg)}
    return httpx.get(f"{base}/api/rounds/{rid}/models/global/{g}", headers=headers, timeout=60 + wait,
                     params={"wait": wait} if wait else None)


def round_phase(base: str, rid: int) -> str:
    return httpx.get(f"{base}/api/rounds/{rid}", timeout=30).json()["phase"]


def wait_phase(base: str, rid: int, phase: str, timeout: float = 60.0, nudge: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = round_phase(base, rid)
        if current == phase:
            return
        if nudge is not None:
            nudge()
        time.sleep(0.2)
    raise TimeoutError(f"round {rid} still in {current}, expected {phase}")


@dataclass
class RoundSetup:
    rid: int
    omega: str
    owners: list[Participant]
    stations: list[Participant]
    outsider_station: Participant  # joined as a station but never committed: not selected
    stranger: LocalAccount  # never joined
    claims: dict[str, tuple[list[int], bytes]] = field(default_factory=dict)


def make_round(base: str, client: CoreClient, funder: LocalAccount, *, global_rounds: int = 2, label_mask: int = 0x3FF,
               cfg: CampaignConfig | None = None, spec: dict | None = None, plan: dict | None = None,
               skip_time: Any = None) -> RoundSetup:
    """Post the spec, create a campaign and open its round, join 2 owners + 3 stations, propose, commit, reveal; the coordinator's
    deadline driver moves the phases. `skip_time(seconds)` fast-forwards a dev chain between phases."""
    r = httpx.post(f"{base}/api/specs", json={"spec": spec or SPEC, "training": plan or PLAN}, timeout=30)
    assert r.status_code == 201, r.text
    omega = r.json()["omega"]
    accounts = [Account.create() for _ in range(6)]
    fund(client.w3, funder, [a.address for a in accounts[:5]])
    owners = [client.as_participant(a) for a in accounts[:2]]
    stations = [client.as_participant(a) for a in accounts[2:5]]
    cfg = cfg or CampaignConfig(join_duration=6, propose_duration=4, commit_duration=5, reveal_duration=5,
                                train_duration=1800, vote_commit_duration=5, vote_reveal_duration=5)
    rid = owners[0].open_round(owners[0].create_campaign(cfg))
    for p in owners:
        p.join(rid, Role.OWNER, deposit=10**18)
    for p in stations:
        p.join(rid, Role.STATION, deposit=10**18)

    def phase(name: str, seconds: int) -> None:
        if skip_time is not None:
            skip_time(seconds)
        wait_phase(base, rid, name)

    phase("Proposing", cfg.join_duration)
    owners[0].propose(rid, ProposalSpec(spec_hash=bytes.fromhex(omega[2:]), uri=f"/api/specs/{omega}",
                                        promised_acc_bps=5000, global_rounds=global_rounds, label_mask=label_mask), bond=10**16)
    phase("Committing", cfg.propose_duration)
    setup = RoundSetup(rid, omega, owners, stations[:2], stations[2], accounts[5])
    values = {owners[0].address: [120 * GWEI], owners[1].address: [90 * GWEI],
              stations[0].address: [20 * GWEI], stations[1].address: [25 * GWEI]}
    for p in owners + stations[:2]:
        salt = new_salt()
        setup.claims[p.address] = (values[p.address], salt)
        p.commit_claims(rid, values[p.address], salt)
    phase("Revealing", cfg.commit_duration)
    for p in owners + stations[:2]:
        claims, salt = setup.claims[p.address]
        p.reveal(rid, claims, salt)
    phase("Training", cfg.reveal_duration)
    return setup


class Station:
    """A base station written as plain Python: trains with fl_worker.StationTrainer, signs with its own key,
    uploads over HTTP and reports on chain with its own transaction."""

    def __init__(self, participant: Participant, index: int, n: int, label_mask: int = 0x3FF) -> None:
        import torch

        from fl_worker.data import load_digits
        from fl_worker.hfl import StationConfig, StationTrainer
        from fl_worker.local import TrainConfig
        from fl_worker.models import ModelSpec
        from fl_worker.partition import partition_iid

        torch.set_num_threads(1)
        self.p = participant
        self.account = participant.account
        data = load_digits(seed=PLAN["seed"]).train
        parts = partition_iid(len(data), n, PLAN["clients_per_station"], seed=PLAN["seed"])
        clients = [data.subset(torch.as_tensor(idx)) for idx in parts[index]]
        config = StationConfig(edge_rounds=1, train=TrainConfig(local_epochs=1, batch_size=32, lr=0.1), seed=0)
        self.spec = ModelSpec.model_validate(SPEC)
        self.trainer = StationTrainer(self.spec, clients, config, station_id=index, labels_mask=label_mask)
        self.uploaded: list[int] = []

    def train(self, base: str, task: dict[str, Any]) -> tuple[bytes, str, int, int]:
        from fl_worker.wire import decode_state, state_hash

        rid, g = task["round_id"], task["global_round"]
        r = get_global(base, rid, g, self.account)
        assert r.status_code == 200, r.text
        assert r.headers["X-HCFL-Model-Hash"] == task["global_model_hash"] == state_hash(r.content)
        state = decode_state(r.content, self.spec, task["global_model_hash"])
        result = self.trainer.train_global_round(state, g)
        body = result.encode()
        return body, state_hash(body), result.samples, result.local_accuracy_bps

    def upload_headers(self, chain_id: int, contract: str, rid: int, g: int, update_hash: str, samples: int,
                       acc_bps: int, signer: LocalAccount | None = None) -> dict[str, str]:
        msg = update_message(chain_id, contract, rid, g, update_hash, samples, acc_bps)
        return {"Content-Type": "application/octet-stream", "X-HCFL-Station": self.account.address,
                "X-HCFL-Samples": str(samples), "X-HCFL-Accuracy-Bps": str(acc_bps),
                "X-HCFL-Signature": personal_sign(signer or self.account, msg)}

    def step(self, base: str, rid: int, chain_id: int, contract: str) -> str:
        r = httpx.get(f"{base}/api/rounds/{rid}/task", params={"station": self.account.address}, timeout=30)
        assert r.status_code == 200, r.text
        task = r.json()
        if task["status"] != "train":
            return task["status"]
        g = task["global_round"]
        body, h, samples, acc = self.train(base, task)
        r = httpx.put(f"{base}/api/rounds/{rid}/updates/{g}", content=body,
                      headers=self.upload_headers(chain_id, contract, rid, g, h, samples, acc), timeout=60)
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": True, "update_hash": h, "global_round": g}
        self.p.report_training(rid, g, bytes.fromhex(h[2:]), samples, acc)
        self.uploaded.append(g)
        return "train"


def run_stations(base: str, rid: int, stations: list[Station], chain_id: int, contract: str,
                 until: Any = None, timeout: float = 240.0) -> None:
    """Step every station until all report done (or `until()` is true)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [s.step(base, rid, chain_id, contract) for s in stations]
        if until is not None and until():
            return
        if all(st == "done" for st in statuses):
            return
        if "train" not in statuses:
            time.sleep(0.2)
    raise TimeoutError("stations did not finish")

"""The end-to-end demo (`hcfl demo`): a whole crowdfunding round with real processes.

It starts the coordinator (`hcfl serve`) as a subprocess on the embedded chain (or on an anvil it
spawns), then plays three model owners and three base stations with their own keys: join with deposits,
publish two model specs and propose them, commit and reveal sealed claims. The contract selects and
settles (contract v2: HCFLCore, Posted payment rule, stake-backed shares, contribution scores for the
stations); three real aggregator daemons (`hcfl aggregator --edge` subprocesses, talking HTTP on loopback),
each the Flower server of a cell with two real edge devices (`hcfl edge-client` subprocesses holding their
own data folders, written from scikit-learn digits), train the selected model and report on chain; every
edge device verifies the Merkle proof that its update was included in each global round; the winner finalizes with the
coordinator's published result; the other owners download the model, evaluate it on their own data and
vote; everybody withdraws; the auditor recomputes everything.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tqdm import tqdm
from web3 import Web3

from backend.health import wait_until_serving
from hcfl.chain.accounts import derive_key, fund
from hcfl.chain.client import ContractRevert
from hcfl.chain.provider import Chain, anvil_key, spawn_anvil
from hcfl.chain.v2.client import CoreClient
from hcfl.chain.v2.client import ParticipantV2 as Participant
from hcfl.net import free_port
from hcfl.protocol import CampaignConfig, PaymentRule, ProposalSpec, Role, ShareRule, download_message, new_salt, sign

log = logging.getLogger(__name__)
GWEI = 10**9
HCFL = [sys.executable, "-m", "hcfl.cli"]

SPEC = {"arch": "mlp", "input_shape": [1, 8, 8], "hidden": [64], "init_seed": 7}
PLAN: dict[str, Any] = {"dataset": "digits", "seed": 0, "edge_rounds": 2, "local_epochs": 2, "batch_size": 32, "lr": 0.1,
        "simulation": {"clients_per_station": 2, "partition": "dirichlet", "alpha": 1.0}}
EDGE_CLIENTS = 2  # edge devices per station
ALL_LABELS = 0x3FF
LOW_LABELS = 0x01F  # digits 0-4
# sealed claims (wei) for proposal 0 (all ten digits) and proposal 1 (digits 0-4)
OWNER_CLAIMS = {"owner-1": [120 * GWEI, 40 * GWEI], "owner-2": [90 * GWEI, 110 * GWEI], "owner-3": [80 * GWEI, 20 * GWEI]}
STATION_CLAIMS = {"station-1": [50 * GWEI, 30 * GWEI], "station-2": [40 * GWEI, 35 * GWEI], "station-3": [55 * GWEI, 30 * GWEI]}
PRICES = [150 * GWEI, 90 * GWEI]  # posted prices of proposal 0 and 1 (the Posted rule's C)
DEPOSIT = 10**18
BOND = 10**16
# the demo's campaign: Posted (the default), stake-backed owner shares, contribution-scored station shares,
# minimum deposits and bond of 0.01 ETH, a price cap of 1,000 ETH; the windows are long because the
# coordinator moves the dev chain's clock once everybody acted (--fast-forward)
CAMPAIGN = CampaignConfig(join_duration=3600, propose_duration=3600, commit_duration=3600, reveal_duration=3600,
                          train_duration=3 * 3600, vote_commit_duration=3600, vote_reveal_duration=3600,
                          payment_rule=PaymentRule.POSTED, owner_share_rule=ShareRule.STAKE,
                          station_share_rule=ShareRule.CONTRIBUTION, min_owner_deposit=10**16,
                          min_station_deposit=10**16, min_bond=10**16, max_price=10**21, vote_deposit=10**15)


@dataclass
class DemoReport:
    chain: str
    contract: str
    round_id: int
    selected: int | None
    surplus: list[int]
    taxes: dict[str, int]
    total_payment: int | None
    owner_payments: dict[str, int]
    station_rewards: dict[str, int]
    promised_accuracy: float | None
    final_accuracy: float | None
    accuracy_curve: list[float | None]
    owner_evaluations: dict[str, float]
    votes: dict[str, bool]
    punished: bool | None
    withdrawn: dict[str, int]
    transactions: int
    audit: dict[str, Any]
    seconds: float
    logs: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Demo:
    """Runs one demo round; `run()` returns the report. Everything it starts, it stops."""

    def __init__(self, chain: str = "embedded", quick: bool = False, workdir: Path | None = None,
                 progress: bool = True, local_epochs: int | None = None, hidden: tuple[int, ...] | None = None,
                 global_rounds: int | None = None) -> None:
        self.chain_kind = chain
        self.quick = quick
        # the workload (benchmarks: `hcfl bench system --local-epochs E --hidden W,W`); the defaults are the demo's
        self.spec: dict[str, Any] = {**SPEC, "hidden": list(hidden)} if hidden else dict(SPEC)
        self.plan: dict[str, Any] = {**PLAN, "local_epochs": int(local_epochs)} if local_epochs else dict(PLAN)
        self.progress = progress
        self.global_rounds = global_rounds or (2 if quick else 5)
        self._tmp = tempfile.TemporaryDirectory(prefix="hcfl-demo-") if workdir is None else None
        if workdir is not None:
            # a fresh folder each run: a coordinator database from an earlier run on a fresh embedded chain
            # (same deterministic contract address) would otherwise be resumed
            workdir.mkdir(parents=True, exist_ok=True)
            workdir = Path(tempfile.mkdtemp(prefix=time.strftime("run-%Y%m%d-%H%M%S-"), dir=workdir))
        if self._tmp is not None:
            workdir = Path(self._tmp.name)
        assert workdir is not None
        self.workdir: Path = workdir
        self.procs: list[Any] = []  # subprocess.Popen, or demo_procs.Worker (forked)
        self.anvil: Chain | None = None
        self.base = ""
        self.names = [*OWNER_CLAIMS, *STATION_CLAIMS]
        self.forked = True  # workers forked from a preloaded forkserver (backend/demo_procs.py)
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ processes
    def _spawn(self, args: list[str], log_name: str, forked: bool = False) -> Any:
        """`hcfl ARGS` as its own process logging to `log_name`; `forked`: from the forkserver that imported the
        workers' modules once (backend/demo_procs.py), else a fresh interpreter."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        node_bin = str(Path(__file__).resolve().parents[1] / "node_modules" / ".bin")
        env["PATH"] = node_bin + os.pathsep + env.get("PATH", "")
        if forked:
            from backend.demo_procs import Worker

            worker = Worker(args, self.workdir / log_name, env={"PATH": env["PATH"], "PYTHONUNBUFFERED": "1"})
            self.procs.append(worker)
            return worker
        out = open(self.workdir / log_name, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([*HCFL, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        return proc

    def _start_coordinator(self) -> None:
        port = free_port()
        chain_arg = "embedded"
        if self.chain_kind == "anvil":
            self.anvil = spawn_anvil()
            chain_arg = self.anvil.rpc_url or ""
        elif self.chain_kind != "embedded":
            chain_arg = self.chain_kind
        self.coordinator = self._spawn(
            ["serve", "--chain", chain_arg, "--port", str(port), "--db", str(self.workdir / "coordinator.sqlite"),
             "--data-dir", str(self.workdir / "models"), "--poll", "0.3", "--round-timeout", "120", "--fast-forward",
             "--fast-forward-quiet", "8", "--expect-joins", str(len(self.names)), "--expect-proposals", "2",
             "--log-level", "warning"],
            "coordinator.log",
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_until_serving(self.base, proc=self.coordinator, timeout=180, log_path=self.workdir / "coordinator.log")
        info = self._api().get(f"{self.base}/api/chain", timeout=10).json()
        rpc = self.anvil.rpc_url if self.anvil and self.anvil.rpc_url else f"{self.base}/rpc"
        self.rpc_url: str = rpc
        self.w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 120}))
        self.client = CoreClient(self.w3, info["contract"])
        self.chain_id = int(info["chain_id"])

    def _funder(self) -> LocalAccount:
        # not the coordinator's gas payer (dev account 0), so their nonces never race
        if self.chain_kind == "embedded":
            return Account.from_key((2).to_bytes(32, "big"))
        return anvil_key(1)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.forked:
            from backend.demo_procs import stop_server

            stop_server()
        if self.anvil is not None:
            self.anvil.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ------------------------------------------------------------------ helpers
    def _api(self) -> httpx.Client:
        """One keep-alive client for every request to the coordinator (httpx.get builds a client, with its TLS
        context, per call: the progress polls cost the shared cores more than the requests themselves)."""
        if self._client is None:
            self._client = httpx.Client(timeout=30)
        return self._client

    def _phase(self, rid: int) -> str:
        return str(self._api().get(f"{self.base}/api/rounds/{rid}", timeout=30).json()["phase"])

    def _wait_phase(self, rid: int, *phases: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self._phase(rid)
            if current in phases:
                return current
            if self.coordinator.poll() is not None:
                raise RuntimeError(f"the coordinator exited; see {self.workdir / 'coordinator.log'}")
            time.sleep(0.3)
        raise TimeoutError(f"round {rid} did not reach {phases} within {timeout} s (still {current})")

    def _evaluate_final(self, rid: int, owner: LocalAccount, labels_mask: int, sample_seed: int) -> float:
        """An owner downloads the final model (it paid) and measures it on its own data."""
        import torch

        from fl_worker.data import load_dataset
        from fl_worker.data.base import Split
        from fl_worker.local import evaluate
        from fl_worker.models import ModelSpec
        from fl_worker.wire import decode_state

        msg = download_message(self.chain_id, self.client.address, rid)
        r = self._api().get(f"{self.base}/api/rounds/{rid}/models/final", timeout=60,
                      headers={"X-HCFL-Owner": owner.address, "X-HCFL-Signature": sign(owner, msg)})
        r.raise_for_status()
        spec = ModelSpec(**self.spec)
        state = decode_state(r.content, spec, r.headers.get("X-HCFL-Model-Hash"))
        test = load_dataset("digits", seed=PLAN["seed"]).test
        g = torch.Generator().manual_seed(sample_seed)
        pick = torch.randperm(len(test.y), generator=g)[: max(50, len(test.y) * 2 // 3)]  # this owner's own samples
        return float(evaluate(state, Split(test.X[pick], test.y[pick]), labels_mask, spec=spec))

    def _count_transactions(self, from_block: int) -> int:
        latest = self.w3.eth.block_number
        return sum(len(self.w3.eth.get_block(b)["transactions"]) for b in range(from_block, latest + 1))

    # ------------------------------------------------------------------ the round
    def run(self) -> DemoReport:
        with _console_quiet(self.workdir / "demo.log", self.progress):
            return self._run()

    def _run(self) -> DemoReport:
        t0 = time.monotonic()
        logging.getLogger("httpx").setLevel(logging.WARNING)
        bar = tqdm(total=10, desc="demo", unit="step", disable=not self.progress)

        def step(text: str) -> None:
            bar.set_postfix_str(text)
            bar.update()
            log.info(text)

        try:
            if self.forked:
                from backend.demo_procs import warm_up

                warm_up()  # the forkserver imports torch and Flower while the coordinator starts
            self._start_coordinator()
            step("coordinator up")
            start_block = self.w3.eth.block_number
            keys = {n: derive_key(n, namespace=f"hcfl-demo-{self.client.address}") for n in self.names}
            fund(Chain(kind="rpc", w3=self.w3, funder=self._funder()), [k.address for k in keys.values()], 10 * 10**18)
            people: dict[str, Participant] = {n: self.client.as_participant(k) for n, k in keys.items()}
            by_addr = {p.address: n for n, p in people.items()}

            cid = people["owner-1"].create_campaign(CAMPAIGN)
            rid = people["owner-1"].open_round(cid)
            for n, p in people.items():
                p.join(rid, Role.OWNER if n in OWNER_CLAIMS else Role.STATION, deposit=DEPOSIT)
            step(f"campaign {cid}, round {rid}: 3 owners and 3 stations joined")
            # the stations' daemons and edge devices start now (after their stations joined: a daemon asking for
            # work of a round its station is not in exits): they wait for Training, so the chain phases (which
            # the coordinator ends as soon as everybody expected acted) never wait for them
            self._start_cells(rid, keys)
            step(f"3 aggregator daemons and {3 * EDGE_CLIENTS} edge devices started")
            self._wait_phase(rid, "Proposing")
            omega = self._api().post(f"{self.base}/api/specs", json={"spec": self.spec, "training": self.plan}, timeout=30).json()["omega"]
            for (n, mask, acc), price in zip((("owner-1", ALL_LABELS, 8500), ("owner-2", LOW_LABELS, 9500)), PRICES):
                people[n].propose(rid, ProposalSpec(spec_hash=bytes.fromhex(omega[2:]), uri=f"/api/specs/{omega}",
                                                    arch_id=1, promised_acc_bps=acc, global_rounds=self.global_rounds,
                                                    label_mask=mask, price=price), bond=BOND)
            step("two proposals posted")
            self._wait_phase(rid, "Committing")
            from backend import demo_edge_pay

            station_addrs = {n: keys[n].address for n in STATION_CLAIMS}
            sealed = demo_edge_pay.wait_sealed(self.w3, self.edge_payouts, rid, station_addrs, self.edge, revealed=False)
            claims = {**OWNER_CLAIMS, **STATION_CLAIMS}
            salts = {n: new_salt() for n in self.names}
            for n, p in people.items():
                p.commit_claims(rid, claims[n], salts[n])
            step("sealed claims committed")
            self._wait_phase(rid, "Revealing")
            demo_edge_pay.wait_sealed(self.w3, self.edge_payouts, rid, station_addrs, self.edge, revealed=True)
            log.info("%d edge device(s) sealed and revealed their cost claims in the round's windows", sealed)
            for n, p in people.items():
                p.reveal(rid, claims[n], salts[n])
            phase = self._wait_phase(rid, "Training", "Finished")
            detail = self._api().get(f"{self.base}/api/rounds/{rid}", timeout=30).json()
            selected = detail["selected"]
            total = int(detail["total_payment"])
            step(f"settled: proposal {selected} selected, C = {total} wei")
            report = DemoReport(
                chain=self.chain_kind, contract=self.client.address, round_id=rid, selected=selected,
                surplus=[int(x) for x in detail["surplus"]], taxes={}, total_payment=total if phase == "Training" else None,
                owner_payments={}, station_rewards={}, promised_accuracy=None, final_accuracy=None,
                accuracy_curve=[], owner_evaluations={}, votes={}, punished=None, withdrawn={}, transactions=0,
                audit={}, seconds=0.0,
            )
            report.extra["campaign_id"] = cid
            report.extra["owner_discount"] = int(detail["owner_discount"])
            if phase == "Training":
                self._train_vote(rid, people, keys, by_addr, report, step)
            else:
                bar.update(4)
            self._claim_all(rid, people, report)
            step("everyone claimed and withdrew")
            if phase == "Training":  # the stations' rewards are final: their daemons split and post them
                report.extra["edge_payouts"] = demo_edge_pay.collect(self.w3, self.edge_payouts, rid, self.edge,
                                                                     self.workdir)
            from backend.audit_v2 import audit_v2

            result = audit_v2(self.client)
            report.audit = json.loads(result.model_dump_json())
            report.audit["ok"] = bool(result.ok)
            report.transactions = self._count_transactions(start_block)
            report.seconds = round(time.monotonic() - t0, 1)
            step(f"audit: {'ok' if report.audit['ok'] else 'MISMATCH'}")
            return report
        finally:
            bar.close()
            self.close()

    def _claim_all(self, rid: int, people: dict[str, Participant], report: DemoReport) -> None:
        """Lazy settlement: every participant claims its own result (stations prove their contribution score)
        and withdraws its credit; payments, taxes and rewards are then read from the event ledger."""
        from hcfl.ledger.fetch import ledger_of

        result = (report.extra.get("result") or {})
        leaves = {leaf["station"]: leaf for leaf in result.get("score_leaves", [])}
        detail = self._api().get(f"{self.base}/api/rounds/{rid}", timeout=30).json()
        by_score = detail["finalized"] and int(detail["scores_total"]) > 0 and detail["objections"] == 0
        included = {leaf["station"]: leaf for leaf in result.get("inclusion_leaves", [])}
        for n, p in people.items():
            leaf = leaves.get(p.address)
            inc = included.get(p.address)
            if inc is not None:  # the station proves how many aggregates included its update
                p.prove_inclusion(rid, int(inc["included_rounds"]), [bytes.fromhex(x[2:]) for x in inc["proof"]])
            try:
                if by_score and leaf is not None:
                    p.claim_with_score(rid, int(leaf["score"]), int(leaf["prefix_before"]),
                                       [bytes.fromhex(x[2:]) for x in leaf["proof"]])
                else:
                    p.claim(rid)
            except ContractRevert as exc:
                if exc.error != "NothingToClaim":
                    raise
            credit = self.client.credit_of(p.address)
            if credit:
                p.withdraw()
                report.withdrawn[n] = credit
        ledger = ledger_of(self.client)
        r = ledger.rounds[rid]
        # every station report carries the root over its edge clients' leaves (reportTraining's clientsRoot)
        report.extra["reports"] = len(r.reports)
        report.extra["reports_with_clients_root"] = sum(1 for rep in r.reports if rep.clients_root != b"\0" * 32)
        names = {p.address: n for n, p in people.items()}
        for rec in r.participants:
            who = names.get(rec.address)
            if who is None:
                continue
            if rec.settlement is not None:
                report.taxes[who] = rec.settlement.tax
                if rec.role == Role.OWNER:
                    report.owner_payments[who] = rec.settlement.payment
            if rec.reward is not None:
                report.station_rewards[who] = rec.reward.reward

    def _start_cells(self, rid: int, keys: dict[str, LocalAccount]) -> None:
        """Per station: its aggregator daemon (the Flower server of its cell) and EDGE_CLIENTS edge devices, each
        with its own key and its own data folder (the demo writes the folders: a Dirichlet split of digits)."""
        import numpy as np
        import torch

        from fl_worker.data import load_digits
        from fl_worker.partition import PartitionConfig, partition

        keydir = self.workdir / "keys"
        keydir.mkdir(exist_ok=True)
        train = load_digits(seed=PLAN["seed"]).train
        sim = PLAN["simulation"]
        parts = partition(train.y.numpy(), PartitionConfig(method="dirichlet", stations=len(STATION_CLAIMS),
                                                           clients_per_station=EDGE_CLIENTS, alpha=sim["alpha"],
                                                           seed=PLAN["seed"]))
        self.edge: dict[str, dict[str, Any]] = {}
        from backend import demo_edge_pay  # edge payouts (issue 10): contract, daemon and device flags

        self.edge_payouts = demo_edge_pay.deploy(self.w3, self._funder(), self.client.address)
        for j, n in enumerate(STATION_CLAIMS):
            path = keydir / f"{n}.key"
            path.write_text(keys[n].key.hex())
            path.chmod(0o600)
            http = f"127.0.0.1:{free_port()}"
            self._spawn(["aggregator", "--coordinator", self.base, "--key", str(path), "--round", str(rid),
                         "--rpc", self.rpc_url, "--poll", "0.5", "--max-backoff", "5", "--edge",
                         "--edge-flower", f"127.0.0.1:{free_port()}", "--edge-http", http,
                         "--min-edge-clients", str(EDGE_CLIENTS), "--edge-timeout", "60",
                         *demo_edge_pay.daemon_args(self.edge_payouts, j, self.workdir)], f"aggregator-{n}.log",
                        forked=self.forked)
            for m in range(EDGE_CLIENTS):
                name = f"{n}-edge-{m + 1}"
                account = derive_key(name, namespace=f"hcfl-demo-{self.client.address}")
                kpath = keydir / f"{name}.key"
                kpath.write_text(account.key.hex())
                kpath.chmod(0o600)
                folder = self.workdir / "edge-data" / name
                folder.mkdir(parents=True)
                idx = torch.as_tensor(parts[j][m], dtype=torch.int64)
                np.savez(folder / "data.npz", X=train.X[idx].numpy(), y=train.y[idx].numpy())
                out = self.workdir / f"{name}.json"
                self._spawn(["edge-client", "--station", f"http://{http}", "--key", str(kpath), "--data", str(folder),
                             "--report", str(out), *demo_edge_pay.client_args(self.rpc_url, j, m)], f"{name}.log",
                            forked=self.forked)
                self.edge[name] = {"address": account.address, "station": n, "report": out}
        fund(Chain(kind="rpc", w3=self.w3, funder=self._funder()), [e["address"] for e in self.edge.values()],
             10**17)  # gas for the devices' own claim transactions

    def _edge_report(self, rid: int, t: int, by_addr: dict[str, str]) -> list[dict[str, Any]]:
        """Every edge device: its address, station, samples and the global rounds in which its update was
        included (its own verified proofs), cross-checked against the coordinator's inclusion manifests."""
        manifests = [self._api().get(f"{self.base}/api/rounds/{rid}/manifests/{g}", timeout=30).json() for g in range(t)]
        rows = []
        deadline = time.monotonic() + 15
        for name, info in self.edge.items():
            seen: dict[str, Any] = {}
            while time.monotonic() < deadline:  # the device may still be verifying the last proof
                seen = json.loads(info["report"].read_text()) if info["report"].exists() else {}
                if sum(1 for r in seen.get("rounds", []) if r.get("included") is not None) >= t:
                    break
                time.sleep(0.2)
            rounds = [r for r in seen.get("rounds", []) if r.get("included") and r.get("verified")]
            station = self.edge[name]["station"]
            station_addr = next(a for a, n in by_addr.items() if n == station)
            listed = [m["global_round"] for m in manifests
                      if any(i["address"] == station_addr and i.get("edge_root") for i in m.get("included", []))]
            rows.append({"name": name, "address": info["address"], "station": station,
                         "samples": max((r["samples"] for r in rounds), default=0),
                         "included_rounds": sorted(r["global_round"] for r in rounds),
                         "station_root_in_manifest_rounds": listed})
        return rows

    def _train_vote(self, rid: int, people: dict[str, Participant], keys: dict[str, LocalAccount],
                    by_addr: dict[str, str], report: DemoReport, step: Any) -> None:
        detail = self._api().get(f"{self.base}/api/rounds/{rid}", timeout=30).json()
        proposal = detail["proposals"][report.selected or 0]
        report.promised_accuracy = proposal["promised_acc_bps"] / 10_000
        t = int(proposal["global_rounds"])
        curve = tqdm(total=t, desc="global rounds", unit="round", disable=not self.progress, leave=False)
        result = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            training = self._api().get(f"{self.base}/api/rounds/{rid}/training", timeout=30).json()
            history = training.get("history") or []
            if len(history) > curve.n:
                curve.update(len(history) - curve.n)
                last = history[-1].get("accuracy")
                curve.set_postfix_str(f"accuracy {last:.3f}" if last is not None else "")
            if training.get("result"):
                result = training["result"]
                report.accuracy_curve = [h.get("accuracy") for h in history]
                break
            time.sleep(0.5)
        curve.close()
        if result is None:
            raise TimeoutError("training did not finish within 30 minutes")
        winner = by_addr[proposal["proposer"]]
        report.final_accuracy = result["achieved_acc_bps"] / 10_000
        report.extra["result"] = result
        report.extra["contribution_scores_bps"] = {
            by_addr.get(a, a): int(sc) for a, sc in zip(result.get("stations", []), result["scores"])
        }
        # anyone can check the published validation split against the hash the winner puts on chain
        v = self._api().get(f"{self.base}/api/rounds/{rid}/validation", timeout=60)
        v.raise_for_status()
        if Web3.keccak(v.content).hex().removeprefix("0x") != result["validation_hash"][2:]:
            raise RuntimeError("the published validation split does not match the result's validation hash")
        if int(result.get("inclusion_root") or "0x0", 16):  # rewards only for included work: before finalizing
            people[winner].record_inclusion(rid, bytes.fromhex(result["inclusion_root"][2:]),
                                            bytes.fromhex(result["manifests_root"][2:]))
        people[winner].finalize_training(rid, bytes.fromhex(result["global_model_hash"][2:]), int(result["achieved_acc_bps"]),
                                         bytes.fromhex(result["scores_root"][2:]), int(result["scores_total"]),
                                         bytes.fromhex(result["validation_hash"][2:]))
        report.extra["edge_clients"] = self._edge_report(rid, t, by_addr)
        report.extra["manifests"] = [self._api().get(f"{self.base}/api/rounds/{rid}/manifests/{g}", timeout=30).json()
                                     for g in range(t)]
        step(f"trained {t} global rounds; {winner} finalized at {report.final_accuracy:.1%}")
        # training closes on chain once every station reported all t rounds (the daemons report on their own)
        self._wait_phase(rid, "VoteCommitting", timeout=600)
        winner_addr = proposal["proposer"]
        voters = [n for n in OWNER_CLAIMS if n != winner and self.client.vote_weight(rid, people[n].address) > 0
                  and people[n].address != winner_addr]
        salts = {}
        for i, n in enumerate(voters):
            accuracy = self._evaluate_final(rid, keys[n], int(proposal["label_mask"]), sample_seed=100 + i)
            report.owner_evaluations[n] = round(accuracy, 4)
            punish = accuracy < report.promised_accuracy
            report.votes[n] = punish
            salts[n] = new_salt()
            people[n].commit_vote(rid, punish, salts[n])
        self._wait_phase(rid, "VoteRevealing")
        for n in voters:
            people[n].reveal_vote(rid, report.votes[n], salts[n])
        self._wait_phase(rid, "Finished")
        report.punished = bool(self._api().get(f"{self.base}/api/rounds/{rid}", timeout=30).json()["punished"])
        step(f"vote: punished={report.punished}")


@contextmanager
def _console_quiet(log_file: Path, active: bool) -> Iterator[None]:
    """While the progress bars run: INFO goes to `log_file` only, warnings and errors print above the bars
    (tqdm.write), never inside them."""
    if not active:
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    root = logging.getLogger()
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    consoles = [h for h in root.handlers if isinstance(h, logging.StreamHandler)
                and not isinstance(h, logging.FileHandler)]
    levels = [h.level for h in consoles]
    root.addHandler(handler)
    try:
        with logging_redirect_tqdm():
            for h in logging.getLogger().handlers:
                if h is not handler:
                    h.setLevel(max(h.level, logging.WARNING))
            yield
    finally:
        for h, level in zip(consoles, levels):
            h.setLevel(level)
        root.removeHandler(handler)
        handler.close()


def render(report: DemoReport) -> str:
    """The settlement table and the training curve, as text."""
    lines = [f"round {report.round_id} on {report.chain} (contract {report.contract})",
             f"surplus per proposal (gwei): {[s / GWEI for s in report.surplus]}; selected: {report.selected}",
             f"total payment C: {report.total_payment} wei", "",
             "| participant | tax (gwei) | pays (gwei) | reward (gwei) | withdrew (ETH) |", "|---|---:|---:|---:|---:|"]
    for n in [*OWNER_CLAIMS, *STATION_CLAIMS]:
        lines.append(f"| {n} | {report.taxes.get(n, 0) / GWEI:g} | {report.owner_payments.get(n, 0) / GWEI:g} | "
                     f"{report.station_rewards.get(n, 0) / GWEI:g} | {report.withdrawn.get(n, 0) / 10**18:.9f} |")
    if report.accuracy_curve:
        lines += ["", "training curve (validation accuracy per global round):"]
        for g, acc in enumerate(report.accuracy_curve):
            bar = "#" * int(round((acc or 0) * 40))
            lines.append(f"  g={g:<2} {acc if acc is None else f'{acc:.3f}'} {bar}")
        lines.append(f"promised {report.promised_accuracy:.1%}, achieved {report.final_accuracy:.1%}; "
                     f"owners measured {report.owner_evaluations}; votes to punish {report.votes}; punished: {report.punished}")
    if report.extra.get("edge_clients"):
        lines += ["", "| edge device | address | station | samples | included in global rounds (proof verified) |",
                  "|---|---|---|---:|---|"]
        for e in report.extra["edge_clients"]:
            lines.append(f"| {e['name']} | {e['address']} | {e['station']} | {e['samples']} | {e['included_rounds']} |")
    if report.extra.get("edge_payouts"):
        from backend import demo_edge_pay

        lines += demo_edge_pay.render(report.extra["edge_payouts"])
    if report.extra.get("contribution_scores_bps"):
        lines.append(f"contribution scores (Shapley, bps; rewards are split by them, a score <= 0 earns nothing): "
                     f"{report.extra['contribution_scores_bps']}")
    lines.append(f"{report.transactions} transactions; audit ok: {report.audit.get('ok')}; {report.seconds} s")
    return "\n".join(lines)


def save_plot(report: DemoReport, path: Path) -> None:
    if not report.accuracy_curve:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(range(len(report.accuracy_curve)), [a or 0 for a in report.accuracy_curve], marker="o", label="global model")
    if report.promised_accuracy is not None:
        ax.axhline(report.promised_accuracy, linestyle="--", color="grey", label="promised")
    ax.set_xlabel("global round")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def copy_logs(demo_dir: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for f in demo_dir.glob("*.log"):
        shutil.copy(f, target / f.name)

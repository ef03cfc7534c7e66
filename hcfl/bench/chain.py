"""`hcfl bench chain`: contract throughput as the paper's Fig. 6 measured it, and read-API latency.

1. **Transactions per block vs generation rate** (the paper's Fig. 6). A spawned anvil mines a block
   every `--block-time` seconds (interval mining, 30M block gas limit, base fee 0: no fee market). A fresh HCFLCore
   (contract v2) gets one campaign with enough rounds in the Committing phase (a long commit deadline) with up
   to 200 funded participants each (every participant its own key; one commitment per participant per round,
   so the keys join several rounds; v2 has no participant cap, 200 per round is the bench's choice).
   For each generation rate r the bench sends
   `commit(roundId, claims_commitment(...))` transactions, each signed locally by its participant
   through `hcfl.chain.client.Participant.transact(..., gas=COMMIT_GAS, wait=False)`, on a fixed
   schedule (transaction i at t0 + i/r) for a window of `--window` seconds (at most `--max-tx`
   transactions), then reads every block mined from the first send to the block holding the last
   transaction and reports transactions per block (mean over those blocks, empty ones included, and
   max) and the included transactions per second (included / (those blocks x block time)).
2. **Sustained claims/s**: `--workers` threads send commits through the client as fast as they can for
   one window; reported are the rate the client signed and sent at and the rate the chain included.
3. **Node capacity** (pre-signed burst): commits signed beforehand and pushed in JSON-RPC batches, so
   the client is out of the way and the block gas limit is what binds.
4. **Read-API latency**: the real coordinator (`hcfl serve`) runs as a subprocess against the same
   anvil and a second deployment holding a few rounds (joins, proposals, commitments); `--concurrency`
   loopback httpx clients issue `--requests` GETs round-robin over /api/rounds, /api/rounds/{rid},
   /api/rounds/{rid}/events and /api/funds (hard cap `--time-cap` seconds); p50/p99/max latency and
   requests/s per route.

The paper's Fig. 6 (an Ethereum private chain) is shown beside ours: its transactions per block rise
with the generation rate and saturate near 2 tx/s at about 15 transactions per block. The paper prints
no numbers; `PAPER_FIG6` is an approximate reading of the figure (x axis 1-5 tx/s, y axis 0-15).
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak
from tqdm import tqdm

from hcfl.bench.gas import _ensure_anvil_on_path
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import BLOCK_GAS_LIMIT, Chain, spawn_anvil
from hcfl.chain.v2.client import CoreClient as HCFLClient
from hcfl.chain.v2.client import ParticipantV2 as Participant
from hcfl.net import free_port
from hcfl.protocol import MAX_DURATION, CampaignConfig, ProposalSpec, Role, claims_commitment, new_salt

log = logging.getLogger(__name__)

COMMAND = "hcfl bench chain"
FULL_RATES: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200)
QUICK_RATES: tuple[float, ...] = (2, 20, 100)
FULL_WINDOW = 10.0
QUICK_WINDOW = 3.0
FULL_REQUESTS = 2000
QUICK_REQUESTS = 100
MAX_TX_PER_RATE = 2000
MAX_PARTICIPANTS = 200  # keys per round (contract v2 has no cap)
ANVIL_ARGS: tuple[str, ...] = ("--block-base-fee-per-gas", "0")
COMMIT_GAS = 80_000  # explicit gas limit of a commit
JOIN_GAS = 250_000
ROUND_GAS = 300_000
CAMPAIGN_GAS = 600_000
PROPOSE_GAS = 400_000
FUND = 10 * 10**18
DEPOSIT = 10**12
BOND = 10**12
PHASE_SECONDS = 10**6  # joining/proposing: fast-forwarded by the bench
COMMIT_SECONDS = MAX_DURATION  # the commit phase never ends during the bench
ROUTES: tuple[str, ...] = ("/api/rounds", "/api/rounds/{rid}", "/api/rounds/{rid}/events", "/api/funds")
# Approximate reading of the paper's Fig. 6 (generation rate tx/s -> transactions per block): a roughly
# linear rise that saturates at about 15 transactions per block from about 2 tx/s on. Not measured data.
PAPER_FIG6: tuple[tuple[float, float], ...] = ((1.0, 7.5), (2.0, 14.0), (3.0, 15.0), (4.0, 15.0), (5.0, 15.0))
PAPER_SATURATION_RATE = 2.0
PAPER_SATURATION_TX_PER_BLOCK = 15.0


# ---------------------------------------------------------------------------------------------- results
@dataclass
class RateResult:
    """One window of commits: generated at `rate` tx/s (None: as fast as possible) and what got mined."""

    label: str
    rate: float | None
    sent: int
    send_seconds: float
    send_rate: float  # transactions signed and sent per second by the client
    included: int
    failed: int  # included with status 0
    pending: int  # not mined within the wait
    blocks: int
    tx_per_block_mean: float
    tx_per_block_median: float
    tx_per_block_max: int
    included_per_s: float
    per_block: list[int] = field(default_factory=list)
    gas_used_max: int = 0
    workers: int = 1
    send_errors: int = 0


@dataclass
class RouteLatency:
    route: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    rps: float


@dataclass
class LatencyResult:
    routes: list[RouteLatency]
    total: RouteLatency
    concurrency: int
    requested: int
    seconds: float
    capped: bool
    rounds: int
    events: int


@dataclass
class ChainBench:
    block_time: float
    block_gas_limit: int
    commit_gas_limit: int
    commit_gas_used: int
    window: float
    rates: list[RateResult]
    sustained: RateResult | None
    burst: RateResult | None
    latency: LatencyResult | None
    participants: int
    rounds: int
    setup_seconds: float
    seconds: float
    anvil: str = ""
    machine: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "command": COMMAND,
            "block_time": self.block_time,
            "block_gas_limit": self.block_gas_limit,
            "commit_gas_limit": self.commit_gas_limit,
            "commit_gas_used": self.commit_gas_used,
            "window": self.window,
            "participants": self.participants,
            "rounds": self.rounds,
            "rates": [asdict(r) for r in self.rates],
            "sustained": asdict(self.sustained) if self.sustained else None,
            "burst": asdict(self.burst) if self.burst else None,
            "latency": asdict(self.latency) if self.latency else None,
            "paper_fig6_approx": [list(p) for p in PAPER_FIG6],
            "setup_seconds": round(self.setup_seconds, 1),
            "seconds": round(self.seconds, 1),
            "anvil": self.anvil,
            "machine": self.machine,
        }


# ---------------------------------------------------------------------------------------------- helpers
def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def paper_tx_per_block(rate: float) -> float | None:
    """The approximate Fig. 6 value at `rate` (linear interpolation), None outside the figure's 1-5 tx/s."""
    pts = PAPER_FIG6
    if rate < pts[0][0] or rate > pts[-1][0]:
        return None
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= rate <= x1:
            return y0 + (y1 - y0) * (rate - x0) / (x1 - x0)
    return pts[-1][1]


def _machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


# ---------------------------------------------------------------------------------------------- chain side
class _Throughput:
    """A deployment with `rounds` rounds in Committing, `n_keys` participants each: a pool of commit slots."""

    def __init__(self, chain: Chain, n_keys: int, rounds: int, progress: bool, block_time: float = 1.0,
                 namespace: str = "hcfl-bench-chain") -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.progress = progress
        self.block_time = block_time
        self.sample_hash: Any = None  # one measured commit, for its gasUsed
        self.client = HCFLClient.deploy(chain)
        keys = funded_accounts(chain, ["driver"] + [f"p{i}" for i in range(n_keys)], FUND, namespace)
        self.driver = self.client.as_participant(keys[0])
        self.people: list[Participant] = [self.client.as_participant(k) for k in keys[1:]]
        self.round_ids: list[int] = []
        if rounds:
            self.round_ids = self.open_rounds(self.client, self.driver, self.people, rounds, "throughput setup")
        self.slots: deque[tuple[Participant, int]] = deque(
            (p, rid) for rid in self.round_ids for p in self.people
        )

    # -- sending in bulk (setup): threads, explicit gas, then every receipt must have status 1
    def _bulk(self, calls: list[tuple[Participant, str, tuple[Any, ...], int, int]], desc: str, workers: int = 4) -> list[Any]:
        hashes: list[Any] = [None] * len(calls)
        bar = tqdm(total=len(calls), desc=desc, disable=not self.progress, leave=False)
        idx = itertools.count()
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    i = next(idx)
                if i >= len(calls) or errors:
                    return
                who, fn, args, value, gas = calls[i]
                try:
                    hashes[i] = who.transact(fn, *args, value=value, gas=gas, wait=False)
                except BaseException as exc:  # noqa: BLE001 - re-raised below
                    errors.append(exc)
                    return
                bar.update(1)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(workers, len(calls))))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bar.close()
        if errors:
            raise errors[0]
        receipts = []
        deadline = time.monotonic() + 300
        for h in hashes:
            while True:
                try:
                    r = self.w3.eth.get_transaction_receipt(h)
                    break
                except Exception:  # noqa: BLE001 - TransactionNotFound while pending
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{desc}: transaction {h.hex()} not mined within 300 s") from None
                    self.w3.provider.make_request("evm_mine", [])  # help the interval miner along
                    time.sleep(0.02)
            if r["status"] != 1:
                raise RuntimeError(f"{desc}: a transaction failed in block {r['blockNumber']}")
            receipts.append(r)
        return receipts

    def open_rounds(self, client: HCFLClient, driver: Participant, people: Sequence[Participant], rounds: int,
                    desc: str, commit: bool = False) -> list[int]:
        """Create `rounds` rounds, join `people` (even: owners, odd: stations), one proposal, open Committing."""
        cfg = CampaignConfig(join_duration=PHASE_SECONDS, propose_duration=PHASE_SECONDS, commit_duration=COMMIT_SECONDS,
                             min_owner_deposit=DEPOSIT, min_station_deposit=DEPOSIT, min_bond=BOND,
                             non_reveal_penalty_floor=1, vote_deposit=0)
        (r,) = self._bulk([(driver, "createCampaign", (cfg.as_tuple(),), 0, CAMPAIGN_GAS)], f"{desc}: campaign", workers=1)
        cid = int(driver._event(r, "CampaignCreated", "campaignId"))
        rs = self._bulk([(driver, "openRound", (cid,), 0, ROUND_GAS)] * rounds, f"{desc}: rounds", workers=1)
        rids = [int(driver._event(r, "RoundOpened", "roundId")) for r in rs]
        joins = [(p, "join", (rid, int(Role.OWNER if i % 2 == 0 else Role.STATION)), DEPOSIT, JOIN_GAS)
                 for rid in rids for i, p in enumerate(people)]
        self._bulk(joins, f"{desc}: joins")
        self.chain.increase_time(PHASE_SECONDS + 1)  # phases follow the clock (v2): Proposing
        spec = ProposalSpec(spec_hash=keccak(text="hcfl-bench-chain"), uri="bench", promised_acc_bps=5000,
                            global_rounds=1, label_mask=1, price=DEPOSIT // 2)
        args = (spec.spec_hash, spec.uri, spec.arch_id, spec.promised_acc_bps, spec.global_rounds, spec.label_mask,
                spec.price)
        self._bulk([(people[0], "propose", (rid, *args), BOND, PROPOSE_GAS) for rid in rids], f"{desc}: propose", workers=1)
        self.chain.increase_time(PHASE_SECONDS + 1)  # Committing
        if commit:
            commits = [(p, "commit", (rid, claims_commitment(rid, p.address, [10**9], new_salt())), 0, COMMIT_GAS)
                       for rid in rids for p in people]
            self._bulk(commits, f"{desc}: commits")
        return rids

    def take(self, n: int) -> list[tuple[Participant, int, bytes]]:
        if n > len(self.slots):
            raise RuntimeError(f"bench needs {n} more commit slots, {len(self.slots)} left")
        out = []
        for _ in range(n):
            p, rid = self.slots.popleft()
            out.append((p, rid, claims_commitment(rid, p.address, [10**9], new_salt())))
        return out

    # -- one measured window
    def _send(self, slots: list[tuple[Participant, int, bytes]], rate: float | None, workers: int,
              window: float) -> tuple[list[Any], float, int]:
        """Send the commits paced at `rate` (None: as fast as possible, for at most `window` s)."""
        hashes: list[Any] = []
        lock = threading.Lock()
        idx = itertools.count()
        errors = [0]
        t0 = time.perf_counter() + 0.05
        stop_at = t0 + window if rate is None else float("inf")
        last = [t0]

        def worker() -> None:
            while True:
                with lock:
                    i = next(idx)
                if i >= len(slots):
                    return
                if rate is not None:
                    delay = t0 + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                elif time.perf_counter() >= stop_at:
                    return
                p, rid, c = slots[i]
                try:
                    h = p.transact("commit", rid, c, gas=COMMIT_GAS, wait=False)
                except Exception as exc:  # noqa: BLE001 - counted; the window goes on
                    log.warning("commit send failed: %s", exc)
                    with lock:
                        errors[0] += 1
                    continue
                now = time.perf_counter()
                with lock:
                    hashes.append(h)
                    last[0] = max(last[0], now)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return hashes, max(last[0] - t0, 1e-9), errors[0]

    def _blocks_until_mined(self, start_block: int, hashes: Sequence[Any], wait_s: float) -> tuple[dict[int, list[Any]], dict[str, int]]:
        """Blocks after `start_block` until every hash is mined (or `wait_s` passes): receipts per block."""
        wanted = {"0x" + bytes(h).hex() for h in hashes}
        found: dict[str, int] = {}
        per_block: dict[int, list[Any]] = {}
        n = start_block + 1
        deadline = time.monotonic() + wait_s
        while len(found) < len(wanted) and time.monotonic() < deadline:
            if n > self.w3.eth.block_number:
                time.sleep(0.05)
                continue
            receipts = self.w3.provider.make_request("eth_getBlockReceipts", [hex(n)])["result"] or []
            per_block[n] = receipts
            for r in receipts:
                if r["transactionHash"] in wanted:
                    found[r["transactionHash"]] = int(r["status"], 16)
            n += 1
        return per_block, found

    def measure(self, label: str, rate: float | None, count: int, window: float, workers: int) -> RateResult:
        slots = self.take(count)
        start_block = self.w3.eth.block_number
        hashes, send_s, send_errors = self._send(slots, rate, workers, window)
        if hashes and self.sample_hash is None:
            self.sample_hash = hashes[0]
        per_block, found = self._blocks_until_mined(start_block, hashes, wait_s=60 + window)
        return self._summarise(label, rate, hashes, send_s, send_errors, start_block, per_block, found, workers)

    def _summarise(self, label: str, rate: float | None, hashes: Sequence[Any], send_s: float, send_errors: int,
                   start_block: int, per_block: dict[int, list[Any]], found: dict[str, int], workers: int) -> RateResult:
        wanted = {"0x" + bytes(h).hex() for h in hashes}
        mine = [n for n in sorted(per_block) if any(r["transactionHash"] in wanted for r in per_block[n])]
        # the window: from the first to the last block holding one of ours (empty blocks between included)
        blocks = list(range(mine[0], mine[-1] + 1)) if mine else []
        counts = [sum(1 for r in per_block[n] if r["transactionHash"] in wanted) for n in blocks]
        gas_max = max((sum(int(r["gasUsed"], 16) for r in per_block[n]) for n in blocks), default=0)
        included = sum(counts)
        # interval mining: each block collects what arrived during one block time (block timestamps are
        # whole seconds and jitter by one, so they are not used)
        span = len(blocks) * self.block_time
        return RateResult(
            label=label, rate=rate, sent=len(hashes), send_seconds=round(send_s, 3),
            send_rate=round(len(hashes) / send_s, 2), included=included,
            failed=sum(1 for s in found.values() if s != 1), pending=len(wanted) - len(found), blocks=len(blocks),
            tx_per_block_mean=round(included / len(blocks), 2) if blocks else 0.0,
            tx_per_block_median=round(_percentile(counts, 50), 1) if counts else 0.0,
            tx_per_block_max=max(counts, default=0), included_per_s=round(included / span, 2) if span else 0.0,
            per_block=counts, gas_used_max=gas_max, workers=workers, send_errors=send_errors,
        )

    def burst(self, count: int, batch: int = 100) -> RateResult:
        """Commits signed beforehand (off the clock), then pushed in JSON-RPC batches: the node's capacity."""
        import httpx

        slots = self.take(count)
        gas_price = int(self.w3.eth.gas_price) * 3  # headroom: full blocks raise the base fee 12.5% each
        chain_id = self.client.chain_id
        nonces: dict[str, int] = {}
        raws = []
        for p, rid, c in slots:
            if p.address not in nonces:
                nonces[p.address] = self.w3.eth.get_transaction_count(p.address, "pending")
            nonce = nonces[p.address]
            nonces[p.address] += 1
            tx = self.client.contract.functions.commit(rid, c).build_transaction({
                "from": p.address, "gas": COMMIT_GAS, "gasPrice": gas_price, "chainId": chain_id,
                "nonce": nonce, "value": 0,
            })
            raws.append(p.account.sign_transaction(tx).raw_transaction)
        hashes = [keccak(bytes(r)) for r in raws]
        start_block = self.w3.eth.block_number
        errors = 0
        t0 = time.perf_counter()
        with httpx.Client(timeout=60) as http:
            for i in range(0, len(raws), batch):
                body = [{"jsonrpc": "2.0", "id": j, "method": "eth_sendRawTransaction", "params": ["0x" + bytes(r).hex()]}
                        for j, r in enumerate(raws[i:i + batch], start=i)]
                out = http.post(self.chain.rpc_url, json=body).json()
                errors += sum(1 for o in out if "error" in o)
        send_s = time.perf_counter() - t0
        per_block, found = self._blocks_until_mined(start_block, hashes, wait_s=60)
        return self._summarise("pre-signed burst", None, hashes, send_s, errors, start_block, per_block, found, 1)


# ---------------------------------------------------------------------------------------------- read API
def _hcfl_command() -> list[str]:
    exe = Path(sys.executable).parent / "hcfl"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hcfl")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from hcfl.cli import main; sys.exit(main())"]


class Coordinator:
    """`hcfl serve` as a subprocess on a free loopback port; stops on exit."""

    def __init__(self, rpc_url: str, contract: str, workdir: Path, startup_s: float = 90.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "coordinator.log"
        cmd = _hcfl_command() + [
            "serve", "--chain", rpc_url, "--contract", contract, "--host", "127.0.0.1", "--port", str(self.port),
            "--db", str(workdir / "coordinator.sqlite"), "--data-dir", str(workdir / "data"),
            "--poll", "3600", "--log-level", "warning",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self._wait(startup_s)
        except BaseException:
            self.close()
            raise

    def _wait(self, startup_s: float) -> None:
        from backend.health import wait_until_serving

        wait_until_serving(self.url, proc=self.proc, timeout=startup_s, log_path=self.log_path)

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()

    def __enter__(self) -> "Coordinator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _route_stats(route: str, samples: list[float], errors: int, seconds: float) -> RouteLatency:
    ms = [s * 1000 for s in samples] or [float("nan")]
    return RouteLatency(
        route=route, requests=len(samples), errors=errors, p50_ms=round(_percentile(ms, 50), 2),
        p99_ms=round(_percentile(ms, 99), 2), max_ms=round(max(ms), 2), mean_ms=round(sum(ms) / len(ms), 2),
        rps=round(len(samples) / seconds, 1) if seconds > 0 else 0.0,
    )


def load_read_api(base_url: str, round_ids: Sequence[int], requests: int, concurrency: int, time_cap: float,
                  progress: bool = True) -> tuple[list[RouteLatency], RouteLatency, float, bool]:
    """`requests` GETs round-robin over ROUTES from `concurrency` loopback clients, stopping at `time_cap` s."""
    import httpx

    if not base_url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("the read-API load only runs against loopback")
    plan = []
    for i in range(requests):
        route = ROUTES[i % len(ROUTES)]
        rid = round_ids[(i // len(ROUTES)) % len(round_ids)]
        plan.append((route, route.replace("{rid}", str(rid))))
    samples: dict[str, list[float]] = {r: [] for r in ROUTES}
    errors: dict[str, int] = {r: 0 for r in ROUTES}
    lock = threading.Lock()
    idx = itertools.count()
    bar = tqdm(total=requests, desc="read API", disable=not progress, leave=False)
    # warm-up (not counted): one request per route
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for route in ROUTES:
            http.get(route.replace("{rid}", str(round_ids[0])))
    t0 = time.perf_counter()
    stop_at = t0 + time_cap
    capped = [False]

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=max(5.0, time_cap)) as http:
            while True:
                with lock:
                    i = next(idx)
                if i >= len(plan):
                    return
                if time.perf_counter() >= stop_at:
                    capped[0] = True
                    return
                route, path = plan[i]
                s = time.perf_counter()
                try:
                    ok = http.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                dt = time.perf_counter() - s
                with lock:
                    if ok:
                        samples[route].append(dt)
                    else:
                        errors[route] += 1
                bar.update(1)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    bar.close()
    per_route = [_route_stats(r, samples[r], errors[r], seconds) for r in ROUTES]
    total = _route_stats("all", [x for r in ROUTES for x in samples[r]], sum(errors.values()), seconds)
    return per_route, total, seconds, capped[0]


# ---------------------------------------------------------------------------------------------- driver
def run_bench(
    rates: Sequence[float] = FULL_RATES,
    window: float = FULL_WINDOW,
    requests: int = FULL_REQUESTS,
    *,
    block_time: float = 1.0,
    max_tx: int = MAX_TX_PER_RATE,
    workers: int = 4,
    sustained: bool = True,
    sustained_max: int = 3000,
    burst: int = 1500,
    concurrency: int = 4,
    time_cap: float = 120.0,
    latency_rounds: int = 4,
    latency_participants: int = 20,
    progress: bool = True,
) -> ChainBench:
    """Run everything on a freshly spawned anvil (interval mining every `block_time` s) and return the numbers."""
    _ensure_anvil_on_path()
    started = time.perf_counter()
    counts = [max(1, min(math.ceil(r * window), max_tx)) for r in rates]
    sustained_n = sustained_max if sustained else 0
    total = sum(counts) + sustained_n + burst
    n_keys = max(latency_participants, min(MAX_PARTICIPANTS, total))
    rounds = math.ceil(total / n_keys)
    # a private chain without a fee market, like the paper's: with EIP-1559's base fee (anvil's default)
    # full setup blocks raise the base fee 12.5% a block, past the gas price read a moment earlier
    with spawn_anvil(block_time=block_time, extra_args=list(ANVIL_ARGS)) as chain:
        anvil_version = str(chain.w3.client_version)
        block_gas_limit = min(BLOCK_GAS_LIMIT, int(chain.w3.eth.get_block("latest")["gasLimit"]))
        t_setup = time.perf_counter()
        bench = _Throughput(chain, n_keys, rounds, progress, block_time)
        setup_s = time.perf_counter() - t_setup
        log.info("setup: %d rounds x %d participants in %.1f s", rounds, n_keys, setup_s)
        results: list[RateResult] = []
        bar = tqdm(list(zip(rates, counts)), desc="generation rates", disable=not progress)
        for rate, n in bar:
            bar.set_postfix_str(f"{rate:g} tx/s")
            w = 1 if rate <= 20 else workers
            results.append(bench.measure(f"{rate:g} tx/s", float(rate), n, window, w))
            log.info("rate %g tx/s: %s", rate, results[-1])
        sus = bench.measure("as fast as possible", None, sustained_n, window, workers) if sustained else None
        bst = bench.burst(burst) if burst else None
        commit_gas_used = int(chain.w3.eth.get_transaction_receipt(bench.sample_hash)["gasUsed"]) if bench.sample_hash else 0

        latency = None
        if requests > 0:
            lat_client = HCFLClient.deploy(chain, bench.driver.account)
            people = bench.people[:latency_participants]
            rids = bench.open_rounds(lat_client, lat_client.as_participant(bench.driver.account),
                                     [lat_client.as_participant(p.account) for p in people], latency_rounds,
                                     "read-API state", commit=True)
            n_events = len(lat_client.events())
            log.info("read-API state ready: %d rounds, %d events (%.1f s so far)", len(rids), n_events,
                     time.perf_counter() - started)
            with tempfile.TemporaryDirectory(prefix="hcfl-bench-chain-") as tmp:
                with Coordinator(chain.rpc_url or "", lat_client.address, Path(tmp)) as coord:
                    per_route, tot, secs, capped = load_read_api(coord.url, rids, requests, concurrency, time_cap, progress)
            latency = LatencyResult(routes=per_route, total=tot, concurrency=concurrency, requested=requests,
                                    seconds=round(secs, 2), capped=capped, rounds=len(rids), events=n_events)
    return ChainBench(
        block_time=block_time, block_gas_limit=block_gas_limit, commit_gas_limit=COMMIT_GAS,
        commit_gas_used=commit_gas_used, window=window, rates=results, sustained=sus, burst=bst, latency=latency,
        participants=n_keys, rounds=rounds, setup_seconds=setup_s, seconds=time.perf_counter() - started,
        anvil=anvil_version, machine=_machine(),
    )


# ---------------------------------------------------------------------------------------------- output
def _paper_cell(rate: float | None) -> str:
    if rate is None:
        return "—"
    v = paper_tx_per_block(rate)
    if v is None:
        return "— (beyond Fig. 6; saturated at ~15)" if rate > PAPER_FIG6[-1][0] else "—"
    return f"~{v:.0f}"


def throughput_table(res: ChainBench) -> str:
    lines = [
        "| generation rate | sent | sent tx/s (client) | tx/block mean | tx/block median | tx/block max | included tx/s "
        "| blocks | paper Fig. 6 tx/block (approx.) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows = list(res.rates) + [r for r in (res.sustained, res.burst) if r is not None]
    for r in rows:
        label = r.label if r.rate is None else f"{r.rate:g} tx/s"
        if r.rate is None and r.label != "pre-signed burst":
            label = f"{r.label} ({r.workers} threads)"
        extra = ""
        if r.pending or r.failed or r.send_errors:
            extra = f" ({r.pending} pending, {r.failed} failed, {r.send_errors} send errors)"
        lines.append(
            f"| {label} | {r.sent:,}{extra} | {r.send_rate:,.1f} | {r.tx_per_block_mean:,.1f} | {r.tx_per_block_median:,.1f} "
            f"| {r.tx_per_block_max:,} "
            f"| {r.included_per_s:,.1f} | {r.blocks} | {_paper_cell(r.rate)} |"
        )
    return "\n".join(lines) + "\n"


def latency_table(lat: LatencyResult) -> str:
    lines = [
        "| route | requests | errors | p50 ms | p99 ms | max ms | mean ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*lat.routes, lat.total]:
        name = f"`GET {r.route}`" if r.route != "all" else "**all**"
        lines.append(f"| {name} | {r.requests:,} | {r.errors} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} "
                     f"| {r.mean_ms:.1f} | {r.rps:,.1f} |")
    return "\n".join(lines) + "\n"


def summary_lines(res: ChainBench) -> list[str]:
    out = []
    if res.rates:
        tracked = [r for r in res.rates if r.rate and r.tx_per_block_median >= 0.8 * r.rate * res.block_time]
        top = max(res.rates, key=lambda r: r.tx_per_block_max)
        upto = f"up to {max(r.rate or 0.0 for r in tracked):g} tx/s" if tracked else "at no rate tried"
        out.append(f"Block time {res.block_time:g} s: the chain includes what is generated (median tx/block ≥ 80% of "
                   f"rate × block time) {upto}, so transactions per block ≈ rate × block time; most in one block at a paced rate: "
                   f"{top.tx_per_block_max} ({top.rate:g} tx/s, mean {top.tx_per_block_mean:.1f}). The paper's private "
                   f"chain saturated near {PAPER_SATURATION_RATE:g} tx/s at ~{PAPER_SATURATION_TX_PER_BLOCK:.0f} tx/block.")
    if res.sustained:
        s = res.sustained
        out.append(f"Sustained through the client ({s.workers} threads): {s.send_rate:.0f} commits/s signed and sent, "
                   f"{s.included_per_s:.0f} commits/s included.")
    if res.burst:
        b = res.burst
        cap = res.block_gas_limit // res.commit_gas_used if res.commit_gas_used else 0
        out.append(f"Pre-signed burst (node capacity): up to {b.tx_per_block_max} commits per block "
                   f"(block gas limit {res.block_gas_limit:,} / {res.commit_gas_used:,} gas per commit = {cap}), "
                   f"{b.included_per_s:.0f} commits/s included.")
    if res.latency:
        t = res.latency.total
        out.append(f"Read API ({res.latency.concurrency} loopback clients, {t.requests} requests): p50 {t.p50_ms:.1f} ms, "
                   f"p99 {t.p99_ms:.1f} ms, {t.rps:.0f} req/s overall.")
    return out


def render(res: ChainBench) -> str:
    parts = [
        f"## Transactions per block vs generation rate (anvil, block time {res.block_time:g} s, "
        f"{res.block_gas_limit:,} gas per block, commit gas limit {res.commit_gas_limit:,}, "
        f"gas used {res.commit_gas_used:,}; window {res.window:g} s)\n",
        throughput_table(res),
    ]
    if res.latency:
        lat = res.latency
        parts += [
            f"\n## Read API latency (`hcfl serve` on loopback, {lat.concurrency} concurrent clients, "
            f"{lat.requested:,} requests{' (time cap hit)' if lat.capped else ''}, {lat.seconds:.1f} s; "
            f"state: {lat.rounds} rounds, {lat.events} contract events)\n",
            latency_table(lat),
        ]
    parts.append("\n" + "\n".join(f"- {s}" for s in summary_lines(res)) + "\n")
    return "\n".join(parts)


def plot(res: ChainBench, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xs = [r.rate or 0.0 for r in res.rates]
    ax.plot(xs, [r.tx_per_block_mean for r in res.rates], "o-", label=f"HCFL on anvil ({res.block_time:g} s blocks), mean")
    ax.plot(xs, [r.tx_per_block_max for r in res.rates], "s--", alpha=0.7, label="HCFL on anvil, max")
    px, py = zip(*PAPER_FIG6)
    ax.plot(px, py, "^-", color="tab:red", label="paper Fig. 6 (approx. reading)")
    if xs:
        lo, hi = min(min(xs), px[0]), max(max(xs), px[-1])
        ax.plot([lo, hi], [lo * res.block_time, hi * res.block_time], ":", color="grey", label="rate × block time")
    cap = res.block_gas_limit // max(res.commit_gas_used, 1)
    ax.axhline(cap, color="tab:green", ls="-.", lw=1, label=f"block gas limit / gas per commit = {cap}")
    if res.burst is not None:
        ax.axhline(res.burst.tx_per_block_max, color="tab:purple", ls=":", lw=1,
                   label=f"most per block, pre-signed burst ({res.burst.tx_per_block_max})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("transaction generation rate (tx/s)")
    ax.set_ylabel("transactions per block")
    ax.set_title("Contract throughput (cf. the paper's Fig. 6)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "bench_chain_tx_per_block.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------- CLI
def _float_list(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help=f"rates {list(QUICK_RATES)}, {QUICK_WINDOW:g} s windows, {QUICK_REQUESTS} requests "
                             "(under a minute)")
    parser.add_argument("--rates", type=_float_list, default=None,
                        help=f"comma-separated generation rates in tx/s (default {list(FULL_RATES)})")
    parser.add_argument("--window", type=float, default=None, help=f"seconds per rate (default {FULL_WINDOW:g})")
    parser.add_argument("--max-tx", type=int, default=MAX_TX_PER_RATE, help="at most this many transactions per rate")
    parser.add_argument("--block-time", type=float, default=1.0, help="anvil's --block-time in seconds (default 1)")
    parser.add_argument("--workers", type=int, default=4, help="sending threads for rates > 20 tx/s and the sustained run")
    parser.add_argument("--burst", type=int, default=None, help="pre-signed commits for the node-capacity burst (0: skip)")
    parser.add_argument("--requests", type=int, default=None, help=f"read-API requests (default {FULL_REQUESTS}; 0: skip)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent loopback HTTP clients")
    parser.add_argument("--time-cap", type=float, default=None, help="hard cap in seconds on the read-API load")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the measurements as JSON")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="write the PNG plot here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    quick = args.quick
    rates = args.rates or list(QUICK_RATES if quick else FULL_RATES)
    window = args.window or (QUICK_WINDOW if quick else FULL_WINDOW)
    requests = args.requests if args.requests is not None else (QUICK_REQUESTS if quick else FULL_REQUESTS)
    burst = args.burst if args.burst is not None else (400 if quick else 1500)
    time_cap = args.time_cap or (20.0 if quick else 300.0)
    res = run_bench(
        rates=rates, window=window, requests=requests, block_time=args.block_time, max_tx=args.max_tx,
        workers=args.workers, sustained_max=600 if quick else 3000, burst=burst, concurrency=args.concurrency,
        time_cap=time_cap, progress=not args.no_progress,
    )
    sys.stdout.write(render(res))
    if args.out is not None:
        path = plot(res, args.out)
        sys.stdout.write(f"\nplot: {path}\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res.to_json(), indent=2) + "\n")
        log.info("wrote %s", args.json)
    return 0

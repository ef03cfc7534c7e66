"""`hcfl bench reads`: read-API throughput and latency of the real coordinator against its own static route.

A spawned anvil mines a block every `--block-time` seconds (the chain keeps moving) and holds a fresh HCFLCore
with `--rounds` rounds in progress: each has `--participants` funded participants (half owners, half stations)
that joined and committed, and one proposal, so the rounds sit in Committing. `hcfl serve` runs as a subprocess
against it (its deadline driver on, `--poll 0.5`). Then, route by route, `--concurrency` loopback clients (one
keep-alive HTTP/1.1 connection each, asyncio streams: a few microseconds of client work per request, so the
server is what is measured) send GETs for `--seconds` seconds after a 1-second warm-up:

- `/` (the UI's index.html through StaticFiles): the same server's static route, the reference;
- `/api/rounds`; `/api/rounds/{rid}` (the rounds in turn).

Printed: requests, req/s, share of the static route's req/s, p50/p99/max latency, errors.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROUTES = ("/", "/api/rounds", "/api/rounds/{rid}")


@dataclass
class RouteResult:
    route: str
    requests: int
    errors: int
    rps: float
    share_of_static: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(q / 100 * (len(sorted_ms) - 1))))
    return sorted_ms[k]


async def _client(host: str, port: int, paths: list[str], offset: int, stop_at: float, warm_until: float,
                  lat: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            dt = time.perf_counter() - t0
            if t0 >= warm_until:
                if status == 200:
                    lat.append(dt)
                else:
                    errors[0] += 1
    finally:
        writer.close()


async def _load(host: str, port: int, paths: list[str], concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    lat: list[float] = []
    errors = [0]
    start = time.perf_counter()
    warm_until = start + 1.0
    stop_at = warm_until + seconds
    await asyncio.gather(*(_client(host, port, paths, k, stop_at, warm_until, lat, errors) for k in range(concurrency)))
    return lat, errors[0], seconds


def measure(base_port: int, route: str, round_ids: list[int], concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    paths = [route.replace("{rid}", str(r)) for r in round_ids] if "{rid}" in route else [route]
    return asyncio.run(_load("127.0.0.1", base_port, paths, concurrency, seconds))


def _setup_chain(rounds: int, participants: int, block_time: float) -> tuple[Any, Any, list[int]]:
    from hcfl.chain.accounts import funded_accounts
    from hcfl.chain.provider import spawn_anvil
    from hcfl.chain.v2.client import CoreClient
    from hcfl.protocol import MAX_DURATION, CampaignConfig, ProposalSpec, Role
    from hcfl.protocol.commitments import new_salt

    chain = spawn_anvil(block_time=block_time, extra_args=["--block-base-fee-per-gas", "0"])
    client = CoreClient.deploy(chain)
    labels = [f"reader-{i}" for i in range(participants + 1)]
    people = [client.as_participant(a) for a in funded_accounts(chain, labels, 10**19, namespace="bench-reads")]
    driver, members = people[0], people[1:]
    long = min(MAX_DURATION, 10**6)
    cfg = CampaignConfig(join_duration=60, propose_duration=60, commit_duration=long, reveal_duration=long,
                         train_duration=long, vote_commit_duration=long, vote_reveal_duration=long)
    cid = driver.create_campaign(cfg)
    rids = [driver.open_round(cid) for _ in range(rounds)]
    for rid in rids:
        for j, p in enumerate(members):
            p.join(rid, Role.OWNER if j % 2 == 0 else Role.STATION, deposit=10**16)
    chain.increase_time(61)
    for rid in rids:
        members[0].propose(rid, ProposalSpec(spec_hash=b"\x11" * 32, uri="bench", arch_id=1, promised_acc_bps=5000,
                                             global_rounds=1, label_mask=1, price=10**15), bond=10**16)
    chain.increase_time(61)
    for rid in rids:
        for p in members:
            p.commit_claims(rid, [10**14], new_salt())
    return chain, client, rids


def run_bench(rounds: int = 4, participants: int = 10, concurrency: int = 16, seconds: float = 5.0,
              block_time: float = 1.0, workdir: Path | None = None) -> dict[str, Any]:
    from backend.health import wait_until_serving
    from hcfl.bench.chain import _hcfl_command
    from hcfl.net import free_port

    t0 = time.perf_counter()
    chain, client, rids = _setup_chain(rounds, participants, block_time)
    tmp = tempfile.TemporaryDirectory(prefix="hcfl-bench-reads-") if workdir is None else None
    work = Path(tmp.name) if tmp else workdir
    assert work is not None
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = work / "coordinator.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    env = dict(os.environ, PATH=f"{Path(__file__).resolve().parents[2] / 'node_modules' / '.bin'}{os.pathsep}"
                                f"{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(_hcfl_command() + [
        "serve", "--chain", chain.rpc_url or "", "--contract", client.address, "--port", str(port),
        "--db", str(work / "coordinator.sqlite"), "--data-dir", str(work / "data"), "--poll", "0.5",
        "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    results: list[RouteResult] = []
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", proc=proc, timeout=120, log_path=log_path)
        setup_s = time.perf_counter() - t0
        static_rps = None
        for route in ROUTES:
            lat, errors, secs = measure(port, route, rids, concurrency, seconds)
            ms = sorted(x * 1000 for x in lat)
            rps = len(ms) / secs
            static_rps = static_rps or rps
            results.append(RouteResult(route=route, requests=len(ms), errors=errors, rps=round(rps, 1),
                                       share_of_static=round(rps / static_rps, 3) if static_rps else 0.0,
                                       p50_ms=round(_pct(ms, 50), 2), p99_ms=round(_pct(ms, 99), 2),
                                       max_ms=round(ms[-1] if ms else float("nan"), 2)))
        head = int(chain.w3.eth.block_number)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        chain.close()
        if tmp is not None:
            tmp.cleanup()
    return {"rounds": rounds, "participants": participants, "concurrency": concurrency, "seconds": seconds,
            "block_time": block_time, "blocks": head, "setup_seconds": round(setup_s, 1),
            "cpus": os.cpu_count(), "python": platform.python_version(), "results": [asdict(r) for r in results]}


def render(report: dict[str, Any]) -> str:
    lines = [f"read API vs static route: `hcfl serve` on loopback, {report['concurrency']} keep-alive clients, "
             f"{report['seconds']} s per route; anvil block time {report['block_time']} s ({report['blocks']} blocks), "
             f"{report['rounds']} rounds in Committing x {report['participants']} participants",
             "", "| route | requests | req/s | share of static | p50 ms | p99 ms | max ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        lines.append(f"| `{r['route']}` | {r['requests']:,} | {r['rps']:,.1f} | {r['share_of_static']:.2f} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['errors']} |")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=4, help="rounds in progress (default 4)")
    parser.add_argument("--participants", type=int, default=10, help="participants per round (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent loopback clients (default 16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per route (default 5)")
    parser.add_argument("--block-time", type=float, default=1.0, help="anvil's block time (default 1 s)")
    parser.add_argument("--json", type=Path, help="write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    from hcfl.bench.gas import _ensure_anvil_on_path

    _ensure_anvil_on_path()
    report = run_bench(rounds=args.rounds, participants=args.participants, concurrency=args.concurrency,
                       seconds=args.seconds, block_time=args.block_time)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = all(r["errors"] == 0 for r in report["results"])
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    ns = argparse.ArgumentParser()
    add_arguments(ns)
    sys.exit(run(ns.parse_args()))

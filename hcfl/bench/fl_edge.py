"""Edge-tier rows of `hcfl bench fl`: one global round with kappa edge rounds, run (a) in-process with
fl_worker.hfl.StationTrainer (the bare training compute) and (b) for real: S station cells (EdgeCell, Flower
gRPC servers, driven concurrently from this process) with C `hcfl edge-client` processes each, holding the
same data slices as .npz folders, then the global FedAvg over the stations.

Reported per configuration: seconds per global round in-process (every client trained one after the other
in one process) and over Flower (clients in parallel processes, stations concurrently); the bare compute on
the critical path of a Flower round (per station: the sum over edge rounds of the slowest client's own
training time, as the clients measure it; the slowest station; plus the global FedAvg), the overhead ratio
(Flower wall time / that compute) and the milliseconds the system adds to it; and bytes per tier
(edge: models sent to and received from the edge clients, measured on the cells; coordinator tier: one
model down and one up per station)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

EDGE_GRID: tuple[dict[str, Any], ...] = (
    {"name": "demo scale", "stations": 3, "clients": 2, "arch": "mlp", "hidden": (64,), "edge_rounds": 2,
     "local_epochs": 2},
    {"name": "heavier (CNN, E=24)", "stations": 3, "clients": 2, "arch": "cnn", "hidden": (), "edge_rounds": 2,
     "local_epochs": 24},
)


def measure_edge(case: dict[str, Any], rounds: int = 3, seed: int = 0) -> dict[str, Any]:
    from eth_account import Account

    from fl_worker.data import load_digits
    from fl_worker.edge.cell import CellConfig, EdgeCell
    from fl_worker.hfl import StationConfig, StationTrainer, aggregate_stations
    from fl_worker.local import TrainConfig, set_deterministic
    from fl_worker.models import ModelSpec, build_model, state_of
    from fl_worker.partition import partition_iid
    from fl_worker.wire import encode_state

    set_deterministic(1)
    data = load_digits(seed=seed)
    spec = ModelSpec(arch=case["arch"], input_shape=data.input_shape, hidden=tuple(case["hidden"]))
    S, C, kappa, E = case["stations"], case["clients"], case["edge_rounds"], case["local_epochs"]
    parts = partition_iid(len(data.train), S, C, seed)
    slices = [[data.train.subset(torch.as_tensor(idx)) for idx in station] for station in parts]
    initial = state_of(build_model(spec))
    model_bytes = len(encode_state(initial))

    # (a) in-process: the bare training compute of the same work
    trainers = [StationTrainer(spec, clients, StationConfig(edge_rounds=kappa, seed=seed,
                                                            train=TrainConfig(local_epochs=E, batch_size=32, lr=0.05)),
                               station_id=j) for j, clients in enumerate(slices)]
    state = initial
    t0 = time.perf_counter()
    for r in range(rounds):
        state = aggregate_stations([t.train_global_round(state, r) for t in trainers])
    inproc = (time.perf_counter() - t0) / rounds

    # (b) over Flower with real edge-client processes
    tmp = Path(tempfile.mkdtemp(prefix="hcfl-edge-bench-"))
    cells = [EdgeCell(Account.create(), CellConfig(min_clients=C, round_timeout=120)) for _ in range(S)]
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FLWR_TELEMETRY_ENABLED": "0"}
    try:
        for j, cell in enumerate(cells):
            cell.start()
            cell.announce(31337, "0x" + "ab" * 20, 0, spec, 0x3FF)
            for c, split in enumerate(slices[j]):
                folder = tmp / f"s{j}c{c}"
                folder.mkdir()
                np.savez(folder / "data.npz", X=split.X.numpy(), y=split.y.numpy())
                key = tmp / f"s{j}c{c}.key"
                key.write_text(Account.create().key.hex())
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "hcfl.cli", "edge-client", "--station", f"http://{cell.http_address}",
                     "--key", str(key), "--data", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env=env))
        deadline = time.monotonic() + 180
        while any(cell.clients.num_available() < C for cell in cells):
            if time.monotonic() > deadline:
                raise RuntimeError("edge clients did not connect within 180 s")
            time.sleep(0.1)

        def station_round(j: int, g: int, start: dict[str, torch.Tensor]):
            return cells[j].train_global_round(chain_id=31337, contract="0x" + "ab" * 20, round_id=0, g=g, spec=spec,
                                               label_mask=0x3FF, global_state=start, edge_rounds=kappa,
                                               local_epochs=E, batch_size=32, lr=0.05, seed=seed)

        state = initial
        edge_down = edge_up = 0
        critical = 0.0
        with ThreadPoolExecutor(max_workers=S) as pool:
            # one untimed warm-up round (first fit in each client process pays its imports)
            list(pool.map(lambda j: station_round(j, 0, initial), range(S)))
            t0 = time.perf_counter()
            for r in range(1, rounds + 1):
                results = list(pool.map(lambda j, r=r, s=state: station_round(j, r, s), range(S)))
                t_agg = time.perf_counter()
                edge_down += sum(x.bytes_down for x in results)
                edge_up += sum(x.bytes_up for x in results)
                state = aggregate_stations([_as_station_result(j, x) for j, x in enumerate(results)])
                critical += max(x.seconds_critical_compute for x in results) + time.perf_counter() - t_agg
            flower = (time.perf_counter() - t0) / rounds
            critical /= rounds
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for cell in cells:
            cell.stop()
    return {"case": case["name"], "stations": S, "clients_per_station": C, "arch": case["arch"], "edge_rounds": kappa,
            "local_epochs": E, "seconds_in_process": inproc, "seconds_flower": flower,
            "seconds_critical_compute": critical, "overhead_ratio": flower / critical,
            "added_ms": (flower - critical) * 1000, "model_bytes": model_bytes,
            "edge_bytes_per_round": (edge_down + edge_up) // rounds,
            "coordinator_bytes_per_round": 2 * S * model_bytes}


def _as_station_result(j: int, cell_round: Any) -> Any:
    from fl_worker.hfl import StationResult

    return StationResult(j, cell_round.global_round, cell_round.state, cell_round.samples, cell_round.accuracy)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ("| case | stations x clients | model | kappa, E | s/global round in-process | s/global round over Flower "
            "| bare compute on its critical path (s) | overhead ratio | added ms | edge tier KiB/round "
            "| coordinator tier KiB/round |\n"
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
    return head + "".join(
        f"| {r['case']} | {r['stations']} x {r['clients_per_station']} | {r['arch']} ({r['model_bytes'] / 1024:.1f} KiB) "
        f"| {r['edge_rounds']}, {r['local_epochs']} | {r['seconds_in_process']:.3f} | {r['seconds_flower']:.3f} "
        f"| {r['seconds_critical_compute']:.3f} "
        f"| {r['overhead_ratio']:.2f} | {r['added_ms']:.0f} | {r['edge_bytes_per_round'] / 1024:,.1f} "
        f"| {r['coordinator_bytes_per_round'] / 1024:,.1f} |\n" for r in rows)

"""`hcfl bench fl`: cost of one global round of the FL engine on digits.

For 2/5/10 base stations x 5/10 edge clients each it reports:
- seconds per global round, hierarchical (kappa edge rounds, E local epochs) and flat FedAvg;
- peak memory, two ways. `rss_delta_mib`: growth of the process's resident-set high-water mark
  (getrusage ru_maxrss) from just after the data is loaded to the end of the timed rounds, measured
  in a fresh process per configuration (maxrss never goes down, so a shared process would hide
  later cases behind earlier ones). It includes torch's C++ tensor allocations. `tracemalloc_mib`:
  peak of Python-level allocations during one extra round; tracemalloc does not see torch's
  allocator, so it is a lower bound showing interpreter-side overhead only;
- bytes sent to the coordinator per global round: hierarchical = one model per station, flat =
  one model per client (model size = len(safetensors bytes)); plus the hierarchical edge traffic
  (clients to their station, kappa times per global round), which stays inside each cell.
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

GRID: tuple[tuple[int, int], ...] = ((2, 5), (2, 10), (5, 5), (5, 10), (10, 5), (10, 10))


class BenchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stations: int = Field(ge=1)
    clients_per_station: int = Field(ge=1)
    rounds: int = Field(default=3, ge=1)
    edge_rounds: int = Field(default=2, ge=1)
    local_epochs: int = Field(default=2, ge=1)
    batch_size: int = 32
    arch: str = "cnn"
    threads: int = 1  # see the note in fl_worker.experiments.cooperation: tiny models, busy cores
    seed: int = 0


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def measure(config: BenchConfig) -> dict[str, Any]:
    """Run one configuration in the current process and return its row."""
    from fl_worker.aggregate import weighted_average
    from fl_worker.data import load_digits
    from fl_worker.hfl import HFLConfig, StationTrainer, aggregate_stations, station_datasets
    from fl_worker.local import TrainConfig, set_deterministic
    from fl_worker.models import ModelSpec, build_model, state_of
    from fl_worker.partition import partition_iid
    from fl_worker.wire import encode_state

    set_deterministic(config.threads)
    data = load_digits(seed=config.seed)
    spec = ModelSpec(arch=config.arch, input_shape=data.input_shape, num_classes=data.num_classes)
    rss_before = _maxrss_mib()
    parts = partition_iid(len(data.train), config.stations, config.clients_per_station, config.seed)
    stations = station_datasets(data.train, parts)
    hfl = HFLConfig(
        edge_rounds=config.edge_rounds,
        seed=config.seed,
        train=TrainConfig(local_epochs=config.local_epochs, batch_size=config.batch_size),
    )
    trainers = [StationTrainer(spec, c, hfl, station_id=j) for j, c in enumerate(stations)]
    initial = state_of(build_model(spec))

    def hierarchical_round(state: dict, r: int) -> dict:
        return aggregate_stations([t.train_global_round(state, r) for t in trainers])

    def flat_round(state: dict, r: int) -> dict:
        return weighted_average([u for t in trainers for u in t.client_updates(state, r)])

    timings: dict[str, float] = {}
    for name, step in (("hierarchical", hierarchical_round), ("flat", flat_round)):
        state = initial
        t0 = time.perf_counter()
        for r in range(config.rounds):
            state = step(state, r)
        timings[name] = (time.perf_counter() - t0) / config.rounds
    rss_delta = _maxrss_mib() - rss_before

    tracemalloc.start()
    hierarchical_round(initial, config.rounds)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    model_bytes = len(encode_state(initial))
    clients = config.stations * config.clients_per_station
    return {
        "stations": config.stations,
        "clients_per_station": config.clients_per_station,
        "clients": clients,
        "samples": len(data.train),
        "seconds_per_round_hierarchical": timings["hierarchical"],
        "seconds_per_round_flat": timings["flat"],
        "rss_delta_mib": rss_delta,
        "tracemalloc_mib": traced_peak / 2**20,
        "model_bytes": model_bytes,
        "coordinator_bytes_hierarchical": config.stations * model_bytes,
        "coordinator_bytes_flat": clients * model_bytes,
        "edge_bytes_hierarchical": config.edge_rounds * clients * model_bytes,
        "threads": torch.get_num_threads(),
    }


def _measure_child(config_json: str, queue: "multiprocessing.Queue[Any]") -> None:
    try:
        queue.put(("ok", measure(BenchConfig.model_validate_json(config_json))))
    except BaseException as exc:  # report, don't hang the parent
        queue.put(("error", repr(exc)))


def measure_isolated(config: BenchConfig) -> dict[str, Any]:
    """`measure` in a fresh spawned process, so ru_maxrss starts from that process's own baseline."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[Any] = ctx.Queue()
    proc = ctx.Process(target=_measure_child, args=(config.model_dump_json(), queue))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"bench case {config.stations}x{config.clients_per_station} failed: {payload}")
    return payload


def run_bench(
    grid: tuple[tuple[int, int], ...] = GRID, *, quick: bool = False, isolate: bool = True, **overrides: Any
) -> list[dict[str, Any]]:
    rows = []
    for stations, clients in grid:
        config = BenchConfig(
            stations=stations, clients_per_station=clients, **({"rounds": 1} if quick else {}), **overrides
        )
        log.info("bench %d stations x %d clients", stations, clients)
        rows.append(measure_isolated(config) if isolate else measure(config))
    return rows


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| stations | clients/station | s/round HFL | s/round flat | peak RSS Δ (MiB) | tracemalloc peak (MiB) "
        "| to coordinator HFL (KiB) | to coordinator flat (KiB) | edge uplink HFL (KiB) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['stations']} | {r['clients_per_station']} | {r['seconds_per_round_hierarchical']:.3f} "
        f"| {r['seconds_per_round_flat']:.3f} | {r['rss_delta_mib']:.1f} | {r['tracemalloc_mib']:.2f} "
        f"| {_kib(r['coordinator_bytes_hierarchical'])} | {_kib(r['coordinator_bytes_flat'])} "
        f"| {_kib(r['edge_bytes_hierarchical'])} |\n"
        for r in rows
    )
    return head + body


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="one timed round per configuration")
    parser.add_argument("--json", dest="json_file", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--rounds", type=int, default=3, help="timed global rounds per configuration")
    parser.add_argument("--edge-rounds", type=int, default=2, help="kappa: edge rounds per global round")
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--arch", choices=["mlp", "cnn", "resnet"], default="cnn")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process")
    parser.add_argument("--no-isolate", action="store_true", help="run every case in this process (RSS Δ less meaningful)")
    parser.add_argument("--edge", choices=["yes", "no", "only"], default="yes",
                        help="also (yes) or only (only) the real edge tier: Flower cells with hcfl edge-client processes")


def run(args: argparse.Namespace) -> int:
    overrides = {
        "edge_rounds": args.edge_rounds,
        "local_epochs": args.local_epochs,
        "arch": args.arch,
        "threads": args.threads,
    }
    if not args.quick:
        overrides["rounds"] = args.rounds
    edge_rows: list[dict[str, Any]] = []
    if args.edge != "no":
        from hcfl.bench.fl_edge import EDGE_GRID, measure_edge
        from hcfl.bench.fl_edge import markdown_table as edge_table

        edge_rows = [measure_edge(case, rounds=1 if args.quick else args.rounds) for case in EDGE_GRID]
        print("edge tier: one global round in-process (bare compute) vs over Flower with real hcfl edge-client "
              "processes (digits, IID)\n")
        print(edge_table(edge_rows))
        if args.edge == "only":
            if args.json_file:
                Path(args.json_file).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json_file).write_text(json.dumps({"edge": edge_rows}, indent=2))
            return 0
    rows = run_bench(quick=args.quick, isolate=not args.no_isolate, **overrides)
    first = rows[0]
    print(
        f"digits ({first['samples']} training samples, IID), {args.arch} ({_kib(first['model_bytes'])} KiB as "
        f"safetensors), kappa={args.edge_rounds}, E={args.local_epochs}, {first['threads']} torch thread(s)\n"
    )
    print(markdown_table(rows))
    if args.json_file:
        Path(args.json_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_file).write_text(json.dumps(rows if not edge_rows else {"grid": rows, "edge": edge_rows}, indent=2))
    return 0

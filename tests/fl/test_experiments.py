from __future__ import annotations

import json

import torch

from fl_worker.experiments.cooperation import run_experiment, select_target
from hcfl.bench import fl as bench


def test_selection_follows_first_max_rule():
    # proposal 1 has the larger surplus; a tie goes to the lower index; all negative -> none
    assert select_target([[5, 9]], [[1, 1]]).selected == 1
    assert select_target([[5, 5]], [[1, 1]]).selected == 0
    assert select_target([[1, 1]], [[5, 5]]).selected is None


def test_quick_cooperation_vcg_beats_random(tmp_path):
    result = run_experiment(tmp_path, quick=True, seed=0)
    assert result["vcg_beats_random"], (result["mean"], result["final"])
    assert result["mean"]["vcg"] > result["mean"]["random_expected"]
    trial = result["trials"][0]
    assert set(trial["market"]["intersection"]) <= set(trial["vcg_target"])
    assert not trial["vcg_selected_none"]
    saved = json.loads((tmp_path / "cooperation.json").read_text())
    assert saved["accuracy"]["vcg"] == result["accuracy"]["vcg"]
    assert (tmp_path / "cooperation.png").stat().st_size > 1000
    assert torch.get_num_threads() == 1  # restored to the session's setting


def test_bench_row_and_table():
    row = bench.measure(bench.BenchConfig(stations=2, clients_per_station=2, rounds=1, edge_rounds=1, local_epochs=1))
    assert row["coordinator_bytes_hierarchical"] == 2 * row["model_bytes"]
    assert row["coordinator_bytes_flat"] == 4 * row["model_bytes"]
    assert row["seconds_per_round_hierarchical"] > 0
    table = bench.markdown_table([row])
    assert table.count("\n") == 3 and "| 2 | 2 |" in table


def test_cli_wiring():
    from hcfl.cli import build_parser

    args = build_parser(only="experiment").parse_args(
        ["experiment", "cooperation", "--quick", "--seed", "3", "--dataset", "mnist", "--data-dir", "/x"]
    )
    assert args.func.__module__ == "fl_worker.experiments.cooperation"
    assert (args.quick, args.seed, args.dataset, args.data_dir, args.out) == (True, 3, "mnist", "/x", "out/cooperation")
    args = build_parser(only="bench").parse_args(["bench", "fl", "--quick", "--json", "f.json"])
    assert args.func.__module__ == "hcfl.bench.fl" and args.quick and args.json_file == "f.json"

"""`hcfl bench system --logs DIR`: the per-global-round table read from the logs of a kept demo (coordinator close
lines and the daemons' "edge compute=" lines), for both close-line formats: "(TOTALs, compute Cs)" counts only C
as the coordinator's compute, the older "(TOTALs)" counts the whole close. And the demo's workload options
(local epochs, hidden widths, global rounds)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hcfl.bench.system import analyse, markdown_table

CLOSE = ("2026-11-30 10:00:{s} INFO backend.services.training: round 0: global round {n}/5 closed: 3/3 stations, "
         "1347 samples, accuracy 0.9, model 0xabc ({tail})")
EDGE = ("2026-11-30 10:00:{s} INFO hcfl.aggregator: round 0 g={g}: 2 edge client(s) included (370 samples), root 0x1; "
        "absent none; rejected none; edge compute={c}s flower=0.100s")


def _write(folder: Path, tails: list[str]) -> None:
    folder.mkdir()
    (folder / "coordinator.log").write_text("\n".join(
        CLOSE.format(s=f"{10 + g:02d},000", n=g + 1, tail=tail) for g, tail in enumerate(tails)) + "\n")
    for station, scale in (("station-1", 1.0), ("station-2", 2.0)):
        (folder / f"aggregator-{station}.log").write_text("\n".join(
            EDGE.format(s=f"{10 + g:02d},000", g=g, c=f"{0.1 * scale:.3f}") for g in range(len(tails))) + "\n")


def test_rows_count_only_the_close_compute(tmp_path: Path) -> None:
    _write(tmp_path / "run", ["0.050s, compute 0.010s", "0.050s, compute 0.010s", "0.040s, compute 0.020s"])
    rows = analyse(tmp_path)
    assert [r["global_round"] for r in rows] == [1, 2]  # g = 0 pays the imports: no row
    r = rows[1]
    assert r["wall_s"] == 1.0 and r["edge_compute_s"] == 0.2 and r["close_compute_s"] == 0.02
    assert r["bare_s"] == 0.22 and r["added_ms"] == 780 and r["ratio"] == round(1 / 0.22, 2)
    table = markdown_table(rows)
    assert rows[0]["added_ms"] == 790 and "median 785 ms" in table
    assert f"ratio median {(rows[0]['ratio'] + rows[1]['ratio']) / 2:.3f}" in table


def test_older_close_lines_count_whole(tmp_path: Path) -> None:
    _write(tmp_path / "run", ["0.05s", "0.05s"])
    (row,) = analyse(tmp_path)
    assert row["close_compute_s"] == 0.05 and row["bare_s"] == 0.25 and row["added_ms"] == 750


def test_no_coordinator_log(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        analyse(tmp_path)


def test_workload_options() -> None:
    from backend.demo_cli import add_workload_arguments, workload_argv

    p = argparse.ArgumentParser()
    add_workload_arguments(p)
    args = p.parse_args(["--local-epochs", "25", "--hidden", "768,768", "--global-rounds", "8"])
    assert workload_argv(args) == ["--local-epochs", "25", "--hidden", "768,768", "--global-rounds", "8"]
    assert workload_argv(p.parse_args([])) == []
    for bad in (["--local-epochs", "0"], ["--local-epochs", "101"], ["--hidden", "0"], ["--hidden", "a,b"],
                ["--global-rounds", "0"], ["--global-rounds", "101"], ["--global-rounds", "x"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)

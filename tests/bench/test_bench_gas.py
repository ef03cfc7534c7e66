"""`hcfl bench gas` (contract v2 only): its command line and one tiny run on the embedded chain (real py-evm)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from hcfl.bench import gas


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    gas.add_arguments(parser)
    args = parser.parse_args(["--quick", "--chain", "embedded", "--json", "x.json"])
    assert args.quick and args.chain == "embedded" and args.json == Path("x.json") and args.ns is None
    assert parser.parse_args(["--ns", "4,8"]).ns == [4, 8]
    assert parser.parse_args(["--n", "10000"]).ns == [10000]  # the opt-in 10,000-participant round


def test_tiny_run_writes_table_and_json(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    gas.add_arguments(parser)
    out = tmp_path / "gas.json"
    assert gas.run(parser.parse_args(["--chain", "embedded", "--quick", "--ns", "4", "--json", str(out)])) == 0
    text = capsys.readouterr().out
    assert "| owner | join " in text and "| 4 (2 + 2) | 10 |" in text
    data = json.loads(out.read_text())
    assert data["chain"] == "embedded" and [r["n"] for r in data["settle"]] == [4]
    assert all(p["total"] > 21_000 for p in data["participants"])

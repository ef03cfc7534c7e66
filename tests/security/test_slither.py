"""Slither's High and Medium findings over contracts/ are all triaged in docs/security.md."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLITHER_PY = ROOT / ".venv-slither" / "bin" / "python"


@pytest.mark.skipif(not SLITHER_PY.exists(), reason="run `make slither-deps` (make test installs it)")
def test_no_unexplained_high_or_medium_finding(tmp_path: Path) -> None:
    out = tmp_path / "slither.json"
    proc = subprocess.run(
        [str(SLITHER_PY), str(ROOT / "scripts" / "slither_check.py"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert out.exists(), proc.stderr[-3000:]
    findings = json.loads(out.read_text())
    unexplained = [f"{f['detector']} at {f['location']}" for f in findings if not f["reason"]]
    assert proc.returncode == 0 and not unexplained, proc.stdout + "\n".join(unexplained)


def test_triage_parser_reads_the_security_doc() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    assert "| detector | location | reason |" in text

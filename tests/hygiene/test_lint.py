"""Hygiene gates (issue 11 §7): ruff and mypy, pinned in the Makefile and installed in their own venv
(.venv-lint: mypy 2.x needs pathspec>=1, eth-brownie pins pathspec==0.12.1), are clean on the whole tree.
Their configuration is in pyproject.toml; `make lint` runs the same two commands."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv-lint" / "bin"
MAKEFILE = (ROOT / "Makefile").read_text()

pytestmark = pytest.mark.skipif(not (BIN / "ruff").exists() or not (BIN / "mypy").exists(),
                                reason="run `make lint-deps` (make test installs it)")


def _pin(name: str) -> str:
    m = re.search(rf"^{name}_VERSION := (\S+)$", MAKEFILE, re.M)
    assert m, f"{name}_VERSION is not pinned in the Makefile"
    return m.group(1)


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_pinned_versions_are_installed() -> None:
    assert _run(str(BIN / "ruff"), "--version").stdout.split() == ["ruff", _pin("RUFF")]
    assert _run(str(BIN / "mypy"), "--version").stdout.split()[:2] == ["mypy", _pin("MYPY")]


def test_ruff_is_clean_on_the_whole_tree() -> None:
    res = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]


def test_mypy_is_clean_on_the_project_packages() -> None:
    res = _run(str(BIN / "mypy"), "--no-incremental")  # files = hcfl, backend, fl_worker, scripts (pyproject.toml)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "Success: no issues found" in res.stdout


def test_the_gates_report_a_finding(tmp_path: Path) -> None:
    """The same configuration flags an unused import (ruff) and a wrong type (mypy): the gates can fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x: int) -> str:\n    return x\n")
    ruff = _run(str(BIN / "ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad), cwd=tmp_path)
    assert ruff.returncode == 1 and "F401" in ruff.stdout, ruff.stdout
    mypy = _run(str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental", str(bad), cwd=tmp_path)
    assert mypy.returncode == 1 and "Incompatible return value type" in mypy.stdout, mypy.stdout

"""Offline Solidity toolchain: solc-js from npm behind a native-solc-compatible shim.

py-solc-x and Brownie look for compilers in py-solc-x's binary folder as ``solc-v<version>``;
installing the shim there makes both use the npm compiler without downloading anything.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIM_TEMPLATE = Path(__file__).with_name("solc_shim.js")


class ToolchainError(RuntimeError):
    """The offline compiler or dev chain is not installed."""


def node_modules() -> Path:
    return Path(os.environ.get("HCFL_NODE_MODULES", PROJECT_ROOT / "node_modules"))


def solc_js_version() -> str:
    """The version pinned in node_modules/solc (e.g. '0.8.28')."""
    pkg = node_modules() / "solc" / "package.json"
    if not pkg.exists():
        raise ToolchainError(f"solc-js is not installed ({pkg} missing): run `make install`")
    return json.loads(pkg.read_text())["version"]


def solcx_binary_folder() -> Path:
    return Path(os.environ.get("SOLCX_BINARY_PATH", Path.home() / ".solcx"))


def shim_path() -> Path:
    return solcx_binary_folder() / f"solc-v{solc_js_version()}"


def install_shim() -> Path:
    """Write the shim as ``solc-v<version>`` into py-solc-x's folder; idempotent."""
    if shutil.which("node") is None:
        raise ToolchainError("node is not on PATH; the solc-js shim needs Node.js")
    target = shim_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = SHIM_TEMPLATE.read_text().replace("__SOLC_MODULE__", str(node_modules() / "solc"))
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    out = subprocess.run([str(target), "--version"], capture_output=True, text=True, check=True)
    if "Version:" not in out.stdout:
        raise ToolchainError(f"solc shim answered unexpectedly: {out.stdout!r} {out.stderr!r}")
    return target


def anvil_binary() -> Path:
    """The anvil launcher installed by the npm package @foundry-rs/anvil."""
    candidate = node_modules() / ".bin" / "anvil"
    if candidate.exists():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolchainError("anvil is not installed: run `make install` (npm package @foundry-rs/anvil)")

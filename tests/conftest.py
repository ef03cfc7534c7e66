"""Session-wide set-up: the npm tools (anvil) on PATH for every test, including Brownie's plugin,
which launches anvil for its `development` network."""
import os
from pathlib import Path

_NODE_BIN = Path(__file__).resolve().parents[1] / "node_modules" / ".bin"
if str(_NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

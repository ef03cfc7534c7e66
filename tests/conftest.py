"""Session-wide set-up: the npm tools (anvil) on PATH for every test, including Brownie's plugin,
which launches anvil for its `development` network."""
import os
from pathlib import Path

_NODE_BIN = Path(__file__).resolve().parents[1] / "node_modules" / ".bin"
if str(_NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def _brownie_dev_port() -> None:
    """Brownie's `development` network launches anvil on port 8545, or attaches to whatever already listens
    there, so two test runs on one machine would share (and revert each other's) chain. Give this run a
    free port of its own (HCFL_BROWNIE_PORT pins one)."""
    try:
        from brownie._config import CONFIG
    except ImportError:  # pragma: no cover - Brownie is pinned in requirements.lock
        return
    import socket

    port = os.environ.get("HCFL_BROWNIE_PORT")
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
    dev = CONFIG.networks.get("development")
    if dev is not None and isinstance(dev.get("cmd_settings"), dict):
        dev["cmd_settings"]["port"] = int(port)


_brownie_dev_port()

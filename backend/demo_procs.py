"""The demo's worker processes (`hcfl aggregator`, `hcfl edge-client`), started without paying nine imports.

Nine fresh interpreters each importing torch and Flower cost about 2.5 CPU-seconds apiece, the better part of the
demo on two cores. A multiprocessing *forkserver* (a clean process that imported those modules once, before any
thread or computation) forks each worker instead: every worker is still its own process with its own pid, memory,
keys, data folder and log file, talking HTTP/gRPC on loopback, running exactly `hcfl.cli.main(argv)`.
`Worker` gives the demo the part of `subprocess.Popen` it uses (poll, wait, send_signal, kill, pid, returncode).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Any

# imported once by the forkserver (a failing import is skipped by multiprocessing, never fatal); torch._dynamo is
# what torch imports at a process's first optimizer step (about 800 modules, 0.7 CPU-s): once here, not in each of
# the six edge devices at once in the first edge round
PRELOAD = ["torch", "torch._dynamo", "numpy", "httpx", "web3", "fl_worker.models", "fl_worker.wire", "fl_worker.hfl",
           "fl_worker.daemon", "fl_worker.edge.client", "fl_worker.edge.data", "hcfl.edge.client_side",
           "flwr.server.client_manager", "flwr.compat.client.app"]

_CTX: Any = None


def _context() -> Any:
    global _CTX
    if _CTX is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _CTX = ctx
    return _CTX


def warm_up() -> None:
    """Start the forkserver now (its imports then overlap with whatever the caller does next)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _child(argv: list[str], log_path: str, env: dict[str, str]) -> None:
    import logging

    os.environ.update(env)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own stdout
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from hcfl.cli import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


class Worker:
    """A forked `hcfl` command, with the Popen methods the demo uses."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.args = argv
        self._proc = _context().Process(target=_child, args=(list(argv), str(log_path), dict(env or {})),
                                        name=f"hcfl {argv[0] if argv else ''}")
        self._proc.start()
        self.pid = self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.exitcode

    def poll(self) -> int | None:
        return self._proc.exitcode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        self._proc.join(timeout)
        if self._proc.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        if self._proc.exitcode is None and self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def stop_server() -> None:
    """Stop the forkserver (after its workers exited) and reap it, so the workers' CPU time counts in this
    process's children (`time hcfl demo`)."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()  # type: ignore[attr-defined]

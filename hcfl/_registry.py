"""Lazy name -> module registries for `hcfl experiment NAME` and `hcfl bench NAME`.

A registered module exposes `add_arguments(parser)` (optional) and `run(args) -> int`.
"""
from __future__ import annotations

import argparse
import importlib
from types import ModuleType


def add_registry_command(
    sub: argparse._SubParsersAction, command: str, help_text: str, entries: dict[str, tuple[str, str]]
) -> None:
    parser = sub.add_parser(command, help=help_text)
    inner = parser.add_subparsers(dest="name", metavar="NAME")
    for name, (module_name, summary) in entries.items():
        child = inner.add_parser(name, help=summary)
        module = _try_import(module_name)
        if module is None:
            child.set_defaults(func=_missing(module_name))
            continue
        if hasattr(module, "add_arguments"):
            module.add_arguments(child)
        child.set_defaults(func=module.run)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _try_import(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


def _missing(module_name: str):
    def run(args: argparse.Namespace) -> int:
        raise SystemExit(f"hcfl: {module_name} is not available in this installation")

    return run

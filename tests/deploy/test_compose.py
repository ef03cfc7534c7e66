"""docker-compose.yml is a valid Compose file (Compose Specification schema, as `docker compose config`
checks; no Docker engine runs here) and every service command is a valid `hcfl`/anvil invocation."""
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from hcfl.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_matches_the_specification_schema(compose):
    out = subprocess.run(["node", str(ROOT / "scripts" / "check_compose.mjs")], input=json.dumps(compose),
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_compose_rejects_a_broken_file(compose):
    broken = dict(compose, services={"coordinator": {"image": "hcfl", "ports": "8000"}})  # ports must be a list
    out = subprocess.run(["node", str(ROOT / "scripts" / "check_compose.mjs")], input=json.dumps(broken),
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and "ports" in out.stderr


def test_services_and_commands(compose):
    services = compose["services"]
    assert {"anvil", "coordinator", "aggregator-1", "aggregator-2", "aggregator-3"} <= set(services)
    assert services["anvil"]["command"][0] == "anvil"
    for name, svc in services.items():
        cmd = svc["command"] if isinstance(svc["command"], list) else shlex.split(svc["command"])
        assert svc["build"] == "." and svc["image"] == "hcfl:latest"
        if cmd[0] != "hcfl":
            continue
        argv = [a.replace("${HCFL_ROUND:-0}", "0") for a in cmd[1:]]
        args = build_parser(only=argv[0]).parse_args(argv)  # unknown flags would exit here
        assert args.func is not None, name
    assert (ROOT / "Dockerfile").exists()

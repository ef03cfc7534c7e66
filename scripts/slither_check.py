"""Run Slither over contracts/ through the project's solc-js shim and hold its findings against the triage.

Runs in its own venv (.venv-slither: Slither's dependencies conflict with eth-brownie's pins):

    .venv-slither/bin/python scripts/slither_check.py [--json OUT]

The shim speaks only `--standard-json`, so the sources go through crytic-compile's standard-JSON
platform, with via-IR forced (the shim's compiler settings). Every High or Medium finding must be
listed in the triage table of docs/security.md ("| detector | Contract.function | reason |", or `*` as
the location for a detector that is a false positive wherever it fires, with the reason);
exit status 1 names each unexplained one, 0 when there is none.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from crytic_compile import CryticCompile
from crytic_compile.platform.solc_standard_json import SolcStandardJson
from slither import Slither
from slither.detectors import all_detectors
from slither.detectors.abstract_detector import AbstractDetector, DetectorClassification

ROOT = Path(__file__).resolve().parents[1]
SECURITY_DOC = ROOT / "docs" / "security.md"
SERIOUS = {DetectorClassification.HIGH, DetectorClassification.MEDIUM}
TRIAGE_ROW = re.compile(r"^\|\s*`?([a-z0-9-]+)`?\s*\|\s*`?([A-Za-z0-9_.$*]+)`?\s*\|\s*(.+?)\s*\|\s*$")


def solc_shim() -> Path:
    pkg = json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())
    return Path.home() / ".solcx" / f"solc-v{pkg['version']}"


def sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "contracts").rglob("*.sol") if "test" not in p.parts)


def triage() -> dict[tuple[str, str], str]:
    """(detector, Contract.function) -> reason, from docs/security.md."""
    out: dict[tuple[str, str], str] = {}
    if SECURITY_DOC.exists():
        for line in SECURITY_DOC.read_text().splitlines():
            m = TRIAGE_ROW.match(line.strip())
            if m and m.group(1) != "detector" and not set(m.group(1)) <= {"-"}:
                out[(m.group(1), m.group(2))] = m.group(3)
    return out


def _location(elements: list[dict]) -> str:
    for el in elements:
        fn = el if el.get("type") == "function" else el.get("type_specific_fields", {}).get("parent", {})
        if fn.get("type") == "function":
            contract = fn.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
            return f"{contract}.{fn['name']}"
    for el in elements:
        if el.get("type") == "contract":
            return str(el["name"])
    return elements[0].get("name", "?") if elements else "?"


def optimizer_runs() -> int:
    """The project's optimizer runs, read from hcfl/chain/compile.py (this venv cannot import hcfl)."""
    m = re.search(r"^OPTIMIZER_RUNS = (\d+)", (ROOT / "hcfl" / "chain" / "compile.py").read_text(), re.M)
    if m is None:
        raise SystemExit("OPTIMIZER_RUNS not found in hcfl/chain/compile.py")
    return int(m.group(1))


def findings() -> list[dict]:
    standard = SolcStandardJson()
    standard.add_source_files(sources())
    settings = standard.to_dict()["settings"]
    settings["viaIR"] = True
    # via-IR without the optimizer cannot move variables out of the stack (stack too deep in SealedClaims' reveal)
    settings["optimizer"] = {"enabled": True, "runs": optimizer_runs()}
    compiled = CryticCompile(standard, solc=str(solc_shim()), solc_working_dir=str(ROOT))
    slither = Slither(compiled)
    for detector in all_detectors.__dict__.values():
        if isinstance(detector, type) and issubclass(detector, AbstractDetector) and getattr(detector, "IMPACT", None) in SERIOUS:
            slither.register_detector(detector)
    out = []
    for result_list in slither.run_detectors():
        for r in result_list:
            out.append(
                {
                    "detector": r["check"],
                    "impact": r["impact"],
                    "location": _location(r.get("elements", [])),
                    "description": r["description"].strip(),
                }
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every finding and its triage here")
    args = parser.parse_args()
    known = triage()
    results = findings()
    for f in results:
        f["reason"] = known.get((f["detector"], f["location"])) or known.get((f["detector"], "*"))
    unexplained = [f for f in results if f["reason"] is None]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"slither: {len(results)} high/medium findings, {len(results) - len(unexplained)} triaged in docs/security.md")
    for f in unexplained:
        print(f"UNEXPLAINED {f['impact']} {f['detector']} at {f['location']}: {f['description'].splitlines()[0]}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())

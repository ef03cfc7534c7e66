"""Compiles contracts/ with the offline solc-js shim and caches ABI + bytecode as JSON artifacts."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from hcfl.chain import toolchain

log = logging.getLogger(__name__)

CONTRACTS_DIR = toolchain.PROJECT_ROOT / "contracts"
ARTIFACTS_DIR = Path(os.environ.get("HCFL_ARTIFACTS", Path(__file__).with_name("artifacts")))
# These must match brownie-config.yaml so that Brownie and the Python layer deploy the same bytecode.
OPTIMIZER_RUNS = 200
EVM_VERSION = "shanghai"
VIA_IR = True
# Every deployed v2 contract stays at or under 16 KB (EIP-170 allows 24 KB; the rest is room to grow).
SIZE_LIMIT = 16 * 1024


def _sources() -> dict[str, str]:
    return {
        str(p.relative_to(toolchain.PROJECT_ROOT)): p.read_text()
        for p in sorted(CONTRACTS_DIR.rglob("*.sol"))
    }


def sources_digest() -> str:
    h = hashlib.sha256()
    for name, text in _sources().items():
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    h.update(f"{OPTIMIZER_RUNS}:{EVM_VERSION}:{VIA_IR}".encode())
    return h.hexdigest()


# digest of the sources -> their artifacts, as this process read or compiled them: a client built per request (an
# edge device's chain check, a paymaster's reward estimate) would otherwise parse every artifact file again
_LOADED: dict[str, dict[str, dict[str, Any]]] = {}


def compile_all(force: bool = False) -> dict[str, dict[str, Any]]:
    """Compile every contract (cached by a digest of the sources); returns name -> artifact."""
    index = ARTIFACTS_DIR / "index.json"
    digest = sources_digest()
    if not force and digest in _LOADED:
        return _LOADED[digest]
    if not force and index.exists():
        cached = json.loads(index.read_text())
        if cached.get("digest") == digest:
            _LOADED[digest] = {n: json.loads((ARTIFACTS_DIR / f"{n}.json").read_text()) for n in cached["contracts"]}
            return _LOADED[digest]
    import solcx  # imported lazily: only compiling needs it

    shim = toolchain.install_shim()
    std_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in _sources().items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": VIA_IR,
            "evmVersion": EVM_VERSION,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object",
                                             "devdoc", "userdoc"]}},
        },
    }
    log.info("compiling %d Solidity sources with solc-js %s", len(std_input["sources"]), toolchain.solc_js_version())
    out = solcx.compile_standard(std_input, solc_binary=shim, allow_empty=True)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("\n".join(e["formattedMessage"] for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for source, contracts in out["contracts"].items():
        for name, c in contracts.items():
            bytecode = c["evm"]["bytecode"]["object"]
            if not bytecode or not c["abi"]:
                continue  # libraries with internal functions only, abstract contracts
            artifacts[name] = {
                "contractName": name,
                "sourcePath": source,
                "abi": c["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                # library placeholders to fill before deployment: {source: {library: [{start, length}]}}
                "linkReferences": c["evm"]["bytecode"].get("linkReferences", {}),
                "devdoc": c.get("devdoc", {}),
                "userdoc": c.get("userdoc", {}),
                "compiler": toolchain.solc_js_version(),
            }
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for name, art in artifacts.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(json.dumps(art))
    index.write_text(json.dumps({"digest": digest, "contracts": sorted(artifacts)}))
    _LOADED[digest] = artifacts
    return artifacts


def deployed_size(art: dict[str, Any]) -> int:
    """Deployed (runtime) code size in bytes; link placeholders count as the 20-byte addresses they become."""
    return (len(art["deployedBytecode"]) - 2) // 2


def link(art: dict[str, Any], libraries: dict[str, str]) -> str:
    """The creation bytecode of `art` with every library placeholder replaced by `libraries[name]`."""
    hexcode = art["bytecode"][2:]
    for _source, libs in art.get("linkReferences", {}).items():
        for lib, refs in libs.items():
            if lib not in libraries:
                raise KeyError(f"{art['contractName']} needs library {lib}; have {sorted(libraries)}")
            addr = libraries[lib].lower().removeprefix("0x")
            for ref in refs:
                start = 2 * ref["start"]
                hexcode = hexcode[:start] + addr + hexcode[start + 2 * ref["length"]:]
    return "0x" + hexcode


def artifact(name: str) -> dict[str, Any]:
    arts = compile_all()
    if name not in arts:
        raise KeyError(f"no compiled contract named {name}; have {sorted(arts)}")
    return arts[name]

"""`hcfl toolchain install|compile|check` and `hcfl deploy --chain ...`."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    tc = sub.add_parser("toolchain", help="install the offline solc shim, compile the contracts, check anvil")
    tc.add_argument("action", choices=["install", "compile", "check"])
    tc.set_defaults(func=_toolchain)

    dp = sub.add_parser("deploy", help="deploy HCFLCore (contract v2: its module libraries, the core and HCFLLens) and print the addresses")
    dp.add_argument("--chain", default="anvil-url", help="embedded | anvil | RPC URL (default: $HCFL_RPC_URL)")
    dp.add_argument("--key-file", type=Path, help="file holding the deployer's private key (hex); default: dev funder")
    dp.add_argument("--out", type=Path, help="write {address, lens, libraries, chain_id, block} as JSON here")
    dp.set_defaults(func=_deploy)


def _toolchain(args: argparse.Namespace) -> int:
    from hcfl.chain import compile as compile_mod
    from hcfl.chain import toolchain

    if args.action == "install":
        print(f"solc shim: {toolchain.install_shim()}")
    elif args.action == "compile":
        arts = compile_mod.compile_all()
        for name, art in sorted(arts.items()):
            size = compile_mod.deployed_size(art)
            if str(art.get("sourcePath", "")).startswith("contracts/test/"):
                flag = "  (test helper, never deployed)"
            else:
                flag = "" if size <= compile_mod.SIZE_LIMIT else f"  OVER the {compile_mod.SIZE_LIMIT}-byte limit"
            print(f"{name}: {size} bytes deployed{flag}")
    else:
        import subprocess

        print(f"solc-js {toolchain.solc_js_version()} via {toolchain.shim_path()}")
        out = subprocess.run([str(toolchain.anvil_binary()), "--version"], capture_output=True, text=True, check=True)
        print(out.stdout.splitlines()[0])
    return 0


def _deploy(args: argparse.Namespace) -> int:
    import os

    from eth_account import Account

    from hcfl.chain.provider import connect
    from hcfl.chain.v2.client import CoreClient

    target = args.chain
    if target == "anvil-url":
        target = os.environ.get("HCFL_RPC_URL", "http://127.0.0.1:8545")
    if target in ("embedded", "anvil"):
        log.warning("deploying to a throw-away %s chain that ends with this command", target)
    chain = connect(target)
    try:
        deployer = Account.from_key(args.key_file.read_text().strip()) if args.key_file else chain.funder
        core = CoreClient.deploy(chain, deployer)
        info = {"address": core.address, "lens": core.lens.address if core.lens else None,
                "libraries": dict(getattr(core, "libraries", {})), "chain_id": int(chain.w3.eth.chain_id),
                "block": int(chain.w3.eth.block_number)}
        print(json.dumps(info))
        if args.out:
            args.out.write_text(json.dumps(info, indent=2))
    finally:
        chain.close()
    return 0

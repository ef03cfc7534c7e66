"""Brownie deployment script: `brownie run scripts/deploy.py --network NAME` (contract v2).

Deploys HCFLCore's module libraries (Brownie links them into HCFLCore by their latest deployment), HCFLCore
and HCFLLens reading it. On `development` (anvil, launched by Brownie) the first dev account deploys; on any
other network set $HCFL_DEPLOYER_KEY to the deployer's private key. Prints the addresses; Brownie's own
bookkeeping writes build/deployments. `hcfl deploy` does the same without Brownie (hcfl/chain/v2/client.py).
"""
import os

from brownie import HCFLCore, HCFLLens, accounts, network
from brownie import project as _project

LIBRARIES = ("RoundsModule", "SealedClaimsModule", "SettlementModule", "TrainingModule", "PunishmentVoteModule")  # those it links


def main():
    if network.show_active() == "development" or not os.environ.get("HCFL_DEPLOYER_KEY"):
        deployer = accounts[0]
    else:
        deployer = accounts.add(os.environ["HCFL_DEPLOYER_KEY"])
    proj = _project.get_loaded_projects()[0]
    for name in LIBRARIES:
        if hasattr(proj, name):
            lib = getattr(proj, name).deploy({"from": deployer})
            print(f"{name} deployed at {lib.address}")
    core = HCFLCore.deploy({"from": deployer})
    lens = HCFLLens.deploy(core.address, {"from": deployer})
    print(f"HCFLCore deployed at {core.address} (lens {lens.address}) on {network.show_active()}")
    return core

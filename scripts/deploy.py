"""Brownie deployment script: `brownie run scripts/deploy.py --network NAME`.

On `development` (anvil, launched by Brownie) the first dev account deploys; on any other network set
$HCFL_DEPLOYER_KEY to the deployer's private key. Prints the address and writes build/deployments
through Brownie's own bookkeeping.
"""
import os

from brownie import HCFLCrowdfund, accounts, network


def main():
    if network.show_active() == "development" or not os.environ.get("HCFL_DEPLOYER_KEY"):
        deployer = accounts[0]
    else:
        deployer = accounts.add(os.environ["HCFL_DEPLOYER_KEY"])
    contract = HCFLCrowdfund.deploy({"from": deployer})
    print(f"HCFLCrowdfund deployed at {contract.address} on {network.show_active()}")
    return contract

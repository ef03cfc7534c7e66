"""Brownie fixtures: runs under `brownie test tests/brownie` on the development network (anvil)."""
import pytest


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture
def crowdfund(HCFLCrowdfund, accounts):
    return HCFLCrowdfund.deploy({"from": accounts[0]})

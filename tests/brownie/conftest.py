"""Brownie fixtures: runs under `brownie test tests/brownie` on the development network (anvil)."""
import pytest


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture
def core_v2(accounts, HCFLCore, RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule, PunishmentVoteModule):
    """Contract v2: the module libraries, then HCFLCore (Brownie links it to the latest library deployments)."""
    for lib in (RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule, PunishmentVoteModule):
        lib.deploy({"from": accounts[0], "silent": True})
    return HCFLCore.deploy({"from": accounts[0], "silent": True})

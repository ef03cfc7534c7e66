"""Brownie fixtures: runs under `brownie test tests/brownie` on the development network (anvil)."""
import pytest


def _patient_receipts() -> None:
    """Brownie marks a transaction "dropped" when the sender's count already passed its nonce but the node does
    not return it yet; a busy anvil answers the two calls a moment apart (seen twice on the loaded 2-core VM).
    Ask again for a few seconds before Brownie's own wait decides. (Imports inside: Brownie hashes the source
    of every module a test file imports at top level from under the project folder, .venv included.)"""
    import time

    from brownie.network import transaction
    from brownie.network.web3 import web3
    from web3.exceptions import TransactionNotFound

    wait = transaction.TransactionReceipt.wait

    def patient_wait(self, required_confs: int) -> None:
        if required_confs >= 1 and self.nonce is not None:
            for _ in range(50):
                try:
                    web3.eth.get_transaction(self.txid)
                    break
                except TransactionNotFound:
                    time.sleep(0.1)
        wait(self, required_confs)

    transaction.TransactionReceipt.wait = patient_wait


_patient_receipts()


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture
def core_v2(accounts, HCFLCore, RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule, PunishmentVoteModule):
    """Contract v2: the module libraries, then HCFLCore (Brownie links it to the latest library deployments)."""
    for lib in (RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule, PunishmentVoteModule):
        lib.deploy({"from": accounts[0], "silent": True})
    return HCFLCore.deploy({"from": accounts[0], "silent": True})

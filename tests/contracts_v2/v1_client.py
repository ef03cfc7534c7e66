"""The legacy client of contract v1 (HCFLCrowdfund, contracts/test/legacy/): a test helper only, for the
`test_v1_<defect>_reproduced` attack reproductions (issue 8's defects shown against "today's contract").
Production code talks to contract v2 (hcfl.chain.v2.client); the shared transport is hcfl.chain.client.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from v1_types import (  # noqa: E402 - tests/contracts_v2 is on sys.path (conftest)
    Accounting,
    ParticipantView,
    Phase,
    Proposal,
    ProposalSpec,
    Role,
    RoundConfig,
    RoundView,
)
from web3 import Web3

from hcfl.chain.client import ContractClient, Signer, deploy_contract
from hcfl.chain.compile import artifact
from hcfl.protocol import commitments

CONTRACT_NAME = "HCFLCrowdfund"


class HCFLClient(ContractClient):
    """Read access to a deployed HCFLCrowdfund (contract v1, legacy: kept for the v1 regression tests and the
    v1 auditor until v1 is deleted) plus the factory for signing participants."""

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]] | None = None) -> None:
        super().__init__(w3, address, abi or artifact(CONTRACT_NAME)["abi"])

    # ------------------------------------------------------------ deployment
    @classmethod
    def deploy(cls, chain_or_w3: Any, deployer: LocalAccount | None = None) -> "HCFLClient":
        """Deploy a fresh HCFLCrowdfund; `deployer` defaults to the chain's funder."""
        receipt = deploy_contract(chain_or_w3, CONTRACT_NAME, deployer)
        client = cls(getattr(chain_or_w3, "w3", chain_or_w3), receipt["contractAddress"])
        client.deploy_receipt = receipt
        return client

    def as_participant(self, account: LocalAccount | str) -> "Participant":
        if isinstance(account, str):
            account = Account.from_key(account)
        return Participant(self, account)

    def round_count(self) -> int:
        return int(self.call("roundCount"))

    def round(self, round_id: int) -> RoundView:
        v = self.call("getRound", round_id)
        keys = [k for k in RoundView.model_fields if k != "round_id"]
        data = dict(zip(keys, v))
        data["cfg"] = RoundConfig.from_tuple(v[0])
        return RoundView(round_id=round_id, **data)

    def proposals(self, round_id: int) -> list[Proposal]:
        out = []
        for p in self.call("getProposals", round_id):
            proposer, spec_hash, uri, arch, acc, t, mask, bond, price = p
            out.append(Proposal(proposer=proposer, spec_hash=bytes(spec_hash), uri=uri, arch_id=arch,
                                promised_acc_bps=acc, global_rounds=t, label_mask=mask, bond=bond, posted_price=price))
        return out

    def members(self, round_id: int) -> tuple[list[str], list[str]]:
        owners, stations = self.call("getMembers", round_id)
        return list(owners), list(stations)

    def participant(self, round_id: int, address: str) -> ParticipantView:
        role, committed, revealed, deposit, capability, reported, claims = self.call(
            "getParticipant", round_id, to_checksum_address(address)
        )
        return ParticipantView(address=to_checksum_address(address), role=Role(role), committed=committed,
                               revealed=revealed, deposit=deposit, capability=capability,
                               reported_rounds=reported, claims=list(claims))

    def outcome(self, round_id: int) -> tuple[list[int], list[int]]:
        surplus, scores = self.call("getOutcome", round_id)
        return list(surplus), list(scores)

    def has_reported(self, round_id: int, station: str, global_round: int) -> bool:
        return bool(self.call("hasReported", round_id, to_checksum_address(station), global_round))

    def credit_of(self, address: str) -> int:
        return int(self.call("credits", to_checksum_address(address)))

    def accounting(self) -> Accounting:
        return Accounting(**dict(zip(Accounting.model_fields, self.call("accounting"))))


class Participant(Signer):
    """A key that signs its own transactions against one HCFLCrowdfund (v1, legacy) deployment."""

    # ------------------------------------------------------------ lifecycle
    def create_round(self, cfg: RoundConfig) -> int:
        receipt = self.transact("createRound", cfg.as_tuple())
        return int(self._event_arg(receipt, "RoundCreated", "roundId"))

    def join(self, round_id: int, role: Role, deposit: int, capability: int = 1) -> Any:
        return self.transact("join", round_id, int(role), capability, value=deposit)

    def propose(self, round_id: int, spec: ProposalSpec, bond: int) -> int:
        receipt = self.transact(
            "propose", round_id, spec.spec_hash, spec.uri, spec.arch_id, spec.promised_acc_bps,
            spec.global_rounds, spec.label_mask, spec.posted_price, value=bond,
        )
        return int(self._event_arg(receipt, "Proposed", "proposalId"))

    def commit_claims(self, round_id: int, claims: Sequence[int], salt: bytes) -> Any:
        """Commit keccak256(abi.encode(roundId, me, claims, salt)); claims and salt stay with the caller."""
        return self.transact("commit", round_id, commitments.claims_commitment(round_id, self.address, claims, salt))

    def commit(self, round_id: int, commitment: bytes) -> Any:
        return self.transact("commit", round_id, commitment)

    def reveal(self, round_id: int, claims: Sequence[int], salt: bytes) -> Any:
        return self.transact("reveal", round_id, [int(c) for c in claims], salt)

    def advance(self, round_id: int) -> Any:
        return self.transact("advance", round_id)

    def settle(self, round_id: int) -> Any:
        return self.transact("settle", round_id)

    def report_training(self, round_id: int, global_round: int, update_hash: bytes, samples: int, accuracy_bps: int) -> Any:
        return self.transact("reportTraining", round_id, global_round, update_hash, samples, accuracy_bps)

    def finalize_training(self, round_id: int, global_model_hash: bytes, achieved_acc_bps: int, scores: Sequence[int]) -> Any:
        return self.transact("finalizeTraining", round_id, global_model_hash, achieved_acc_bps, [int(s) for s in scores])

    def commit_vote(self, round_id: int, punish: bool, salt: bytes) -> Any:
        return self.transact("commitVote", round_id, commitments.vote_commitment(round_id, self.address, punish, salt))

    def reveal_vote(self, round_id: int, punish: bool, salt: bytes) -> Any:
        return self.transact("revealVote", round_id, punish, salt)

    def phase(self, round_id: int) -> Phase:
        return self.client.round(round_id).phase

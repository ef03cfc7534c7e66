"""Typed client for HCFL contract v2: every function, view and event; each participant signs with its own key.

    core = CoreClient.deploy(chain)                     # libraries + HCFLCore + HCFLLens
    creator = core.as_participant(creator_key)
    cid = creator.create_campaign(CampaignConfig())
    rid = creator.open_round(cid)
    alice = core.as_participant(alice_key)
    alice.join(rid, Role.OWNER, deposit=10**18)

Reverts surface as :class:`hcfl.chain.client.ContractRevert` with the custom error's name and arguments
(the decoding and the signing/sending helpers are hcfl.chain.client's, imported, not copied).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from hcfl.chain.client import (
    _REVERTS,
    ChainEvent,
    ErrorDecoder,
    Signer,
    _abi_types,
    _NonceBook,
    _revert_data,
    deploy_contract,
)
from hcfl.chain.compile import artifact, link
from hcfl.protocol import (
    Accounting,
    Campaign,
    CampaignConfig,
    ParticipantView,
    Phase,
    Proposal,
    ProposalSpec,
    Role,
    RoundView,
    Settlement,
    Sums,
    VoteView,
    commitments,
)

log = logging.getLogger(__name__)

CORE = "HCFLCore"
LENS = "HCFLLens"


def modules() -> list[str]:
    """The module libraries HCFLCore links to (from its artifact's link references)."""
    return sorted({lib for libs in artifact(CORE).get("linkReferences", {}).values() for lib in libs})


class CoreClient:
    """Read access to a deployed HCFLCore (+ its HCFLLens) and the factory for signing participants."""

    def __init__(self, w3: Web3, address: str, lens_address: str | None = None) -> None:
        self.w3 = w3
        self.abi = artifact(CORE)["abi"]
        self.address = to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.abi)
        self.lens: Contract | None = (
            w3.eth.contract(address=to_checksum_address(lens_address), abi=artifact(LENS)["abi"]) if lens_address else None
        )
        self.errors = ErrorDecoder(self.abi)
        self.nonces = _NonceBook()
        self._chain_id: int | None = None
        self._topics = {
            "0x" + keccak(text=f"{e['name']}({','.join(_abi_types(e['inputs']))})").hex(): e["name"]
            for e in self.abi
            if e.get("type") == "event"
        }
        self.deploy_gas: dict[str, int] = {}
        self.libraries: dict[str, str] = {}  # set by deploy(): library name -> address

    # ------------------------------------------------------------ deployment
    @classmethod
    def deploy(cls, chain_or_w3: Any, deployer: LocalAccount | None = None) -> "CoreClient":
        """Deploy the module libraries, HCFLCore linked to them, and an HCFLLens reading it."""
        w3 = getattr(chain_or_w3, "w3", chain_or_w3)
        deployer = deployer or chain_or_w3.funder
        libs: dict[str, str] = {}
        gas: dict[str, int] = {}
        for name in modules():
            art = artifact(name)
            receipt = deploy_contract(w3, name, deployer, bytecode=link(art, libs))
            libs[name] = receipt["contractAddress"]
            gas[name] = int(receipt["gasUsed"])
        core_art = artifact(CORE)
        receipt = deploy_contract(w3, CORE, deployer, bytecode=link(core_art, libs))
        core_address = receipt["contractAddress"]
        gas[CORE] = int(receipt["gasUsed"])
        lens_receipt = deploy_contract(w3, LENS, deployer, core_address)
        gas[LENS] = int(lens_receipt["gasUsed"])
        client = cls(w3, core_address, lens_receipt["contractAddress"])
        client.deploy_gas = gas
        client.libraries = libs
        return client

    def as_participant(self, account: LocalAccount | str) -> "ParticipantV2":
        if isinstance(account, str):
            account = Account.from_key(account)
        return ParticipantV2(self, account)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    # ------------------------------------------------------------ calls
    def call(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn)(*args).call()
        except _REVERTS as exc:
            raise self.errors.decode(_revert_data(exc)) from exc

    def lens_call(self, fn: str, *args: Any) -> Any:
        if self.lens is None:
            raise RuntimeError("no HCFLLens address given")
        try:
            return getattr(self.lens.functions, fn)(*args).call()
        except _REVERTS as exc:
            raise self.errors.decode(_revert_data(exc)) from exc

    def counts(self) -> tuple[int, int]:
        c, r = self.call("counts")
        return int(c), int(r)

    def state(self, round_id: int) -> Phase:
        return Phase(self.call("state", round_id))

    def campaign(self, campaign_id: int) -> Campaign:
        creator, rounds, opool, spool, cfg = self.call("getCampaign", campaign_id)
        return Campaign(campaign_id=campaign_id, creator=creator, round_count=rounds, owner_pool=opool,
                        station_pool=spool, cfg=CampaignConfig.from_tuple(cfg))

    def round(self, round_id: int) -> RoundView:
        v = list(self.call("getRound", round_id))
        sums_raw, props_raw = v[-2], v[-1]
        k = int(v[1])
        keys = [n for n in RoundView.model_fields if n not in ("round_id", "phase", "sums", "proposals")]
        data: dict[str, Any] = dict(zip(keys, v[:-2]))
        for key in ("salt_xor", "model_hash", "scores_root", "validation_hash"):
            data[key] = bytes(data[key])
        data["sums"] = [Sums(sum_b=b, sum_k=s) for b, s in sums_raw[:k]]
        data["proposals"] = [
            Proposal(proposer=p[0], global_rounds=p[1], promised_acc_bps=p[2], price=p[3], bond=p[4], spec_hash=bytes(p[5]))
            for p in props_raw[:k]
        ]
        return RoundView(round_id=round_id, phase=self.state(round_id), **data)

    def participant(self, round_id: int, address: str) -> ParticipantView:
        v = self.call("getParticipant", round_id, to_checksum_address(address))
        keys = ["role", "committed", "revealed", "settled_claimed", "final_claimed", "reported", "reveal_index",
                "deposit", "prefix", "commitment", "claims", "prop_prefix"]
        data = dict(zip(keys, v))
        data["role"] = Role(data["role"])
        data["commitment"] = bytes(data["commitment"])
        data["claims"] = list(data["claims"])
        data["prop_prefix"] = list(data["prop_prefix"])
        return ParticipantView(address=to_checksum_address(address), **data)

    def vote(self, round_id: int, address: str) -> VoteView:
        c, committed, revealed, punish, prefix, weight = self.call("getVote", round_id, to_checksum_address(address))
        return VoteView(commitment=bytes(c), committed=committed, revealed=revealed, punish=punish, prefix=prefix,
                        weight=weight)

    def vote_weight(self, round_id: int, address: str) -> int:
        return int(self.call("voteWeight", round_id, to_checksum_address(address)))

    def preview_settlement(self, round_id: int, address: str) -> Settlement:
        pay, tax, pen, refund = self.call("previewSettlement", round_id, to_checksum_address(address))
        return Settlement(payment=pay, tax=tax, penalty=pen, refund=refund)

    def has_reported(self, round_id: int, station: str, global_round: int) -> bool:
        return bool(self.call("hasReported", round_id, to_checksum_address(station), global_round))

    def credit_of(self, address: str) -> int:
        return int(self.call("credits", to_checksum_address(address)))

    def inclusion_of(self, round_id: int, station: str) -> tuple[bytes, bool, int, bool]:
        """(inclusionRoot of the round, station's leaf proven, its includedRounds, it contested)."""
        root, proven, included, contested = self.call("inclusionOf", round_id, to_checksum_address(station))
        return bytes(root), bool(proven), int(included), bool(contested)

    def accounting(self) -> Accounting:
        return Accounting(**dict(zip(Accounting.model_fields, self.call("accounting"))))

    def balance(self) -> int:
        return int(self.w3.eth.get_balance(self.address))

    def claim_commitment(self, round_id: int, sender: str, claims: Sequence[int], salt: bytes) -> bytes:
        """The on-chain helper (must equal hcfl.protocol.commitments.claims_commitment)."""
        return bytes(self.call("claimCommitment", round_id, to_checksum_address(sender), [int(c) for c in claims], salt))

    def vote_commitment(self, round_id: int, voter: str, punish: bool, salt: bytes) -> bytes:
        return bytes(self.call("voteCommitment", round_id, to_checksum_address(voter), bool(punish), salt))

    # lens views ------------------------------------------------------
    def round_summary(self, round_id: int) -> dict[str, Any]:
        out = self.lens_call("roundSummary", round_id)
        keys = ["campaign_id", "phase", "k", "revealed_owners", "revealed_stations", "settled", "selected", "unfunded",
                "star", "payment", "escrow", "escrow_paid", "owner_pool", "station_pool"]
        d = dict(zip(keys, out))
        d["phase"] = Phase(d["phase"])
        return d

    def lens_proposals(self, round_id: int) -> list[Proposal]:
        return [Proposal(proposer=p[0], global_rounds=p[1], promised_acc_bps=p[2], price=p[3], bond=p[4],
                         spec_hash=bytes(p[5])) for p in self.lens_call("proposals", round_id)]

    def lens_sums(self, round_id: int) -> tuple[list[Sums], list[int]]:
        """(sumB, sumK) per proposal and the surpluses S(m) = sumB - sumK."""
        sums, surplus = self.lens_call("sums", round_id)
        return [Sums(sum_b=b, sum_k=k) for b, k in sums], [int(x) for x in surplus]

    def account_summary(self, round_id: int, address: str) -> dict[str, Any]:
        out = self.lens_call("account", round_id, to_checksum_address(address))
        keys = ["role", "committed", "revealed", "settled_claimed", "final_claimed", "deposit", "reported",
                "vote_weight", "credit", "settlement"]
        d = dict(zip(keys, out))
        d["role"] = Role(d["role"])
        pay, tax, pen, refund = d["settlement"]
        d["settlement"] = Settlement(payment=pay, tax=tax, penalty=pen, refund=refund)
        return d

    # ------------------------------------------------------------ events
    def events(self, from_block: int = 0, to_block: int | str = "latest", round_id: int | None = None) -> list[ChainEvent]:
        """All events of HCFLCore (the modules emit in its context) in chain order, decoded."""
        logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": from_block, "toBlock": to_block})
        out: list[ChainEvent] = []
        for entry in logs:
            name = self._topics.get("0x" + bytes(entry["topics"][0]).hex())
            if name is None:
                continue
            args = dict(getattr(self.contract.events, name)().process_log(entry)["args"])
            if round_id is not None and "roundId" in args and args["roundId"] != round_id:
                continue
            out.append(ChainEvent(name=name, args=args, block_number=int(entry["blockNumber"]),
                                  tx_hash="0x" + bytes(entry["transactionHash"]).hex(), log_index=int(entry["logIndex"])))
        return out

    def receipt_events(self, receipt: Any) -> list[ChainEvent]:
        """The events of one receipt, decoded."""
        out = []
        for entry in receipt["logs"]:
            if to_checksum_address(entry["address"]) != self.address or not entry["topics"]:
                continue
            name = self._topics.get("0x" + bytes(entry["topics"][0]).hex())
            if name is None:
                continue
            args = dict(getattr(self.contract.events, name)().process_log(entry)["args"])
            out.append(ChainEvent(name=name, args=args, block_number=int(entry["blockNumber"]),
                                  tx_hash="0x" + bytes(entry["transactionHash"]).hex(), log_index=int(entry["logIndex"])))
        return out


class ParticipantV2(Signer):
    """A key that signs its own transactions against one HCFLCore (transport: hcfl.chain.client.Signer)."""

    client: CoreClient  # type: ignore[assignment]

    def __init__(self, client: CoreClient, account: LocalAccount) -> None:  # noqa: D107
        super().__init__(client, account)  # type: ignore[arg-type]

    def _event(self, receipt: Any, event: str, arg: str) -> Any:
        for ev in self.client.receipt_events(receipt):
            if ev.name == event:
                return ev.args[arg]
        raise RuntimeError(f"no {event} event in receipt")

    # campaigns and rounds ----------------------------------------------
    def create_campaign(self, cfg: CampaignConfig) -> int:
        return int(self._event(self.transact("createCampaign", cfg.as_tuple()), "CampaignCreated", "campaignId"))

    def open_round(self, campaign_id: int) -> int:
        return int(self._event(self.transact("openRound", campaign_id), "RoundOpened", "roundId"))

    def join(self, round_id: int, role: Role, deposit: int) -> Any:  # type: ignore[override]
        return self.transact("join", round_id, int(role), value=deposit)

    def propose(self, round_id: int, spec: ProposalSpec, bond: int) -> int:  # type: ignore[override]
        receipt = self.transact(
            "propose", round_id, spec.spec_hash, spec.uri, spec.arch_id, spec.promised_acc_bps,
            spec.global_rounds, spec.label_mask, spec.price, value=bond,
        )
        return int(self._event(receipt, "Proposed", "proposalId"))

    # sealed claims --------------------------------------------------------
    def commit_claims(self, round_id: int, claims: Sequence[int], salt: bytes) -> Any:
        """Commit keccak256(abi.encode(roundId, me, claims, salt)); claims and salt stay with the caller."""
        return self.transact("commit", round_id, commitments.claims_commitment(round_id, self.address, claims, salt))

    def reveal(self, round_id: int, claims: Sequence[int], salt: bytes) -> Any:
        return self.transact("reveal", round_id, [int(c) for c in claims], salt)

    # settlement and payouts --------------------------------------------------
    def settle(self, round_id: int) -> Any:
        return self.transact("settle", round_id)

    def claim(self, round_id: int, account: str | None = None) -> Any:
        return self.transact("claim", round_id, to_checksum_address(account or self.address))

    def claim_with_score(self, round_id: int, score: int, prefix_before: int, proof: Sequence[bytes],
                         account: str | None = None) -> Any:
        return self.transact("claimWithScore", round_id, to_checksum_address(account or self.address), int(score),
                             int(prefix_before), [bytes(p) for p in proof])

    def claim_and_withdraw(self, round_id: int) -> Any:
        return self.transact("claimAndWithdraw", round_id)

    def sweep_surplus(self, campaign_id: int) -> Any:
        return self.transact("sweepSurplus", campaign_id)

    def sweep_escrow(self, round_id: int) -> Any:
        return self.transact("sweepEscrow", round_id)

    # training -----------------------------------------------------------------
    def report_training(self, round_id: int, global_round: int, update_hash: bytes, samples: int,  # type: ignore[override]
                        accuracy_bps: int, clients_root: bytes = b"\0" * 32, **send: Any) -> Any:
        """`send`: Signer.transact's gas, gas_price and fresh_nonce."""
        return self.transact("reportTraining", round_id, global_round, update_hash, samples, accuracy_bps, clients_root,
                             **send)

    def finalize_training(self, round_id: int, model_hash: bytes, achieved_acc_bps: int,  # type: ignore[override]
                          scores_root: bytes = b"\0" * 32, scores_total: int = 0,
                          validation_hash: bytes = b"\0" * 32) -> Any:
        return self.transact("finalizeTraining", round_id, model_hash, achieved_acc_bps, scores_root, int(scores_total),
                             validation_hash)

    def object_scores(self, round_id: int) -> Any:
        return self.transact("objectScores", round_id)

    def record_inclusion(self, round_id: int, inclusion_root: bytes, manifests_root: bytes = b"\0" * 32) -> Any:
        return self.transact("recordInclusion", round_id, inclusion_root, manifests_root)

    def prove_inclusion(self, round_id: int, included_rounds: int, proof: Sequence[bytes],
                        account: str | None = None) -> Any:
        return self.transact("proveInclusion", round_id, to_checksum_address(account or self.address),
                             int(included_rounds), [bytes(p) for p in proof])

    def contest_inclusion(self, round_id: int) -> Any:
        return self.transact("contestInclusion", round_id)

    # vote -----------------------------------------------------------------------
    def commit_vote(self, round_id: int, punish: bool, salt: bytes, deposit: int | None = None) -> Any:  # type: ignore[override]
        """Commit a sealed vote paying the campaign's voteDeposit (or `deposit`, to test a wrong amount)."""
        if deposit is None:
            rid_campaign = self.client.round(round_id).campaign_id
            deposit = self.client.campaign(rid_campaign).cfg.vote_deposit
        return self.transact("commitVote", round_id, commitments.vote_commitment(round_id, self.address, punish, salt),
                             value=deposit)

    def reveal_vote(self, round_id: int, punish: bool, salt: bytes) -> Any:
        return self.transact("revealVote", round_id, punish, salt)

    def phase(self, round_id: int) -> Phase:  # type: ignore[override]
        return self.client.state(round_id)

    def advance(self, round_id: int) -> Any:  # v2 has no advance: phases follow the clock
        raise AttributeError("contract v2 has no advance(): phases are derived from timestamps; call settle()")

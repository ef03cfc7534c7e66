"""Typed, immutable records of what the HCFL v2 contract's events say (frozen dataclasses).

A `Ledger` is a snapshot: campaigns (config, pools over time), rounds (proposals, participants in join
order, reveals, settlement, lazily claimed results, training, vote, bond outcome) and per-account fund
flows. Everything here is read from events only; nothing is recomputed (the auditor does that).
Addresses are checksummed; amounts are int wei; hashes are bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from hcfl.protocol import CampaignConfig, CreditReason, PoolKind, Role

SWEEP_ROUND = 2**256 - 1  # PoolChanged's roundId for sweepSurplus


def frozen_map(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True, slots=True)
class PoolChange:
    block: int
    round_id: int | None  # None: sweepSurplus
    pool: PoolKind
    delta: int
    balance: int  # the pool after the change


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    campaign_id: int
    creator: str
    config: CampaignConfig
    block: int
    round_ids: tuple[int, ...]
    owner_pool: int
    station_pool: int
    pool_history: tuple[PoolChange, ...]
    swept: int  # surplus swept into the owner pool

    def pools_at(self, index: int) -> tuple[int, int]:
        """(ownerPool, stationPool) after the first `index` pool changes."""
        o = s = 0
        for ch in self.pool_history[:index]:
            if ch.pool == PoolKind.OWNER:
                o = ch.balance
            else:
                s = ch.balance
        return o, s


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    proposal_id: int
    proposer: str
    spec_hash: bytes
    uri: str
    arch_id: int
    promised_acc_bps: int
    global_rounds: int
    label_mask: int
    bond: int
    price: int


@dataclass(frozen=True, slots=True)
class ParticipantSettlement:
    """ParticipantSettled: the lazily computed deposit part."""

    payment: int
    tax: int
    penalty: int
    refund: int


@dataclass(frozen=True, slots=True)
class StationReward:
    """StationRewarded; `score`/`prefix_before` from the claimWithScore call when by contribution."""

    share: int
    reward: int
    forfeited: int
    by_contribution: bool
    score: int | None = None
    prefix_before: int | None = None


@dataclass(frozen=True, slots=True)
class TrainingReport:
    station: str
    global_round: int
    update_hash: bytes
    samples: int
    accuracy_bps: int
    clients_root: bytes
    block: int


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    address: str
    role: Role
    deposit: int
    join_index: int
    committed: bool
    commitment: bytes | None
    revealed: bool
    reveal_index: int | None  # position among all revealers of the round (both roles)
    claims: tuple[int, ...] | None  # capped claims (what counts)
    salt: bytes | None
    prefix: int | None  # on its side's Equal/Stake line (its weight there: the deposit under Stake, else 1)
    reports: tuple[TrainingReport, ...]
    settlement: ParticipantSettlement | None  # None until claimed for
    reward: StationReward | None
    slash_share: int  # BondSlashShare to this account (the failed winner's own slice included)
    vote_forfeit: int
    credits: Mapping[CreditReason, int]  # this round's credits by reason

    @property
    def status(self) -> str:
        return "revealed" if self.revealed else "committed" if self.committed else "joined"

    @property
    def credited(self) -> int:
        return sum(self.credits.values())


@dataclass(frozen=True, slots=True)
class RoundSettlement:
    selected: bool
    star: int
    unfunded: bool
    payment: int
    owner_discount: int
    station_bonus: int
    seed: int
    afford_mask: int
    block: int
    pool_index: int  # pool changes of the campaign before this settle (CampaignRecord.pools_at)
    settled_at: int | None = None  # the settle block's timestamp (None when folded without it)


@dataclass(frozen=True, slots=True)
class Finalization:
    winner: str
    model_hash: bytes
    achieved_acc_bps: int
    scores_root: bytes
    scores_total: int
    validation_hash: bytes
    block: int


@dataclass(frozen=True, slots=True)
class VoteRecord:
    voter: str
    commitment: bytes
    weight: int
    revealed: bool
    punish: bool | None
    prefix: int | None
    reveal_index: int | None
    forfeited: int


@dataclass(frozen=True, slots=True)
class BondOutcome:
    winner: str
    punished: bool
    failed: bool
    to_winner: int


@dataclass(frozen=True, slots=True)
class RoundRecord:
    round_id: int
    campaign_id: int
    join_end: int
    propose_end: int
    commit_end: int
    reveal_end: int
    block: int
    proposals: tuple[ProposalRecord, ...]
    participants: tuple[ParticipantRecord, ...]  # join order
    reveal_order: tuple[str, ...]
    settlement: RoundSettlement | None
    reports: tuple[TrainingReport, ...]
    finalization: Finalization | None
    training_closed_at: int | None
    objections: tuple[str, ...]
    votes: tuple[VoteRecord, ...]  # commit order
    vote_reveal_order: tuple[str, ...]
    bond: BondOutcome | None
    pool_changes: tuple[PoolChange, ...]
    escrow_returned: int = 0  # EscrowReturned: escrow no station could claim, back to the station pool
    # rewards only for included work (hcfl/inclusion.py): InclusionRecorded's root (None: none recorded),
    # InclusionProven leaves (station -> includedRounds), InclusionContested stations
    inclusion_root: bytes | None = None
    included: Mapping[str, int] = field(default_factory=dict)
    contests: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        return len(self.proposals)

    def participant(self, address: str) -> ParticipantRecord | None:
        for p in self.participants:
            if p.address == address:
                return p
        return None

    @property
    def winner(self) -> str | None:
        s = self.settlement
        return self.proposals[s.star].proposer if s is not None and s.selected else None

    @property
    def revealed_stations(self) -> list[str]:
        """The revealed stations in join order: the one station order of training (task index, manifests,
        contribution scores) that the coordinator, the daemons and the auditor all derive from the ledger."""
        return [p.address for p in self.participants if p.role == Role.STATION and p.revealed]

    @property
    def revealed_owners(self) -> list[str]:
        return [p.address for p in self.participants if p.role == Role.OWNER and p.revealed]

    @property
    def selected_proposal(self) -> ProposalRecord | None:
        """The proposal the settlement selected and funded (None: not settled, none selected, or unfunded)."""
        s = self.settlement
        return self.proposals[s.star] if s is not None and s.selected and not s.unfunded else None


@dataclass(frozen=True, slots=True)
class AccountFlow:
    """Money in and out of the contract for one account, and its credits by reason."""

    address: str
    deposits: int
    bonds: int
    vote_deposits: int
    withdrawn: int
    credits: Mapping[CreditReason, int]

    @property
    def paid_in(self) -> int:
        return self.deposits + self.bonds + self.vote_deposits

    @property
    def credited(self) -> int:
        return sum(self.credits.values())

    @property
    def outstanding(self) -> int:
        """Credited but not withdrawn (what `credits(account)` must say)."""
        return self.credited - self.withdrawn


@dataclass(frozen=True, slots=True)
class Ledger:
    """A snapshot of the folded events up to block `cursor`."""

    cursor: int
    events: int
    campaigns: Mapping[int, CampaignRecord]
    rounds: Mapping[int, RoundRecord]
    accounts: Mapping[str, AccountFlow]
    swept: int
    restarts: int = 0  # dev-chain reverts seen (each restarts the fold)
    extra: Mapping[str, int] = field(default_factory=lambda: frozen_map({}))

    @property
    def paid_in(self) -> int:
        return sum(a.paid_in for a in self.accounts.values())

    @property
    def withdrawn(self) -> int:
        return sum(a.withdrawn for a in self.accounts.values())

    def settled_sums(self) -> dict[str, "SettledSums"]:
        """Per account, over every round: what its lazily settled claims and its station rewards came to so far
        (the one sum GET /api/funds and the auditors read)."""
        out: dict[str, SettledSums] = {}
        for r in self.rounds.values():
            for p in r.participants:
                s = out.get(p.address, SettledSums())
                if p.settlement is not None:
                    s = SettledSums(s.payments + p.settlement.payment, s.taxes + p.settlement.tax,
                                    s.penalties + p.settlement.penalty, s.rewards)
                if p.reward is not None:
                    s = SettledSums(s.payments, s.taxes, s.penalties, s.rewards + p.reward.reward)
                out[p.address] = s
        return out


@dataclass(frozen=True, slots=True)
class SettledSums:
    payments: int = 0
    taxes: int = 0
    penalties: int = 0
    rewards: int = 0

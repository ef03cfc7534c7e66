"""Typed views of the HCFLCrowdfund contract's enums, config and state (pydantic at the boundary)."""
from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(IntEnum):
    NONE = 0
    OWNER = 1
    STATION = 2


class Phase(IntEnum):
    NONE = 0
    JOINING = 1
    PROPOSING = 2
    COMMITTING = 3
    REVEALING = 4
    TRAINING = 5
    VOTE_COMMITTING = 6
    VOTE_REVEALING = 7
    FINISHED = 8


class PaymentRule(IntEnum):
    PAPER_RANDOM = 0
    POSTED = 1


class ShareRule(IntEnum):
    EQUAL = 0
    CAPABILITY = 1
    CONTRIBUTION = 2


PAYMENT_RULE_NAMES = {"paper-random": PaymentRule.PAPER_RANDOM, "posted": PaymentRule.POSTED}
SHARE_RULE_NAMES = {"equal": ShareRule.EQUAL, "capability": ShareRule.CAPABILITY, "contribution": ShareRule.CONTRIBUTION}


class RoundConfig(BaseModel):
    """Durations in seconds; the defaults suit a dev chain whose clock the caller fast-forwards."""

    model_config = ConfigDict(frozen=True)

    join_duration: int = Field(60, gt=0)
    propose_duration: int = Field(60, gt=0)
    commit_duration: int = Field(60, gt=0)
    reveal_duration: int = Field(60, gt=0)
    train_duration: int = Field(3600, gt=0)
    vote_commit_duration: int = Field(60, gt=0)
    vote_reveal_duration: int = Field(60, gt=0)
    non_reveal_penalty_bps: int = Field(1000, ge=0, le=10_000)
    punish_threshold_bps: int = Field(5000, ge=0, le=10_000)
    payment_rule: PaymentRule = PaymentRule.PAPER_RANDOM
    owner_share_rule: ShareRule = ShareRule.EQUAL
    station_share_rule: ShareRule = ShareRule.EQUAL
    min_bond: int = Field(0, ge=0)

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.join_duration,
            self.propose_duration,
            self.commit_duration,
            self.reveal_duration,
            self.train_duration,
            self.vote_commit_duration,
            self.vote_reveal_duration,
            self.non_reveal_penalty_bps,
            self.punish_threshold_bps,
            int(self.payment_rule),
            int(self.owner_share_rule),
            int(self.station_share_rule),
            self.min_bond,
        )

    @classmethod
    def from_tuple(cls, t: tuple | list) -> "RoundConfig":
        keys = list(cls.model_fields)
        return cls(**dict(zip(keys, t)))


class ProposalSpec(BaseModel):
    """What an owner posts: m = (ω, M, acc, t, y) plus the posted price for the `posted` rule."""

    spec_hash: bytes = Field(..., min_length=32, max_length=32)
    uri: str = ""
    arch_id: int = Field(0, ge=0, lt=2**32)
    promised_acc_bps: int = Field(..., ge=0, le=10_000)
    global_rounds: int = Field(..., gt=0, le=10_000)
    label_mask: int = Field(..., gt=0)
    posted_price: int = Field(0, ge=0, lt=2**128)


class Proposal(ProposalSpec):
    proposer: str
    bond: int


class RoundView(BaseModel):
    round_id: int
    cfg: RoundConfig
    phase: Phase
    phase_end: int
    creator: str
    owner_count: int
    station_count: int
    proposal_count: int
    settled: bool
    selected_some: bool
    selected: int
    unfunded: bool
    total_payment: int
    seed: int
    escrow: int
    finalized: bool
    global_model_hash: bytes
    achieved_acc_bps: int
    punished: bool
    punish_votes: int
    keep_votes: int

    @property
    def selected_index(self) -> int | None:
        return self.selected if self.selected_some else None


class ParticipantView(BaseModel):
    address: str
    role: Role
    committed: bool
    revealed: bool
    deposit: int
    capability: int
    reported_rounds: int
    claims: list[int]


class Accounting(BaseModel):
    credits: int
    deposits: int
    bonds: int
    escrow: int
    owner_pool: int
    station_pool: int

    @property
    def total(self) -> int:
        return self.credits + self.deposits + self.bonds + self.escrow + self.owner_pool + self.station_pool

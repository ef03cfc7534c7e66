"""Typed views of HCFL contract v2 (IHCFL's structs); pydantic at the boundary. The enums: hcfl.protocol.enums.

The ranges the contract enforces (durations 1..365 days, bps <= 10000, ...) are NOT re-checked here, so a
caller can submit a bad config and get the contract's named custom error back; only ABI types are checked.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hcfl.protocol.bounds import UINT256_MAX
from hcfl.protocol.enums import PaymentRule, Phase, Role, ShareRule


class CampaignConfig(BaseModel):
    """IHCFL.Config. Defaults: Posted payment, Stake shares, whole-deposit non-reveal penalty, 25 % pool draw."""

    model_config = ConfigDict(frozen=True)

    join_duration: int = Field(600, ge=0, le=2**64 - 1)
    propose_duration: int = Field(600, ge=0, le=2**64 - 1)
    commit_duration: int = Field(600, ge=0, le=2**64 - 1)
    reveal_duration: int = Field(600, ge=0, le=2**64 - 1)
    train_duration: int = Field(3600, ge=0, le=2**64 - 1)
    vote_commit_duration: int = Field(600, ge=0, le=2**64 - 1)
    vote_reveal_duration: int = Field(600, ge=0, le=2**64 - 1)
    non_reveal_penalty_bps: int = Field(10_000, ge=0, le=2**16 - 1)
    punish_threshold_bps: int = Field(5_000, ge=0, le=2**16 - 1)
    pool_draw_bps: int = Field(2_500, ge=0, le=2**16 - 1)
    max_proposals_per_owner: int = Field(2, ge=0, le=255)
    payment_rule: PaymentRule = PaymentRule.POSTED
    owner_share_rule: ShareRule = ShareRule.STAKE
    station_share_rule: ShareRule = ShareRule.STAKE
    non_reveal_penalty_floor: int = Field(10**15, ge=0, le=UINT256_MAX)
    min_owner_deposit: int = Field(10**16, ge=0, le=UINT256_MAX)
    min_station_deposit: int = Field(10**16, ge=0, le=UINT256_MAX)
    min_bond: int = Field(10**16, ge=0, le=UINT256_MAX)
    max_price: int = Field(10**24, ge=0, le=UINT256_MAX)
    vote_deposit: int = Field(10**15, ge=0, le=UINT256_MAX)

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(int(getattr(self, k)) for k in type(self).model_fields)

    @classmethod
    def from_tuple(cls, t: Any) -> "CampaignConfig":
        return cls(**dict(zip(cls.model_fields, t)))


class ProposalSpec(BaseModel):
    """What a proposer posts (propose's arguments besides the bond)."""

    model_config = ConfigDict(frozen=True)

    spec_hash: bytes = b"\0" * 32
    uri: str = ""
    arch_id: int = Field(0, ge=0, le=2**32 - 1)
    promised_acc_bps: int = Field(9000, ge=0, le=2**16 - 1)
    global_rounds: int = Field(1, ge=0, le=2**32 - 1)
    label_mask: int = Field(1023, ge=0, le=UINT256_MAX)
    price: int = Field(10**17, ge=0, le=UINT256_MAX)


class Campaign(BaseModel):
    campaign_id: int
    creator: str
    round_count: int
    owner_pool: int
    station_pool: int
    cfg: CampaignConfig


class Proposal(BaseModel):
    proposer: str
    global_rounds: int
    promised_acc_bps: int
    price: int
    bond: int
    spec_hash: bytes


class Sums(BaseModel):
    sum_b: int
    sum_k: int


class RoundView(BaseModel):
    """IHCFL.RoundData with the proposal arrays cut to their k entries, plus the derived phase."""

    round_id: int
    phase: Phase
    campaign_id: int
    k: int
    afford_mask: int
    join_end: int
    propose_end: int
    commit_end: int
    reveal_end: int
    train_end: int
    train_closed_at: int
    star: int
    settled: bool
    selected: bool
    unfunded: bool
    finalized: bool
    objected: bool
    n_owners: int
    n_stations: int
    w_owners: int
    w_stations: int
    ratio_num: int
    ratio_den: int
    achieved_acc_bps: int
    salt_xor: bytes
    seed: int
    payment: int
    owner_discount: int
    station_bonus: int
    escrow: int
    escrow_paid: int
    reports_done: int
    model_hash: bytes
    scores_root: bytes
    scores_total: int
    validation_hash: bytes
    punish_weight: int
    keep_weight: int
    sums: list[Sums]
    proposals: list[Proposal]


class ParticipantView(BaseModel):
    address: str
    role: Role
    committed: bool
    revealed: bool
    settled_claimed: bool
    final_claimed: bool
    reported: int
    reveal_index: int
    deposit: int
    prefix: int
    commitment: bytes
    claims: list[int]
    prop_prefix: list[int]


class VoteView(BaseModel):
    commitment: bytes
    committed: bool
    revealed: bool
    punish: bool
    prefix: int
    weight: int


class Settlement(BaseModel):
    """What a claim credits for one account's deposit."""

    payment: int
    tax: int
    penalty: int
    refund: int


class Accounting(BaseModel):
    balance: int
    deposits: int
    credits: int
    bonds: int
    escrow: int
    pools: int
    vote_deposits: int
    surplus: int

    @property
    def owed(self) -> int:
        return self.deposits + self.credits + self.bonds + self.escrow + self.pools + self.vote_deposits

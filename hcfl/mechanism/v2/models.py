"""Pydantic models of the v2 mechanism reference (docs/mechanism.md, "v2"): a `Campaign` (config + a
sequence of rounds, pools carried across rounds) in, a `CampaignResult` out.

Bounds mirror the v2 contract's config checks (each is a named custom error there). Ints are strict
(`true`, `1.0` and `"1"` are rejected) and bounded to uint256, so a typo cannot change a settlement.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hcfl.mechanism.models import BPS, MAX_PROPOSALS, UINT256_MAX

MAX_DURATION = 365 * 24 * 60 * 60  # seconds (defect 8)
MAX_PROPOSALS_PER_OWNER = MAX_PROPOSALS
MAX_PRICE = 2**128 - 1
MAX_ROUNDS = 1000  # per campaign in one reference run (input size, not a contract rule)
MAX_PARTICIPANTS = 20_000  # per round in one reference run (input size; the contract has no cap)

Wei = Annotated[int, Field(strict=True, ge=0, le=UINT256_MAX)]
PositiveWei = Annotated[int, Field(strict=True, ge=1, le=UINT256_MAX)]
Bps = Annotated[int, Field(strict=True, ge=0, le=BPS)]
Duration = Annotated[int, Field(strict=True, ge=1, le=MAX_DURATION)]
Id = Annotated[str, Field(min_length=1, max_length=200)]

PaymentRule = Literal["posted", "paper-random"]
OwnerShareRule = Literal["equal", "stake", "proportional"]
StationShareRule = Literal["equal", "stake", "proportional", "contribution"]
Role = Literal["owner", "station"]
Status = Literal["revealed", "committed", "joined"]

_SALT = re.compile(r"^0x[0-9a-fA-F]{64}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Durations(_Frozen):
    """The 7 phase durations in seconds, each 1..MAX_DURATION (365 days)."""

    join: Duration = 3600
    propose: Duration = 3600
    commit: Duration = 3600
    reveal: Duration = 3600
    train: Duration = 86400
    vote_commit: Duration = 3600
    vote_reveal: Duration = 3600


class CampaignConfig(_Frozen):
    """createCampaign(cfg): every round of the campaign uses it."""

    durations: Durations = Field(default_factory=Durations)
    non_reveal_penalty_bps: Bps = BPS
    non_reveal_penalty_floor: PositiveWei = 1
    punish_threshold_bps: Bps = 5000
    payment_rule: PaymentRule = "posted"
    owner_share_rule: OwnerShareRule = "equal"
    station_share_rule: StationShareRule = "equal"
    min_owner_deposit: PositiveWei = 1
    min_station_deposit: PositiveWei = 1
    min_bond: PositiveWei = 1
    max_price: Annotated[int, Field(strict=True, ge=1, le=MAX_PRICE)] = MAX_PRICE
    max_proposals_per_owner: Annotated[int, Field(strict=True, ge=1, le=MAX_PROPOSALS_PER_OWNER)] = MAX_PROPOSALS
    pool_draw_bps: Bps = 2500
    vote_deposit: Wei = 0


class Participant(_Frozen):
    """A joined participant, in join order.

    `status`: `revealed` (committed and revealed), `committed` (did not reveal: pays the non-reveal
    penalty), `joined` (never committed: full refund). `claims`: one raw claim per proposal (values
    for owners, costs for stations), required when revealed, ignored otherwise; each is capped to
    `deposit - 1`. `salt`: bytes32 hex of the reveal, optional (feeds the seed).
    """

    id: Id
    role: Role
    deposit: PositiveWei
    status: Status = "revealed"
    claims: list[Wei] | None = None
    salt: str | None = None

    @field_validator("salt")
    @classmethod
    def _salt(cls, v: str | None) -> str | None:
        if v is not None and not _SALT.match(v):
            raise ValueError("salt must be 0x followed by 64 hex digits (bytes32)")
        return v

    @property
    def revealed(self) -> bool:
        return self.status == "revealed"


class Proposal(_Frozen):
    proposer: Id
    price: Wei  # C_m, <= maxPrice
    bond: Wei  # >= minBond


class ScoreLeaf(_Frozen):
    """A leaf (station, score, prefixBefore) of the winner's scores Merkle root."""

    station: Id
    score: Wei
    prefix_before: Wei


class Scores(_Frozen):
    leaves: list[ScoreLeaf]
    total: Wei  # scoresTotal


class Training(_Frozen):
    """What happened after settlement of a round whose proposal was selected.

    `reported`: global rounds each revealed station reported (0..t; missing = 0). `finalized`: the
    winner called finalizeTraining before trainEnd (if not: winner failed, punished without vote).
    `scores`: the finalized scores root's leaves (Contribution only; None = no root).
    `objections`: revealed stations that called objectScores.
    `inclusion`: None when the winner recorded no inclusion root (recordInclusion), else the proven leaves
    station -> includedRounds (an unproven station counts 0 here and cannot claim its reward on chain).
    `contests`: revealed stations that called contestInclusion (docs/security.md, rewards for included work)."""

    t: Annotated[int, Field(strict=True, ge=1, le=2**32)]
    reported: dict[Id, Annotated[int, Field(strict=True, ge=0)]] = Field(default_factory=dict)
    finalized: bool = True
    scores: Scores | None = None
    objections: list[Id] = Field(default_factory=list)
    inclusion: dict[Id, Annotated[int, Field(strict=True, ge=0)]] | None = None
    contests: list[Id] = Field(default_factory=list)


class Vote(_Frozen):
    """A committed vote; revealed votes are listed in vote-reveal order."""

    voter: Id
    punish: bool
    revealed: bool = True


class Round(_Frozen):
    participants: list[Participant] = Field(default_factory=list)
    proposals: list[Proposal] = Field(default_factory=list)
    # Revealed participants (both roles) in reveal order; None = join order.
    reveal_order: list[Id] | None = None
    # None: uint256(keccak256(abi.encode(xor of the revealed salts))) (a missing salt counts as 0x00..0).
    seed: Annotated[int, Field(strict=True, ge=0, le=UINT256_MAX)] | None = None
    training: Training | None = None
    votes: list[Vote] = Field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.proposals)


class Campaign(_Frozen):
    """A campaign: config and rounds in order. `owner_pool`/`station_pool`: the campaign's pools
    before its first round (0 for a new campaign)."""

    config: CampaignConfig = Field(default_factory=CampaignConfig)
    rounds: list[Round] = Field(min_length=1, max_length=MAX_ROUNDS)
    owner_pool: Wei = 0
    station_pool: Wei = 0

    @model_validator(mode="after")
    def _check(self) -> Campaign:
        for i, rnd in enumerate(self.rounds):
            try:
                check_round(self.config, rnd)
            except ValueError as exc:
                raise ValueError(f"round {i}: {exc}") from None
        return self


def check_round(cfg: CampaignConfig, rnd: Round) -> None:
    """The contract's join/propose/commit/reveal checks on one round (ValueError with the reason)."""
    ps = rnd.participants
    if len(ps) > MAX_PARTICIPANTS:
        raise ValueError(f"at most {MAX_PARTICIPANTS} participants per round in one run, got {len(ps)}")
    seen: set[str] = set()
    for p in ps:
        if p.id in seen:
            raise ValueError(f"duplicate participant id {p.id!r}")
        seen.add(p.id)
        minimum = cfg.min_owner_deposit if p.role == "owner" else cfg.min_station_deposit
        name = "min_owner_deposit" if p.role == "owner" else "min_station_deposit"
        if p.deposit < minimum:
            raise ValueError(f"participant {p.id!r}: deposit {p.deposit} < {name} {minimum} (join reverts)")
    owners = {p.id for p in ps if p.role == "owner"}
    k = rnd.k
    if k > MAX_PROPOSALS:
        raise ValueError(f"at most {MAX_PROPOSALS} proposals per round, got {k}")
    per_owner: dict[str, int] = {}
    for m, prop in enumerate(rnd.proposals):
        if prop.proposer not in owners:
            raise ValueError(f"proposal {m}: proposer {prop.proposer!r} is not an owner that joined this round")
        if prop.bond < cfg.min_bond:
            raise ValueError(f"proposal {m}: bond {prop.bond} < min_bond {cfg.min_bond}")
        if prop.price > cfg.max_price:
            raise ValueError(f"proposal {m}: price {prop.price} > max_price {cfg.max_price}")
        per_owner[prop.proposer] = per_owner.get(prop.proposer, 0) + 1
        if per_owner[prop.proposer] > cfg.max_proposals_per_owner:
            raise ValueError(
                f"proposal {m}: {prop.proposer!r} exceeds max_proposals_per_owner {cfg.max_proposals_per_owner}"
            )
    for p in ps:
        if k == 0 and p.status != "joined":
            raise ValueError(f"participant {p.id!r}: no proposal, so the round finished at proposeEnd "
                             "and nobody could commit (status must be 'joined')")
        if p.revealed and (p.claims is None or len(p.claims) != k):
            got = "none" if p.claims is None else len(p.claims)
            raise ValueError(f"participant {p.id!r}: a revealed participant needs K={k} claims, got {got}")
    revealed = [p.id for p in ps if p.revealed]
    if rnd.reveal_order is not None and sorted(rnd.reveal_order) != sorted(revealed):
        raise ValueError("reveal_order must list every revealed participant exactly once, and nobody else")


class ParticipantResult(_Frozen):
    """One participant's figures in one round (every amount in wei; 0 where a rule does not apply)."""

    role: Role
    status: Status
    deposit: int
    capped_claims: list[int] | None  # revealed participants
    weight: int | None  # effective share weight at m* (revealed participants)
    m_minus: int | None  # m_-p (revealed participants; None = "none")
    clarke_difference: int  # S_-p(m_-p) - S_-p(m*), signed (< 0 only when m* is not eligible without p)
    tax_unclipped: int  # max(0, clarke_difference)
    tax: int  # charged, after the clips; to the side's campaign pool
    payment: int  # owner: cumfloor(C - D_o) by the owner rule
    nominal_share: int  # cumfloor(C, weights at m*): s_p(m*) (owner; vote weight) / r_p(m*) (station)
    station_share: int  # station: share of E = C + D_s before reporting
    reward: int  # station: station_share * counted / t (counted: hcfl.inclusion.counted_rounds)
    forfeit: int  # station: station_share - reward, to stationPool
    penalty: int  # non-reveal penalty, to the side's pool
    bond_credit: int  # bonds credited back (not selected, or not punished)
    vote_deposit: int  # paid in with commitVote
    vote_forfeit: int  # vote deposit not refunded (vote not revealed), to ownerPool
    slash_share: int  # share of a slashed bond
    credit: int  # everything credited to the participant by the end of the round


class RoundResult(_Frozen):
    k: int
    payment_rule: PaymentRule
    seed: int
    sum_values: list[int]  # Σb per proposal (capped claims of revealed owners)
    sum_costs: list[int]  # Σk per proposal
    surplus: list[int]  # S(m) = Σb - Σk
    eligible: list[bool]
    affordability: int | None  # A (None: unbounded, Proportional owners)
    argmax: int | None  # m* among eligible proposals before the funding check (None = "none")
    selected: int | None  # m* (None: "none", unfunded, or no proposal)
    unfunded: bool
    c_max: int | None  # PaperRandom only
    total_payment: int | None  # C
    draw_owner: int  # floor(ownerPool * poolDrawBps / BPS)
    draw_station: int
    owner_discount: int  # D_o = min(drawO, C)
    station_bonus: int  # D_s = min(drawS, C)
    escrow: int  # E = C + D_s
    station_split: str  # the rule the stations' shares of E used (contribution falls back to equal)
    escrow_leftover: int  # E not assigned to any station (contribution leaves with gaps), to stationPool
    winner: str | None
    winner_failed: bool
    bond: int  # the selected proposal's bond
    punish_weight: int
    keep_weight: int
    punished: bool
    bond_to_owner_pool: int
    pools_before: dict[str, int]
    pools_after: dict[str, int]
    wei_in: int  # deposits + bonds + vote deposits paid into this round
    participants: dict[str, ParticipantResult]  # join order


class CampaignResult(_Frozen):
    rules: Literal["v2"] = "v2"
    config: CampaignConfig
    rounds: list[RoundResult]
    pools_before: dict[str, int]
    pools_after: dict[str, int]
    wei_in: int  # Σ deposits + bonds + vote deposits over all rounds
    credits_out: int  # Σ credits over all rounds

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json")

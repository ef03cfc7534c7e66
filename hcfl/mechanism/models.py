"""Pydantic models at the boundary of the mechanism reference: the round `Instance` it settles, the
`Settlement` it returns, and the post-training `TrainingOutcome` / `RoundEnd`.

Amounts are Python ints in wei (JSON ints may exceed 2**53). Ints are strict: `true`, `1.0` and `"1"`
are rejected, so a typo cannot silently change a settlement.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Contract caps (docs/mechanism.md, "Round phases").
MAX_PARTICIPANTS = 200
MAX_PROPOSALS = 20
UINT256_MAX = 2**256 - 1
BPS = 10_000

Wei = Annotated[int, Field(strict=True, ge=0)]
PositiveWei = Annotated[int, Field(strict=True, ge=1)]
Bps = Annotated[int, Field(strict=True, ge=0, le=BPS)]

PaymentRule = Literal["paper-random", "posted"]
OwnerShareRule = Literal["equal", "capability"]
StationShareRule = Literal["equal", "capability", "contribution"]
Status = Literal["revealed", "committed", "joined"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Participant(_Frozen):
    """A joined participant.

    `capability` defaults to 1, so the `capability` share rule with no declared capabilities is the
    equal split. `deposit=None` means unbounded: claims are not capped and affordability never binds
    (a pure-mechanism mode; on chain every participant has a deposit >= 1 wei).
    `status`: `revealed` (committed and revealed: takes part in settlement), `committed` (committed but
    did not reveal: forfeits `non_reveal_penalty_bps` of its deposit), `joined` (never committed: full
    refund). Claims of a participant that did not reveal are ignored.
    """

    id: Annotated[str, Field(min_length=1, max_length=200)]
    capability: Wei = 1
    deposit: PositiveWei | None = None
    status: Status = "revealed"

    @property
    def revealed(self) -> bool:
        return self.status == "revealed"

    @property
    def claims(self) -> list[int]:
        raise NotImplementedError


class Owner(Participant):
    values: list[Wei] = Field(default_factory=list)

    @property
    def claims(self) -> list[int]:
        return self.values


class Station(Participant):
    costs: list[Wei] = Field(default_factory=list)

    @property
    def claims(self) -> list[int]:
        return self.costs


class Proposal(_Frozen):
    """Who posted proposal m and the responsibility bond locked with it."""

    proposer: Annotated[str, Field(min_length=1)]
    bond: Wei = 0


class Instance(_Frozen):
    """One round, as seen at settlement. Owners and stations are listed in join order."""

    owners: list[Owner] = Field(default_factory=list)
    stations: list[Station] = Field(default_factory=list)
    payment_rule: PaymentRule = "paper-random"
    share_rule: OwnerShareRule = "equal"
    # None: the same rule as `share_rule` (both owner rules are valid station rules).
    station_share_rule: StationShareRule | None = None
    # None: derived from the instance (see hcfl.mechanism.settle.default_seed).
    seed: Annotated[int, Field(strict=True, ge=0, le=UINT256_MAX)] | None = None
    # Required for `posted` (one per proposal); validated but unused under `paper-random`.
    posted_prices: list[Wei] | None = None
    owner_pool: Wei = 0
    station_pool: Wei = 0
    non_reveal_penalty_bps: Bps = 1000
    # Optional: one per proposal; needed for bond credits and the round end (winner, vote).
    proposals: list[Proposal] | None = None

    @model_validator(mode="after")
    def _check(self) -> Instance:
        everyone: list[Participant] = [*self.owners, *self.stations]
        if not everyone:
            raise ValueError("at least one participant (owner or station) is required")
        if len(everyone) > MAX_PARTICIPANTS:
            raise ValueError(f"at most {MAX_PARTICIPANTS} participants per round, got {len(everyone)}")
        seen: set[str] = set()
        for p in everyone:
            if p.id in seen:
                raise ValueError(f"duplicate participant id {p.id!r} (ids are unique across owners and stations)")
            seen.add(p.id)

        k = self._infer_k()
        if k < 1:
            raise ValueError("at least one proposal is required (K >= 1)")
        if k > MAX_PROPOSALS:
            raise ValueError(f"at most {MAX_PROPOSALS} proposals per round, got K={k}")
        for p in everyone:
            if p.revealed and len(p.claims) != k:
                field = "values" if isinstance(p, Owner) else "costs"
                raise ValueError(f"participant {p.id!r}: {field} must have K={k} entries, got {len(p.claims)}")
        if self.posted_prices is not None and len(self.posted_prices) != k:
            raise ValueError(f"posted_prices must have K={k} entries, got {len(self.posted_prices)}")
        if self.proposals is not None:
            if len(self.proposals) != k:
                raise ValueError(f"proposals must have K={k} entries, got {len(self.proposals)}")
            owner_ids = {o.id for o in self.owners}
            for m, prop in enumerate(self.proposals):
                if prop.proposer not in owner_ids:
                    raise ValueError(f"proposal {m}: proposer {prop.proposer!r} is not an owner of this round")

        if self.payment_rule == "posted":
            if self.posted_prices is None:
                raise ValueError("payment_rule 'posted' requires posted_prices (one per proposal)")
            max_price = max(self.posted_prices)
            for p in everyone:
                # Mirrors the contract's commit revert (InsufficientDeposit).
                if p.status != "joined" and p.deposit is not None and p.deposit < max_price + 1:
                    raise ValueError(
                        f"participant {p.id!r}: deposit {p.deposit} < maxPrice + 1 = {max_price + 1} "
                        "(posted rule; the contract's commit reverts with InsufficientDeposit)"
                    )
        for p in everyone:
            if p.status == "committed" and p.deposit is None:
                raise ValueError(f"participant {p.id!r} did not reveal: a deposit is needed to compute its penalty")
        return self

    def _infer_k(self) -> int:
        sources: list[tuple[str, int]] = []
        if self.proposals is not None:
            sources.append(("proposals", len(self.proposals)))
        if self.posted_prices is not None:
            sources.append(("posted_prices", len(self.posted_prices)))
        for p in [*self.owners, *self.stations]:
            if p.revealed:
                sources.append((f"participant {p.id!r}", len(p.claims)))
                break
        if not sources:
            raise ValueError("cannot determine K: no revealed participant, posted_prices or proposals")
        return sources[0][1]

    @property
    def k(self) -> int:
        return self._infer_k()

    @property
    def effective_station_share_rule(self) -> StationShareRule:
        return self.station_share_rule or self.share_rule

    @property
    def revealed_owners(self) -> list[Owner]:
        return [o for o in self.owners if o.revealed]

    @property
    def revealed_stations(self) -> list[Station]:
        return [s for s in self.stations if s.revealed]


class Settlement(_Frozen):
    """What `settle` computes. Dicts are keyed by participant id, in join order (owners first)."""

    payment_rule: PaymentRule
    k: int
    surplus: list[int]  # S(m) for m = 0..K-1 over capped claims of revealed participants
    argmax: int | None  # m* by the first-maximal rule, before the funding check
    selected: int | None  # m*, or None when "none" won or the round is unfunded
    unfunded: bool
    m_minus: dict[str, int | None]  # m_-p per revealed participant
    taxes: dict[str, int]  # charged taxes (all 0 when unfunded)
    seed: int
    sum_values: int | None  # Σb at m*
    sum_costs: int | None  # Σk at m*
    c_max: int | None  # paper-random only
    total_payment: int | None  # C
    owner_discount: int  # D_o
    station_bonus: int  # D_s
    owner_payments: dict[str, int]  # revealed owners
    station_rewards: dict[str, int]  # revealed stations: shares held in escrow at settlement
    capped_claims: dict[str, list[int]]  # revealed participants
    penalties: dict[str, int]  # non-reveal penalties (committed but not revealed)
    pools_before: dict[str, int]
    pools_after: dict[str, int]  # {"owner_pool", "station_pool"}
    winner: str | None  # proposer of the selected proposal (when proposals are given)
    bond_held: int  # the winner's bond, held until the vote
    bond_credits: dict[str, int]  # bonds credited back at settlement, per proposer
    credits: dict[str, int] | None  # deposit-derived credits at settlement; None when no deposit given

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json")


class Vote(_Frozen):
    voter: Annotated[str, Field(min_length=1)]
    punish: bool


class TrainingOutcome(_Frozen):
    """What happened after settlement: station reports, the winner's finalization and the vote."""

    t: Annotated[int, Field(strict=True, ge=1)]  # global rounds of the selected proposal
    reported_rounds: dict[str, Annotated[int, Field(strict=True, ge=0)]] = Field(default_factory=dict)
    finalized: bool = True
    scores: list[Wei] | None = None  # one per revealed station (join order), from finalizeTraining
    votes: list[Vote] = Field(default_factory=list)  # revealed votes only
    threshold_bps: Bps = 5000


class RoundEnd(_Frozen):
    station_rewards: dict[str, int]  # final, released at Finished
    station_forfeits: dict[str, int]
    winner: str | None
    winner_failed: bool
    punish_votes: int
    revealed_votes: int
    punished: bool
    bond: int
    bond_returned: int
    bond_split: dict[str, int]
    bond_to_owner_pool: int
    pools_after: dict[str, int]
    credits: dict[str, int]  # everything credited over the whole round, per id (deposits, bonds, rewards)


def describe_validation_error(exc: ValidationError) -> str:
    """One line for a CLI: `loc: message; loc: message`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts).replace("\n", " ")

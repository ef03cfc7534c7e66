"""Pure folding of decoded HCFL v2 events into ledger records (no chain access here).

    state = LedgerState()
    fold(state, events)          # events: hcfl.chain.client.ChainEvent in chain order
    ledger = snapshot(state)     # frozen records (hcfl.ledger.records)

`fold` is incremental: call it again with later events. The builders below are mutable and private to
this module; `snapshot` copies them into frozen records. Events this module does not know are counted
and otherwise ignored (so a newer contract does not break an older ledger).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from hcfl.chain.client import ChainEvent
from hcfl.ledger.records import (
    SWEEP_ROUND,
    AccountFlow,
    BondOutcome,
    CampaignRecord,
    Finalization,
    Ledger,
    ParticipantRecord,
    ParticipantSettlement,
    PoolChange,
    ProposalRecord,
    RoundRecord,
    RoundSettlement,
    StationReward,
    TrainingReport,
    VoteRecord,
    frozen_map,
)
from hcfl.protocol import CampaignConfig, CreditReason, PoolKind, Role


class LedgerError(ValueError):
    """The events do not fit together (an event for an unknown round, a reveal without a join, ...)."""


# ---------------------------------------------------------------------------------------------- builders
@dataclass
class _Campaign:
    campaign_id: int
    creator: str
    config: CampaignConfig
    block: int
    round_ids: list[int] = field(default_factory=list)
    owner_pool: int = 0
    station_pool: int = 0
    pool_history: list[PoolChange] = field(default_factory=list)
    swept: int = 0


@dataclass
class _Participant:
    address: str
    role: Role
    deposit: int
    join_index: int
    committed: bool = False
    commitment: bytes | None = None
    revealed: bool = False
    reveal_index: int | None = None
    claims: tuple[int, ...] | None = None
    salt: bytes | None = None
    prefix: int | None = None
    reports: list[TrainingReport] = field(default_factory=list)
    settlement: ParticipantSettlement | None = None
    reward: StationReward | None = None
    slash_share: int = 0
    vote_forfeit: int = 0
    credits: dict[CreditReason, int] = field(default_factory=dict)


@dataclass
class _Vote:
    voter: str
    commitment: bytes
    weight: int
    revealed: bool = False
    punish: bool | None = None
    prefix: int | None = None
    reveal_index: int | None = None
    forfeited: int = 0


@dataclass
class _Round:
    round_id: int
    campaign_id: int
    join_end: int
    propose_end: int
    commit_end: int
    reveal_end: int
    block: int
    proposals: list[ProposalRecord] = field(default_factory=list)
    participants: dict[str, _Participant] = field(default_factory=dict)  # insertion = join order
    reveal_order: list[str] = field(default_factory=list)
    settlement: RoundSettlement | None = None
    reports: list[TrainingReport] = field(default_factory=list)
    finalization: Finalization | None = None
    training_closed_at: int | None = None
    objections: list[str] = field(default_factory=list)
    votes: dict[str, _Vote] = field(default_factory=dict)
    vote_reveal_order: list[str] = field(default_factory=list)
    bond: BondOutcome | None = None
    pool_changes: list[PoolChange] = field(default_factory=list)
    escrow_returned: int = 0
    inclusion_root: bytes | None = None
    included: dict[str, int] = field(default_factory=dict)
    contests: list[str] = field(default_factory=list)


@dataclass
class _Account:
    address: str
    deposits: int = 0
    bonds: int = 0
    vote_deposits: int = 0
    withdrawn: int = 0
    credits: dict[CreditReason, int] = field(default_factory=dict)


@dataclass
class LedgerState:
    """The mutable fold state (plus the fetch cursor the fetcher keeps in it)."""

    cursor: int = -1  # last block folded
    cursor_hash: bytes | None = None
    events: int = 0
    unknown_events: int = 0
    restarts: int = 0
    campaigns: dict[int, _Campaign] = field(default_factory=dict)
    rounds: dict[int, _Round] = field(default_factory=dict)
    accounts: dict[str, _Account] = field(default_factory=dict)
    swept: int = 0
    # claimWithScore arguments by (roundId, station), filled by the fetcher from the call data
    score_calls: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    # timestamps of the blocks that settled a round (settledAt starts the training clock), by the fetcher
    block_times: dict[int, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- fold
def _addr(v: Any) -> str:
    return to_checksum_address(v)


def _b(v: Any) -> bytes:
    return bytes(v)


def _round(st: LedgerState, rid: int) -> _Round:
    try:
        return st.rounds[int(rid)]
    except KeyError:
        raise LedgerError(f"event for round {rid} before its RoundOpened") from None


def _part(r: _Round, who: Any) -> _Participant:
    try:
        return r.participants[_addr(who)]
    except KeyError:
        raise LedgerError(f"round {r.round_id}: event for {who}, who never joined") from None


def _account(st: LedgerState, who: Any) -> _Account:
    a = _addr(who)
    acc = st.accounts.get(a)
    if acc is None:
        acc = st.accounts[a] = _Account(address=a)
    return acc


def _vote(r: _Round, who: Any) -> _Vote:
    try:
        return r.votes[_addr(who)]
    except KeyError:
        raise LedgerError(f"round {r.round_id}: vote event for {who} without VoteCommitted") from None


def _config(raw: Any) -> CampaignConfig:
    return CampaignConfig.from_tuple(tuple(raw.values()) if hasattr(raw, "values") else tuple(raw))


def apply(st: LedgerState, ev: ChainEvent) -> None:
    """Fold one event into `st` (events must come in chain order)."""
    a, n, blk = ev.args, ev.name, ev.block_number
    st.events += 1
    if n == "CampaignCreated":
        cid = int(a["campaignId"])
        st.campaigns[cid] = _Campaign(cid, _addr(a["creator"]), _config(a["cfg"]), blk)
    elif n == "RoundOpened":
        rid, cid = int(a["roundId"]), int(a["campaignId"])
        if cid not in st.campaigns:
            raise LedgerError(f"round {rid} opened in unknown campaign {cid}")
        st.rounds[rid] = _Round(rid, cid, int(a["joinEnd"]), int(a["proposeEnd"]), int(a["commitEnd"]),
                                int(a["revealEnd"]), blk)
        st.campaigns[cid].round_ids.append(rid)
    elif n == "Joined":
        r = _round(st, a["roundId"])
        who, dep = _addr(a["account"]), int(a["deposit"])
        r.participants[who] = _Participant(who, Role(int(a["role"])), dep, len(r.participants))
        _account(st, who).deposits += dep
    elif n == "Proposed":
        r = _round(st, a["roundId"])
        r.proposals.append(ProposalRecord(
            proposal_id=int(a["proposalId"]), proposer=_addr(a["proposer"]), spec_hash=_b(a["specHash"]),
            uri=str(a["uri"]), arch_id=int(a["archId"]), promised_acc_bps=int(a["promisedAccBps"]),
            global_rounds=int(a["globalRounds"]), label_mask=int(a["labelMask"]), bond=int(a["bond"]),
            price=int(a["price"])))
        _account(st, a["proposer"]).bonds += int(a["bond"])
    elif n == "ClaimsCommitted":
        p = _part(_round(st, a["roundId"]), a["account"])
        p.committed, p.commitment = True, _b(a["commitment"])
    elif n == "ClaimsRevealed":
        r = _round(st, a["roundId"])
        p = _part(r, a["account"])
        p.revealed, p.reveal_index = True, len(r.reveal_order)
        p.claims = tuple(int(c) for c in a["cappedClaims"])
        p.salt, p.prefix = _b(a["salt"]), int(a["prefix"])
        r.reveal_order.append(p.address)
    elif n == "RoundSettled":
        r = _round(st, a["roundId"])
        r.settlement = RoundSettlement(
            selected=bool(a["selected"]), star=int(a["star"]), unfunded=bool(a["unfunded"]),
            payment=int(a["payment"]), owner_discount=int(a["ownerDiscount"]), station_bonus=int(a["stationBonus"]),
            seed=int(a["seed"]), afford_mask=int(a["affordMask"]), block=blk, settled_at=st.block_times.get(blk),
            # the draws' PoolChanged events come before RoundSettled in the same transaction, and a round
            # has no other pool change before it is settled
            pool_index=len(st.campaigns[r.campaign_id].pool_history) - len(r.pool_changes))
    elif n == "ParticipantSettled":
        p = _part(_round(st, a["roundId"]), a["account"])
        p.settlement = ParticipantSettlement(int(a["payment"]), int(a["tax"]), int(a["penalty"]), int(a["refund"]))
        # the refund is the credit (the contract emits no Credited event for deposit returns)
        _credit(st, int(a["roundId"]), a["account"], int(a["refund"]), CreditReason.DEPOSIT_RETURN)
    elif n == "PoolChanged":
        cid, rid = int(a["campaignId"]), int(a["roundId"])
        c = st.campaigns[cid]
        ch = PoolChange(block=blk, round_id=None if rid == SWEEP_ROUND else rid, pool=PoolKind(int(a["pool"])),
                        delta=int(a["delta"]), balance=int(a["newBalance"]))
        c.pool_history.append(ch)
        if ch.pool == PoolKind.OWNER:
            c.owner_pool = ch.balance
        else:
            c.station_pool = ch.balance
        if ch.round_id is not None:
            _round(st, rid).pool_changes.append(ch)
    elif n == "TrainingReported":
        r = _round(st, a["roundId"])
        rep = TrainingReport(station=_addr(a["station"]), global_round=int(a["globalRound"]),
                             update_hash=_b(a["updateHash"]), samples=int(a["samples"]),
                             accuracy_bps=int(a["accuracyBps"]), clients_root=_b(a["clientsRoot"]), block=blk)
        r.reports.append(rep)
        _part(r, rep.station).reports.append(rep)
    elif n == "TrainingFinalized":
        r = _round(st, a["roundId"])
        r.finalization = Finalization(
            winner=_addr(a["winner"]), model_hash=_b(a["modelHash"]), achieved_acc_bps=int(a["achievedAccBps"]),
            scores_root=_b(a["scoresRoot"]), scores_total=int(a["scoresTotal"]),
            validation_hash=_b(a["validationHash"]), block=blk)
    elif n == "TrainingClosed":
        _round(st, a["roundId"]).training_closed_at = int(a["closedAt"])
    elif n == "ScoresObjected":
        _round(st, a["roundId"]).objections.append(_addr(a["station"]))
    elif n == "StationRewarded":
        rid = int(a["roundId"])
        p = _part(_round(st, rid), a["station"])
        score, prefix = st.score_calls.get((rid, p.address), (None, None))
        by = bool(a["byContribution"])
        p.reward = StationReward(share=int(a["share"]), reward=int(a["reward"]), forfeited=int(a["forfeited"]),
                                 by_contribution=by, score=score if by else None,
                                 prefix_before=prefix if by else None)
        # the reward is the credit (the contract emits no Credited event for station rewards)
        _credit(st, rid, a["station"], int(a["reward"]), CreditReason.STATION_REWARD)
    elif n == "VoteCommitted":
        r = _round(st, a["roundId"])
        who = _addr(a["voter"])
        r.votes[who] = _Vote(who, _b(a["commitment"]), int(a["weight"]))
    elif n == "VoteRevealed":
        r = _round(st, a["roundId"])
        v = _vote(r, a["voter"])
        v.revealed, v.punish, v.prefix = True, bool(a["punish"]), int(a["prefix"])
        v.reveal_index = len(r.vote_reveal_order)
        r.vote_reveal_order.append(v.voter)
    elif n == "VoteDepositForfeited":
        r = _round(st, a["roundId"])
        _vote(r, a["voter"]).forfeited += int(a["amount"])
        _part(r, a["voter"]).vote_forfeit += int(a["amount"])
    elif n == "BondReleased":
        _round(st, a["roundId"]).bond = BondOutcome(winner=_addr(a["winner"]), punished=bool(a["punished"]),
                                                    failed=bool(a["failed"]), to_winner=int(a["toWinner"]))
    elif n == "BondSlashShare":
        _part(_round(st, a["roundId"]), a["account"]).slash_share += int(a["amount"])
    elif n == "Credited":
        _credit(st, int(a["roundId"]), a["account"], int(a["amount"]), CreditReason(int(a["reason"])))
    elif n == "EscrowReturned":
        _round(st, a["roundId"]).escrow_returned += int(a["amount"])
    elif n == "InclusionRecorded":
        _round(st, a["roundId"]).inclusion_root = _b(a["inclusionRoot"])
    elif n == "InclusionProven":
        _round(st, a["roundId"]).included[_addr(a["station"])] = int(a["includedRounds"])
    elif n == "InclusionContested":
        _round(st, a["roundId"]).contests.append(_addr(a["station"]))
    elif n == "Withdrawn":
        _account(st, a["account"]).withdrawn += int(a["amount"])
    elif n == "SurplusSwept":
        c = st.campaigns[int(a["campaignId"])]
        c.swept += int(a["amount"])
        st.swept += int(a["amount"])
    else:
        st.events -= 1
        st.unknown_events += 1
    if n == "VoteCommitted":
        # the vote deposit (cfg.voteDeposit) is paid in with commitVote; the event does not repeat it
        r = st.rounds[int(a["roundId"])]
        _account(st, a["voter"]).vote_deposits += st.campaigns[r.campaign_id].config.vote_deposit


def _credit(st: LedgerState, rid: int, account: Any, amount: int, reason: CreditReason) -> None:
    """A credit to `account` in round `rid`: a Credited event, or the refund of ParticipantSettled / the reward
    of StationRewarded (which the contract does not repeat in a Credited event)."""
    if amount == 0:
        return
    acc = _account(st, account)
    acc.credits[reason] = acc.credits.get(reason, 0) + amount
    r = _round(st, rid)
    who = _addr(account)
    p = r.participants.get(who)
    if p is None:  # a proposer's bond is credited although it is always a joined owner; be strict
        raise LedgerError(f"round {rid}: credit for {who}, who never joined")
    p.credits[reason] = p.credits.get(reason, 0) + amount


def fold(st: LedgerState, events: Iterable[ChainEvent]) -> LedgerState:
    for ev in events:
        apply(st, ev)
    return st


# ---------------------------------------------------------------------------------------------- snapshot
def _freeze_participant(p: _Participant) -> ParticipantRecord:
    return ParticipantRecord(
        address=p.address, role=p.role, deposit=p.deposit, join_index=p.join_index, committed=p.committed,
        commitment=p.commitment, revealed=p.revealed, reveal_index=p.reveal_index, claims=p.claims, salt=p.salt,
        prefix=p.prefix, reports=tuple(p.reports), settlement=p.settlement, reward=p.reward,
        slash_share=p.slash_share, vote_forfeit=p.vote_forfeit, credits=frozen_map(p.credits))


def _freeze_round(r: _Round) -> RoundRecord:
    return RoundRecord(
        round_id=r.round_id, campaign_id=r.campaign_id, join_end=r.join_end, propose_end=r.propose_end,
        commit_end=r.commit_end, reveal_end=r.reveal_end, block=r.block, proposals=tuple(r.proposals),
        participants=tuple(_freeze_participant(p) for p in r.participants.values()),
        reveal_order=tuple(r.reveal_order), settlement=r.settlement, reports=tuple(r.reports),
        finalization=r.finalization, training_closed_at=r.training_closed_at, objections=tuple(r.objections),
        votes=tuple(VoteRecord(v.voter, v.commitment, v.weight, v.revealed, v.punish, v.prefix, v.reveal_index,
                               v.forfeited) for v in r.votes.values()),
        vote_reveal_order=tuple(r.vote_reveal_order), bond=r.bond, pool_changes=tuple(r.pool_changes),
        escrow_returned=r.escrow_returned, inclusion_root=r.inclusion_root, included=frozen_map(r.included),
        contests=tuple(r.contests))


def snapshot(st: LedgerState) -> Ledger:
    """Frozen records of everything folded so far."""
    return Ledger(
        cursor=st.cursor, events=st.events,
        campaigns=frozen_map({cid: CampaignRecord(
            campaign_id=c.campaign_id, creator=c.creator, config=c.config, block=c.block,
            round_ids=tuple(c.round_ids), owner_pool=c.owner_pool, station_pool=c.station_pool,
            pool_history=tuple(c.pool_history), swept=c.swept) for cid, c in st.campaigns.items()}),
        rounds=frozen_map({rid: _freeze_round(r) for rid, r in st.rounds.items()}),
        accounts=frozen_map({k: AccountFlow(address=v.address, deposits=v.deposits, bonds=v.bonds,
                                            vote_deposits=v.vote_deposits, withdrawn=v.withdrawn,
                                            credits=frozen_map(v.credits)) for k, v in st.accounts.items()}),
        swept=st.swept, restarts=st.restarts,
        extra=frozen_map({"unknown_events": st.unknown_events}),
    )

"""The auditor: replays every HCFLCrowdfund event and recomputes each round with the Python reference.

    report = audit(HCFLClient(w3, address))
    report.ok                      # every settled round verified and the books balance
    report.rounds[0].status        # "verified" | "mismatched" | "pending" | "incomplete"
    report.rounds[0].mismatches    # [{"field", "expected", "actual"}] when mismatched

For each round it rebuilds, from the events alone: the rule config (RoundCreated), participants in join
order with deposits and capabilities (Joined), proposals, bonds and posted prices (Proposed), who
committed (ClaimsCommitted), revealed capped claims and salts (ClaimsRevealed), and the recycle pools
just before the settlement (the previous PoolsUpdated event, contract-wide). It then runs
`hcfl.mechanism.settle.settle` with the chain's seed and compares selection, surplus, taxes, payments,
penalties, discount/bonus, pools and every settlement credit with the events; for a finished round with
a selected model it runs `hcfl.mechanism.round_end.finish_round` and compares station rewards,
forfeits, the vote tally, the bond and the pools. Finally it checks that per account the Credited minus
Withdrawn events equal the on-chain credit, and that every wei is accounted for:

    Σ deposits + Σ bonds == outstanding credits + Σ withdrawn + pools + escrow + locked deposits/bonds
    contract balance == accounting() total

`tamper` (tests only) receives the normalised event list before recomputation and may edit it in place.

Amounts are Python ints; in JSON (``report.model_dump(mode="json")``) every amount is a decimal string.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainSerializer

from hcfl.chain.client import ChainEvent, HCFLClient
from hcfl.chain.commitments import salt_seed
from hcfl.chain.types import RoundConfig
from hcfl.mechanism.models import Instance, Owner, Proposal, Station, TrainingOutcome, Vote
from hcfl.mechanism.round_end import RoundEndError, finish_round
from hcfl.mechanism.settle import settle

log = logging.getLogger(__name__)

# amounts serialise as decimal strings in JSON (browsers lose precision above 2^53)
Wei = Annotated[int, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]

PHASES = ["None", "Joining", "Proposing", "Committing", "Revealing", "Training", "VoteCommitting", "VoteRevealing",
          "Finished"]
ROLES = ["None", "Owner", "Station"]
PAYMENT_RULES = ["paper-random", "posted"]
SHARE_RULES = ["equal", "capability", "contribution"]
CREDIT_REASONS = ["DepositReturn", "BondReturn", "StationReward", "BondSlashShare"]

Status = Literal["verified", "mismatched", "pending", "incomplete"]


# ---------------------------------------------------------------------------------------------- report
class Mismatch(BaseModel):
    field: str
    expected: Any = None  # JSON-safe (ints as strings)
    actual: Any = None


class ParticipantAudit(BaseModel):
    address: str
    role: str  # "Owner" | "Station"
    deposit: Wei
    capability: Wei
    status: str  # "revealed" | "committed" | "joined"
    claims: list[Wei] = []
    tax: Wei = 0
    payment: Wei = 0
    penalty: Wei = 0
    share: Wei = 0  # station share of the escrow (at round end)
    reward: Wei = 0  # station reward released at round end
    credited: Wei = 0  # all credits of this round


class ProposalAudit(BaseModel):
    index: int
    proposer: str
    spec_hash: str
    uri: str
    promised_acc_bps: int
    global_rounds: int
    label_mask: Wei
    bond: Wei
    posted_price: Wei


class RoundAudit(BaseModel):
    round_id: int
    status: Status
    phase: str
    payment_rule: str | None = None
    owner_share_rule: str | None = None
    station_share_rule: str | None = None
    participants: list[ParticipantAudit] = []
    proposals: list[ProposalAudit] = []
    settled: bool = False
    finished: bool = False
    selected: int | None = None
    unfunded: bool = False
    surplus: list[Wei] = []
    seed: Wei | None = None
    total_payment: Wei | None = None
    owner_discount: Wei = 0
    station_bonus: Wei = 0
    pools_before: dict[str, Wei] = {}
    pools_after: dict[str, Wei] = {}
    punished: bool | None = None
    settle_tx: str | None = None
    finish_tx: str | None = None
    checks: list[str] = []  # what was compared and agreed
    mismatches: list[Mismatch] = []
    note: str | None = None


class AccountAudit(BaseModel):
    address: str
    deposits: Wei = 0
    bonds: Wei = 0
    taxes: Wei = 0
    payments: Wei = 0
    penalties: Wei = 0
    rewards: Wei = 0
    credited: Wei = 0
    credited_by_reason: dict[str, Wei] = {}
    withdrawn: Wei = 0
    outstanding: Wei = 0  # credited - withdrawn, from events
    onchain_credit: Wei = 0
    ok: bool = True


class Conservation(BaseModel):
    complete: bool  # replayed from the deployment (from_block == 0)
    deposits_in: Wei
    bonds_in: Wei
    credited: Wei
    withdrawn: Wei
    outstanding_credits: Wei
    pools: Wei
    escrow: Wei
    locked_deposits: Wei
    locked_bonds: Wei
    accounting: dict[str, Wei]
    accounting_total: Wei
    balance: Wei
    ok: bool
    mismatches: list[Mismatch] = []


class AuditReport(BaseModel):
    contract: str
    chain_id: int
    block: int
    from_block: int
    events: int
    ok: bool
    rounds: list[RoundAudit]
    accounts: list[AccountAudit]
    conservation: Conservation

    @property
    def mismatched_rounds(self) -> list[int]:
        return [r.round_id for r in self.rounds if r.status == "mismatched"]


# ---------------------------------------------------------------------------------------------- events
def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in dict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def normalize_event(ev: ChainEvent) -> dict[str, Any]:
    """A ChainEvent as a plain dict: bytes as 0x-hex, structs as dicts, ints kept as ints."""
    return {"name": ev.name, "args": _plain(ev.args), "block": ev.block_number, "tx_hash": ev.tx_hash,
            "log_index": ev.log_index}


def jsonable(value: Any) -> Any:
    """Ints as decimal strings (recursively), for JSON to browsers."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------- replay
@dataclass
class _Member:
    address: str
    role: int
    deposit: int
    capability: int
    committed: bool = False
    revealed: bool = False
    claims: list[int] = field(default_factory=list)
    salt: str | None = None


@dataclass
class _Round:
    rid: int
    cfg: dict[str, Any] | None = None
    members: dict[str, _Member] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # join order, both sides
    proposals: list[dict[str, Any]] = field(default_factory=list)
    phase: int = 1
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (global index, event)
    settled: tuple[int, dict[str, Any]] | None = None
    tallied: tuple[int, dict[str, Any]] | None = None


class _Checker:
    def __init__(self) -> None:
        self.checks: list[str] = []
        self.mismatches: list[Mismatch] = []

    def eq(self, name: str, expected: Any, actual: Any) -> None:
        if expected == actual:
            self.checks.append(name)
        else:
            self.mismatches.append(Mismatch(field=name, expected=jsonable(expected), actual=jsonable(actual)))

    def fail(self, name: str, message: str) -> None:
        self.mismatches.append(Mismatch(field=name, expected=None, actual=message))


def _nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


def _sum_by(events: list[dict[str, Any]], key: str, amount: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for e in events:
        out[e["args"][key]] += int(e["args"][amount])
    return dict(out)


def _pools_before(pool_events: list[tuple[int, dict[str, Any]]], index: int) -> dict[str, int]:
    prev = None
    for i, e in pool_events:
        if i >= index:
            break
        prev = e
    if prev is None:
        return {"owner_pool": 0, "station_pool": 0}
    return {"owner_pool": int(prev["args"]["ownerPool"]), "station_pool": int(prev["args"]["stationPool"])}


def audit(client: HCFLClient, from_block: int = 0, *, events: Sequence[ChainEvent] | None = None,
          tamper: Callable[[list[dict[str, Any]]], None] | None = None) -> AuditReport:
    """Replay every event of `client`'s contract from `from_block` and check it (module docstring).
    `events`: the contract's events from `from_block` to the latest block when the caller already holds
    them (the coordinator's event cache), so they are not fetched again."""
    head = int(client.w3.eth.block_number)
    if events is None:
        events = client.events(from_block=from_block, to_block=head)
    normalized = [normalize_event(e) for e in events]
    if tamper is not None:
        tamper(normalized)

    rounds: dict[int, _Round] = {}
    pool_events: list[tuple[int, dict[str, Any]]] = []
    for i, e in enumerate(normalized):
        a = e["args"]
        if e["name"] == "PoolsUpdated":
            pool_events.append((i, e))
        if "roundId" not in a:
            continue
        r = rounds.setdefault(int(a["roundId"]), _Round(int(a["roundId"])))
        r.events.append((i, e))
        name = e["name"]
        if name == "RoundCreated":
            r.cfg = dict(a["cfg"])
        elif name == "PhaseAdvanced":
            r.phase = int(a["phase"])
        elif name == "Joined":
            m = _Member(a["account"], int(a["role"]), int(a["deposit"]), int(a["capability"]))
            r.members[m.address] = m
            r.order.append(m.address)
        elif name == "Proposed":
            r.proposals.append(dict(a))
        elif name == "ClaimsCommitted" and a["account"] in r.members:
            r.members[a["account"]].committed = True
        elif name == "ClaimsRevealed" and a["account"] in r.members:
            m = r.members[a["account"]]
            m.revealed = True
            m.claims = [int(c) for c in a["cappedClaims"]]
            m.salt = a["salt"]
        elif name == "RoundSettled":
            r.settled = (i, e)
        elif name == "VoteTallied":
            r.tallied = (i, e)

    round_reports = [_audit_round(r, normalized, pool_events) for _, r in sorted(rounds.items())]
    accounts = _accounts(client, normalized)
    conservation = _conservation(client, normalized, rounds, pool_events, from_block == 0)
    ok = (all(r.status != "mismatched" for r in round_reports) and all(a.ok for a in accounts)
          and conservation.ok)
    return AuditReport(contract=client.address, chain_id=client.chain_id, block=head, from_block=from_block,
                       events=len(normalized), ok=ok, rounds=round_reports, accounts=accounts, conservation=conservation)


def _audit_round(r: _Round, events: list[dict[str, Any]], pool_events) -> RoundAudit:
    phase = PHASES[r.phase] if 0 <= r.phase < len(PHASES) else str(r.phase)
    if r.cfg is None:
        return RoundAudit(round_id=r.rid, status="incomplete", phase=phase,
                          note="RoundCreated is not in the replayed range (audit from the deployment block)")
    cfg = RoundConfig.from_tuple([r.cfg[k] for k in (
        "joinDuration", "proposeDuration", "commitDuration", "revealDuration", "trainDuration",
        "voteCommitDuration", "voteRevealDuration", "nonRevealPenaltyBps", "punishThresholdBps", "paymentRule",
        "ownerShareRule", "stationShareRule", "minBond")])
    rule = PAYMENT_RULES[int(cfg.payment_rule)]
    owner_rule = SHARE_RULES[int(cfg.owner_share_rule)]
    station_rule = SHARE_RULES[int(cfg.station_share_rule)]
    out = RoundAudit(round_id=r.rid, status="pending", phase=phase, payment_rule=rule, owner_share_rule=owner_rule,
                     station_share_rule=station_rule)
    members = [r.members[a] for a in r.order]
    parts = {m.address: ParticipantAudit(
        address=m.address, role=ROLES[m.role] if m.role < 3 else str(m.role), deposit=m.deposit,
        capability=m.capability, status="revealed" if m.revealed else "committed" if m.committed else "joined",
        claims=m.claims) for m in members}
    out.participants = list(parts.values())
    out.proposals = [ProposalAudit(
        index=k, proposer=p["proposer"], spec_hash=p["specHash"], uri=p["uri"], promised_acc_bps=int(p["promisedAccBps"]),
        global_rounds=int(p["globalRounds"]), label_mask=int(p["labelMask"]), bond=int(p["bond"]),
        posted_price=int(p["postedPrice"])) for k, p in enumerate(r.proposals)]
    for _ev_i, e in r.events:
        if e["name"] == "Credited" and e["args"]["account"] in parts:
            parts[e["args"]["account"]].credited += int(e["args"]["amount"])
    if r.settled is None:
        out.note = "not settled yet"
        return out

    c = _Checker()
    settle_index, settled = r.settled
    sa = settled["args"]
    out.settled = True
    out.settle_tx = settled["tx_hash"]
    settle_events = [e for _, e in r.events if e["tx_hash"] == settled["tx_hash"]]
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in settle_events:
        by_name[e["name"]].append(e)
    pools_before = _pools_before(pool_events, settle_index)
    out.pools_before = pools_before
    out.seed = int(sa["seed"])
    out.surplus = [int(x) for x in sa["surplus"]]
    out.unfunded = bool(sa["unfunded"])
    out.selected = int(sa["selected"]) if sa["selectedSome"] else None
    out.total_payment = int(sa["totalPayment"]) if sa["selectedSome"] else None
    pu = by_name["PoolsUpdated"][0]["args"] if by_name["PoolsUpdated"] else None
    if pu is not None:
        out.owner_discount, out.station_bonus = int(pu["ownerDiscount"]), int(pu["stationBonus"])
        out.pools_after = {"owner_pool": int(pu["ownerPool"]), "station_pool": int(pu["stationPool"])}
    for e in by_name["ParticipantSettled"]:
        p = parts.get(e["args"]["account"])
        if p is not None:
            p.tax, p.payment = int(e["args"]["tax"]), int(e["args"]["payment"])
    for e in by_name["NonRevealPenalized"]:
        p = parts.get(e["args"]["account"])
        if p is not None:
            p.penalty = int(e["args"]["penalty"])

    revealed_salts = [bytes.fromhex(m.salt[2:]) for m in members if m.revealed and m.salt]
    c.eq("seed", salt_seed(revealed_salts), int(sa["seed"]))
    actual_deposit_credits = _sum_by([e for e in by_name["Credited"] if int(e["args"]["reason"]) == 0], "account", "amount")
    actual_bond_credits = _sum_by([e for e in by_name["Credited"] if int(e["args"]["reason"]) == 1], "account", "amount")
    actual_pools = out.pools_after if pu is not None else None
    settlement = None

    if not r.proposals:
        # no proposal: the round finished at the end of Proposing, everything refunded
        c.eq("selected", (False, 0, False, 0), (bool(sa["selectedSome"]), int(sa["selected"]), bool(sa["unfunded"]),
                                                 int(sa["totalPayment"])))
        c.eq("surplus", [], out.surplus)
        c.eq("taxes", {}, _sum_by(by_name["ParticipantSettled"], "account", "tax"))
        c.eq("penalties", {}, _sum_by(by_name["NonRevealPenalized"], "account", "penalty"))
        c.eq("credits.deposits", _nonzero({m.address: m.deposit for m in members}), _nonzero(actual_deposit_credits))
        c.eq("credits.bonds", {}, _nonzero(actual_bond_credits))
        c.eq("pools_after", pools_before, actual_pools)
        c.eq("pool_flows", (0, 0), (out.owner_discount, out.station_bonus))
    else:
        try:
            instance = Instance(
                owners=[Owner(id=m.address, capability=m.capability, deposit=m.deposit,
                              status="revealed" if m.revealed else "committed" if m.committed else "joined",
                              values=m.claims if m.revealed else [])
                        for m in members if m.role == 1],
                stations=[Station(id=m.address, capability=m.capability, deposit=m.deposit,
                                  status="revealed" if m.revealed else "committed" if m.committed else "joined",
                                  costs=m.claims if m.revealed else [])
                          for m in members if m.role == 2],
                payment_rule=rule, share_rule=owner_rule, station_share_rule=station_rule, seed=int(sa["seed"]),
                posted_prices=[int(p["postedPrice"]) for p in r.proposals],
                owner_pool=pools_before["owner_pool"], station_pool=pools_before["station_pool"],
                non_reveal_penalty_bps=int(cfg.non_reveal_penalty_bps),
                proposals=[Proposal(proposer=p["proposer"], bond=int(p["bond"])) for p in r.proposals],
            )
            settlement = settle(instance)
        except Exception as exc:  # noqa: BLE001 - any inconsistency of the replayed events is a finding
            c.fail("instance", f"cannot rebuild the round for the reference: {exc}")
        if settlement is not None:
            s = settlement
            c.eq("capped_claims", s.capped_claims, {m.address: m.claims for m in members if m.revealed})
            c.eq("surplus", s.surplus, out.surplus)
            c.eq("selected", s.selected, out.selected)
            c.eq("unfunded", s.unfunded, out.unfunded)
            c.eq("total_payment", s.total_payment if s.selected is not None else None, out.total_payment)
            c.eq("taxes", s.taxes, _sum_by(by_name["ParticipantSettled"], "account", "tax"))
            c.eq("payments", {pid: s.owner_payments.get(pid, 0) for pid in s.taxes},
                 _sum_by(by_name["ParticipantSettled"], "account", "payment"))
            c.eq("penalties", s.penalties, _sum_by(by_name["NonRevealPenalized"], "account", "penalty"))
            c.eq("owner_discount", s.owner_discount, out.owner_discount)
            c.eq("station_bonus", s.station_bonus, out.station_bonus)
            c.eq("pools_after", s.pools_after, actual_pools)
            c.eq("credits.deposits", _nonzero(s.credits or {}), _nonzero(actual_deposit_credits))
            c.eq("credits.bonds", _nonzero(s.bond_credits), _nonzero(actual_bond_credits))
            if s.selected is not None:
                for sid, share in s.station_rewards.items():
                    parts[sid].share = share

    # ---- round end
    if r.tallied is not None:
        out.finished = True
        tally_index, tally = r.tallied
        out.finish_tx = tally["tx_hash"]
        out.punished = bool(tally["args"]["punished"])
        fin_events = [e for _, e in r.events if e["tx_hash"] == tally["tx_hash"]]
        rewarded = [e for e in fin_events if e["name"] == "StationRewarded"]
        for e in rewarded:
            p = parts.get(e["args"]["station"])
            if p is not None:
                p.share, p.reward = int(e["args"]["share"]), int(e["args"]["reward"])
        if settlement is not None and settlement.selected is not None:
            _audit_round_end(c, r, settlement, cfg, tally_index, tally, fin_events, pool_events)
        else:
            c.fail("round_end", "a vote was tallied for a round that selected no model")
    elif settlement is not None and settlement.selected is not None and r.phase == 8:
        c.fail("round_end", "the round is Finished but no VoteTallied event was found")

    out.checks = c.checks
    out.mismatches = c.mismatches
    out.status = "mismatched" if c.mismatches else "verified"
    return out


def _audit_round_end(c: _Checker, r: _Round, s, cfg: RoundConfig, tally_index: int, tally: dict[str, Any],
                     fin_events: list[dict[str, Any]], pool_events) -> None:
    stations = [m for a, m in ((a, r.members[a]) for a in r.order) if m.role == 2 and m.revealed]
    owners_revealed = {a for a in r.order if r.members[a].role == 1 and r.members[a].revealed}
    t = int(r.proposals[s.selected]["globalRounds"])
    reported: dict[str, set[int]] = defaultdict(set)
    finalized = None
    votes: list[Vote] = []
    failed_event = False
    for i, e in r.events:
        if i > tally_index:
            break
        a = e["args"]
        if e["name"] == "TrainingReported":
            reported[a["station"]].add(int(a["globalRound"]))
        elif e["name"] == "TrainingFinalized":
            finalized = a
        elif e["name"] == "VoteRevealed":
            votes.append(Vote(voter=a["voter"], punish=bool(a["punish"])))
        elif e["name"] == "WinnerFailed":
            failed_event = True
    c.eq("winner_failed", finalized is None, failed_event)
    try:
        outcome = TrainingOutcome(
            t=t, reported_rounds={sid: len(g) for sid, g in reported.items()}, finalized=finalized is not None,
            scores=[int(x) for x in finalized["scores"]] if finalized is not None else None,
            votes=votes, threshold_bps=int(cfg.punish_threshold_bps))
        end = finish_round(_instance_for_end(r, s, stations, owners_revealed), s, outcome)
    except (RoundEndError, ValueError) as exc:
        c.fail("round_end", f"cannot recompute the round end: {exc}")
        return
    rewarded = {e["args"]["station"]: e["args"] for e in fin_events if e["name"] == "StationRewarded"}
    c.eq("station_rewards", end.station_rewards, {k: int(v["reward"]) for k, v in rewarded.items()})
    c.eq("station_forfeits", end.station_forfeits, {k: int(v["forfeited"]) for k, v in rewarded.items()})
    ta = tally["args"]
    c.eq("vote", (end.punished, end.punish_votes, end.revealed_votes - end.punish_votes),
         (bool(ta["punished"]), int(ta["punishVotes"]), int(ta["keepVotes"])))
    expected_credits: dict[str, int] = defaultdict(int)
    for sid, v in end.station_rewards.items():
        expected_credits[sid] += v
    if end.bond_returned and end.winner is not None:
        expected_credits[end.winner] += end.bond_returned
    for oid, v in end.bond_split.items():
        expected_credits[oid] += v
    credited = [e for e in fin_events if e["name"] == "Credited"]
    c.eq("round_end_credits", _nonzero(dict(expected_credits)), _nonzero(_sum_by(credited, "account", "amount")))
    before = _pools_before(pool_events, tally_index)
    after_events = [e for i, e in pool_events if i > tally_index and e["tx_hash"] == tally["tx_hash"]]
    if not after_events:
        c.fail("round_end_pools", "no PoolsUpdated after the vote tally")
        return
    pa = after_events[0]["args"]
    expected = {k: before[k] + end.pools_after[k] - s.pools_after[k] for k in before}
    c.eq("round_end_pools", expected, {"owner_pool": int(pa["ownerPool"]), "station_pool": int(pa["stationPool"])})


def _instance_for_end(r: _Round, s, stations, owners_revealed) -> Instance:
    """A minimal instance carrying what finish_round reads: revealed owners/stations, share rule, capabilities."""
    cfg = r.cfg or {}
    members = [r.members[a] for a in r.order]
    k = s.k
    return Instance(
        owners=[Owner(id=m.address, capability=m.capability, deposit=m.deposit,
                      status="revealed" if m.revealed else "joined", values=m.claims if m.revealed else [])
                for m in members if m.role == 1],
        stations=[Station(id=m.address, capability=m.capability, deposit=m.deposit,
                          status="revealed" if m.revealed else "joined", costs=m.claims if m.revealed else [])
                  for m in members if m.role == 2],
        share_rule=SHARE_RULES[int(cfg.get("ownerShareRule", 0))],
        station_share_rule=SHARE_RULES[int(cfg.get("stationShareRule", 0))],
        proposals=[Proposal(proposer=p["proposer"], bond=int(p["bond"])) for p in r.proposals][:k],
    )


# ---------------------------------------------------------------------------------------------- books
def fund_flows(events: list[dict[str, Any]]) -> dict[str, AccountAudit]:
    """Per account, from normalised events: deposits, bonds, taxes, payments, penalties, rewards, credits,
    withdrawals (GET /api/funds can serve `[a.model_dump(mode="json") for a in fund_flows(...).values()]`)."""
    acc: dict[str, AccountAudit] = {}

    def get(addr: str) -> AccountAudit:
        if addr not in acc:
            acc[addr] = AccountAudit(address=addr)
        return acc[addr]

    for e in events:
        a = e["args"]
        n = e["name"]
        if n == "Joined":
            get(a["account"]).deposits += int(a["deposit"])
        elif n == "Proposed":
            get(a["proposer"]).bonds += int(a["bond"])
        elif n == "ParticipantSettled":
            x = get(a["account"])
            x.taxes += int(a["tax"])
            x.payments += int(a["payment"])
        elif n == "NonRevealPenalized":
            get(a["account"]).penalties += int(a["penalty"])
        elif n == "StationRewarded":
            get(a["station"]).rewards += int(a["reward"])
        elif n == "Credited":
            x = get(a["account"])
            x.credited += int(a["amount"])
            reason = CREDIT_REASONS[int(a["reason"])] if int(a["reason"]) < len(CREDIT_REASONS) else str(a["reason"])
            x.credited_by_reason[reason] = x.credited_by_reason.get(reason, 0) + int(a["amount"])
        elif n == "Withdrawn":
            get(a["account"]).withdrawn += int(a["amount"])
    for x in acc.values():
        x.outstanding = x.credited - x.withdrawn
    return acc


def _accounts(client: HCFLClient, events: list[dict[str, Any]]) -> list[AccountAudit]:
    flows = fund_flows(events)
    for x in flows.values():
        x.onchain_credit = client.credit_of(x.address)
        x.ok = x.outstanding == x.onchain_credit
    return sorted(flows.values(), key=lambda x: x.address.lower())


def _conservation(client: HCFLClient, events, rounds: dict[int, _Round], pool_events, complete: bool) -> Conservation:
    c = _Checker()
    deposits_in = sum(int(e["args"]["deposit"]) for e in events if e["name"] == "Joined")
    bonds_in = sum(int(e["args"]["bond"]) for e in events if e["name"] == "Proposed")
    credited = sum(int(e["args"]["amount"]) for e in events if e["name"] == "Credited")
    withdrawn = sum(int(e["args"]["amount"]) for e in events if e["name"] == "Withdrawn")
    last_pools = pool_events[-1][1]["args"] if pool_events else {"ownerPool": 0, "stationPool": 0}
    pools = {"owner_pool": int(last_pools["ownerPool"]), "station_pool": int(last_pools["stationPool"])}
    locked_deposits = locked_bonds = escrow = 0
    for r in rounds.values():
        if r.settled is None:
            locked_deposits += sum(m.deposit for m in r.members.values())
            locked_bonds += sum(int(p["bond"]) for p in r.proposals)
            continue
        sa = r.settled[1]["args"]
        if sa["selectedSome"] and r.tallied is None:
            sel = int(sa["selected"])
            if sel < len(r.proposals):
                locked_bonds += int(r.proposals[sel]["bond"])
            pu = [e for _, e in r.events if e["name"] == "PoolsUpdated" and e["tx_hash"] == r.settled[1]["tx_hash"]]
            bonus = int(pu[0]["args"]["stationBonus"]) if pu else 0
            escrow += int(sa["totalPayment"]) + bonus
    acct = client.accounting()
    accounting = {"credits": acct.credits, "deposits": acct.deposits, "bonds": acct.bonds, "escrow": acct.escrow,
                  "owner_pool": acct.owner_pool, "station_pool": acct.station_pool}
    balance = client.balance()
    outstanding = credited - withdrawn
    if complete:
        c.eq("conservation", deposits_in + bonds_in,
             outstanding + withdrawn + pools["owner_pool"] + pools["station_pool"] + escrow + locked_deposits + locked_bonds)
        c.eq("accounting.credits", outstanding, acct.credits)
        c.eq("accounting.deposits", locked_deposits, acct.deposits)
        c.eq("accounting.bonds", locked_bonds, acct.bonds)
        c.eq("accounting.escrow", escrow, acct.escrow)
        c.eq("balance_from_events", deposits_in + bonds_in - withdrawn, balance)
    c.eq("accounting.pools", pools, {"owner_pool": acct.owner_pool, "station_pool": acct.station_pool})
    c.eq("balance", acct.total, balance)
    return Conservation(
        complete=complete, deposits_in=deposits_in, bonds_in=bonds_in, credited=credited, withdrawn=withdrawn,
        outstanding_credits=outstanding, pools=pools["owner_pool"] + pools["station_pool"], escrow=escrow,
        locked_deposits=locked_deposits, locked_bonds=locked_bonds, accounting=accounting, accounting_total=acct.total,
        balance=balance, ok=not c.mismatches, mismatches=c.mismatches,
    )


# ---------------------------------------------------------------------------------------------- text
def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f} ETH" if abs(wei) >= 10**15 else f"{wei / 10**9:g} gwei"


def format_report(report: AuditReport) -> str:
    lines = [f"HCFL audit of {report.contract} (chain {report.chain_id}, block {report.block}, "
             f"{report.events} events from block {report.from_block})", ""]
    for r in report.rounds:
        mark = {"verified": "OK ", "mismatched": "BAD", "pending": "...", "incomplete": "?  "}[r.status]
        detail = ""
        if r.settled:
            sel = "none" if r.selected is None else f"proposal {r.selected}"
            if r.unfunded:
                sel = "unfunded"
            detail = f"{r.payment_rule}, selected {sel}"
            if r.total_payment is not None:
                detail += f", C = {r.total_payment} wei"
            if r.finished and r.punished is not None:
                detail += f", punished: {r.punished}"
        lines.append(f"[{mark}] round {r.round_id}: {r.status} ({r.phase}; {len(r.participants)} participants, "
                     f"{len(r.proposals)} proposals{'; ' + detail if detail else ''})")
        if r.note:
            lines.append(f"      {r.note}")
        for m in r.mismatches:
            lines.append(f"      {m.field}: expected {m.expected}, chain has {m.actual}")
    bad_accounts = [a for a in report.accounts if not a.ok]
    lines.append("")
    lines.append(f"accounts: {len(report.accounts)}, credit mismatches: {len(bad_accounts)}")
    for a in bad_accounts:
        lines.append(f"      {a.address}: events say {a.outstanding} wei outstanding, contract credits {a.onchain_credit}")
    cons = report.conservation
    lines.append(f"conservation: {'OK' if cons.ok else 'BROKEN'} — in {_eth(cons.deposits_in + cons.bonds_in)}, "
                 f"withdrawn {_eth(cons.withdrawn)}, outstanding credits {_eth(cons.outstanding_credits)}, "
                 f"pools {_eth(cons.pools)}, escrow {_eth(cons.escrow)}, locked "
                 f"{_eth(cons.locked_deposits + cons.locked_bonds)}; balance {cons.balance} wei")
    for m in cons.mismatches:
        lines.append(f"      {m.field}: expected {m.expected}, chain has {m.actual}")
    verified = sum(r.status == "verified" for r in report.rounds)
    mism = sum(r.status == "mismatched" for r in report.rounds)
    lines.append("")
    lines.append(f"{'ALL VERIFIED' if report.ok else 'MISMATCH'}: {verified} verified, {mism} mismatched, "
                 f"{len(report.rounds) - verified - mism} pending/incomplete")
    return "\n".join(lines)

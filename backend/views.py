"""The read API's responses, built as the pydantic schemas of backend.schemas from the event ledger (rounds,
participants, events, funds). Enum names come from hcfl.protocol; the ledger is the one source of the sums."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from backend import schemas
from backend.gateway import ChainGateway
from hcfl.chain.client import ChainEvent
from hcfl.ledger.records import ParticipantRecord, RoundRecord
from hcfl.protocol import CampaignConfig, CreditReason, PaymentRule, Phase, Role, ShareRule, phase_title

ZERO32 = b"\0" * 32


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def config_out(cfg: CampaignConfig) -> schemas.RoundConfigOut:
    """A campaign's IHCFL.Config: durations and bps as numbers, amounts as decimal strings, rules by name."""
    return schemas.RoundConfigOut(
        join_duration=cfg.join_duration, propose_duration=cfg.propose_duration, commit_duration=cfg.commit_duration,
        reveal_duration=cfg.reveal_duration, train_duration=cfg.train_duration,
        vote_commit_duration=cfg.vote_commit_duration, vote_reveal_duration=cfg.vote_reveal_duration,
        non_reveal_penalty_bps=cfg.non_reveal_penalty_bps, non_reveal_penalty_floor=str(cfg.non_reveal_penalty_floor),
        punish_threshold_bps=cfg.punish_threshold_bps, pool_draw_bps=cfg.pool_draw_bps,
        max_proposals_per_owner=cfg.max_proposals_per_owner,
        payment_rule=PaymentRule(cfg.payment_rule).slug,  # type: ignore[arg-type]
        owner_share_rule=ShareRule(cfg.owner_share_rule).slug,  # type: ignore[arg-type]
        station_share_rule=ShareRule(cfg.station_share_rule).slug,  # type: ignore[arg-type]
        min_owner_deposit=str(cfg.min_owner_deposit), min_station_deposit=str(cfg.min_station_deposit),
        min_bond=str(cfg.min_bond), max_price=str(cfg.max_price), vote_deposit=str(cfg.vote_deposit),
    )


def _summary_fields(gw: ChainGateway, r: RoundRecord, phase: Phase | None = None) -> dict[str, Any]:
    ledger = gw.ledger()
    camp = ledger.campaigns[r.campaign_id]
    phase = gw.phase(r.round_id) if phase is None else phase
    s = r.settlement
    fin = r.finalization
    selected = r.selected_proposal is not None
    revealed_votes = [v for v in r.votes if v.revealed]
    return dict(
        round_id=r.round_id, campaign_id=r.campaign_id, creator=camp.creator,
        phase=phase_title(phase), phase_id=int(phase), phase_end=gw.phase_end(r, phase),
        join_end=r.join_end, propose_end=r.propose_end, commit_end=r.commit_end, reveal_end=r.reveal_end,
        owner_count=sum(1 for p in r.participants if p.role == Role.OWNER),
        station_count=sum(1 for p in r.participants if p.role == Role.STATION),
        revealed_owners=len(r.revealed_owners), revealed_stations=len(r.revealed_stations),
        proposal_count=r.k, settled=s is not None, selected_some=selected,
        selected=s.star if s is not None and selected else None, unfunded=bool(s and s.unfunded),
        total_payment=str(s.payment if s else 0), owner_discount=str(s.owner_discount if s else 0),
        station_bonus=str(s.station_bonus if s else 0), escrow=str((s.payment + s.station_bonus) if s else 0),
        seed=str(s.seed if s else 0), finalized=fin is not None,
        global_model_hash=hex32(fin.model_hash if fin else ZERO32),
        achieved_acc_bps=fin.achieved_acc_bps if fin else 0,
        scores_root=hex32(fin.scores_root if fin else ZERO32), scores_total=str(fin.scores_total if fin else 0),
        validation_hash=hex32(fin.validation_hash if fin else ZERO32),
        training_closed_at=r.training_closed_at or 0, objections=len(r.objections),
        punished=bool(r.bond.punished) if r.bond is not None else False,
        winner_failed=bool(r.bond.failed) if r.bond is not None else False,
        punish_votes=sum(1 for v in revealed_votes if v.punish),
        keep_votes=sum(1 for v in revealed_votes if not v.punish),
        punish_weight=str(sum(v.weight for v in revealed_votes if v.punish)),
        keep_weight=str(sum(v.weight for v in revealed_votes if not v.punish)),
        owner_pool=str(camp.owner_pool), station_pool=str(camp.station_pool), cfg=config_out(camp.config),
    )


def round_summary(gw: ChainGateway, r: RoundRecord, phase: Phase | None = None) -> schemas.RoundSummary:
    return schemas.RoundSummary(**_summary_fields(gw, r, phase))


def participant_out(p: ParticipantRecord) -> schemas.ParticipantOut:
    st = p.settlement
    return schemas.ParticipantOut(
        address=p.address, role=Role(p.role).slug, status=p.status,  # type: ignore[arg-type]
        committed=p.committed, revealed=p.revealed, deposit=str(p.deposit), reported_rounds=len(p.reports),
        claims=[str(c) for c in (p.claims or ())], claimed=st is not None,
        payment=str(st.payment) if st else None, tax=str(st.tax) if st else None,
        penalty=str(st.penalty) if st else None, refund=str(st.refund) if st else None,
        reward=str(p.reward.reward) if p.reward else None, credited=str(p.credited),
    )


def surplus(r: RoundRecord) -> list[int]:
    """S(m) = sum of revealed owners' capped claims - sum of revealed stations' (V2-RULES.md)."""
    out = [0] * r.k
    for p in r.participants:
        if p.revealed and p.claims is not None:
            sign = 1 if p.role == Role.OWNER else -1
            for m, c in enumerate(p.claims[: r.k]):
                out[m] += sign * int(c)
    return out


def round_detail(gw: ChainGateway, rid: int, known_spec: Callable[[str], bool]) -> schemas.RoundDetail:
    r = gw.record(rid)
    proposals = [
        schemas.ProposalOut(index=i, proposer=p.proposer, spec_hash=hex32(p.spec_hash), uri=p.uri, arch_id=p.arch_id,
                            promised_acc_bps=p.promised_acc_bps, global_rounds=p.global_rounds,
                            label_mask=int(p.label_mask), bond=str(p.bond), price=str(p.price),
                            spec_known=known_spec(hex32(p.spec_hash)))
        for i, p in enumerate(r.proposals)
    ]
    return schemas.RoundDetail(
        **_summary_fields(gw, r), proposals=proposals,
        owners=[participant_out(p) for p in r.participants if p.role == Role.OWNER],
        stations=[participant_out(p) for p in r.participants if p.role == Role.STATION],
        surplus=[str(x) for x in surplus(r)],
    )


class EventFormatter:
    """Event args as JSON: bytes as 0x-hex, integers of 32 bits or fewer (enums, bps, rounds) as numbers,
    wider integers (amounts, ids, seeds) as decimal strings, tuples (the round config) as objects."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.types: dict[str, dict[str, dict[str, Any]]] = {}
        for item in abi:
            if item.get("type") == "event":
                self.types[item["name"]] = {i["name"]: i for i in item["inputs"]}

    def value(self, spec: dict[str, Any] | None, v: Any) -> Any:
        t = (spec or {}).get("type", "")
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            if t.startswith("uint") or t.startswith("int"):
                bits = int(t.lstrip("uint") or 256)
                return int(v) if bits <= 32 else str(v)
            return int(v)  # enums
        if isinstance(v, (bytes, bytearray)):
            return "0x" + bytes(v).hex()
        if isinstance(v, (list, tuple)):
            if t.startswith("tuple") and spec is not None and not t.endswith("]"):
                comps = spec.get("components", [])
                return {c["name"]: self.value(c, x) for c, x in zip(comps, v)}
            inner = dict(spec or {}, type=t[: t.rfind("[")]) if t.endswith("]") else spec
            return [self.value(inner, x) for x in v]
        if isinstance(v, Mapping):
            comps = {c["name"]: c for c in (spec or {}).get("components", [])}
            return {k: self.value(comps.get(k), x) for k, x in v.items()}
        return v

    def event(self, ev: ChainEvent) -> schemas.EventOut:
        types = self.types.get(ev.name, {})
        return schemas.EventOut(name=ev.name, args={k: self.value(types.get(k), v) for k, v in ev.args.items()},
                                block=ev.block_number, tx_hash=ev.tx_hash, log_index=ev.log_index)


def funds(gw: ChainGateway) -> schemas.FundsOut:
    """Per-account money flows from the ledger (paid in, settled, rewarded, credited, withdrawn); the contract's
    accounting() for the balance and what it owes."""
    ledger = gw.ledger()
    settled = ledger.settled_sums()
    with gw.lock:
        acc = gw.core.accounting()
    accounts = []
    for addr in sorted(ledger.accounts):
        a = ledger.accounts[addr]
        s = settled.get(addr)
        accounts.append(schemas.FundsRow(
            address=addr, deposits=str(a.deposits), bonds=str(a.bonds), vote_deposits=str(a.vote_deposits),
            payments=str(s.payments if s else 0), taxes=str(s.taxes if s else 0),
            penalties=str(s.penalties if s else 0), rewards=str(s.rewards if s else 0),
            credits=str(a.credited), withdrawn=str(a.withdrawn), credit_balance=str(a.outstanding),
            credits_by_reason={CreditReason(k).name.lower(): str(v) for k, v in a.credits.items()},
        ))
    campaigns = [schemas.CampaignFunds(campaign_id=c.campaign_id, creator=c.creator, rounds=list(c.round_ids),
                                       owner_pool=str(c.owner_pool), station_pool=str(c.station_pool),
                                       swept=str(c.swept))
                 for c in ledger.campaigns.values()]
    return schemas.FundsOut(
        contract=gw.address, balance=str(acc.balance), accounting={k: str(v) for k, v in acc.model_dump().items()},
        solvent=acc.balance >= acc.owed, surplus=str(acc.balance - acc.owed), campaigns=campaigns, accounts=accounts,
    )

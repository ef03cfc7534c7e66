"""The v2 auditor: replays an HCFLCore deployment's event ledger (hcfl.ledger), recomputes every settled
round and every lazily claimed participant result with the v2 reference (hcfl.mechanism.v2, reused, never
re-implemented), and checks the books.

Checks:
- per settled round: selection, eligibility, C, seed (= keccak of the XOR of the revealed salts), pool
  draws against the campaign's pools at settlement, and each claimed participant's payment, tax, penalty,
  station share, reward, forfeit, bond credit, vote deposit, slash share and credit; for finished rounds
  the vote weights and outcome and the pools after the round (once everyone was claimed for);
- per campaign: every PoolChanged step adds up, and the last balances are the contract's;
- books: every accounting total (deposits, credits, bonds, escrow, pools, vote deposits) recomputed from
  the events equals the contract's; each account's credit equals credited - withdrawn; and the balance
  covers everything. Ether nobody is owed (forced in by SELFDESTRUCT, defect 11) is REPORTED as surplus,
  not a failure.
`ok` is False on any mismatch (`hcfl audit` then exits 1).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hcfl.chain.v2.client import CoreClient
from hcfl.ledger.bridge import reference_config, reference_round
from hcfl.ledger.fetch import LedgerFetcher
from hcfl.ledger.outcome import diff_round, round_outcome
from hcfl.ledger.records import Ledger, RoundRecord
from hcfl.mechanism.v2.round_end import RoundEndError, finish_round
from hcfl.mechanism.v2.settle import salt_seed, settle_round
from hcfl.protocol import CreditReason, PaymentRule, PoolKind, Role

# participant keys that only become final with the round's end claim (bond, vote, slash, reward)
_FINAL_KEYS = ("bond_credit", "slash_share", "vote_forfeit", "credit")


class RoundAuditV2(BaseModel):
    round_id: int
    campaign_id: int
    state: str  # open | settled | finished | no-proposal
    participants: int
    claimed: int  # participants whose deposit part was claimed (and so checked)
    mismatches: list[str] = Field(default_factory=list)


class CampaignAuditV2(BaseModel):
    campaign_id: int
    creator: str
    rounds: list[int]
    owner_pool: int
    station_pool: int
    swept: int
    mismatches: list[str] = Field(default_factory=list)


class BooksV2(BaseModel):
    balance: int
    owed: int  # the contract's deposits + credits + bonds + escrow + pools + vote deposits
    surplus: int  # balance - owed (>= 0 required; reported, not a failure)
    paid_in: int  # deposits + bonds + vote deposits, from events
    withdrawn: int
    swept: int
    forced_ether: int  # balance - (paid_in - withdrawn): ether that came in without a payable call
    totals: dict[str, dict[str, int]]  # name -> {"contract": .., "ledger": ..}
    mismatches: list[str] = Field(default_factory=list)


class AuditReportV2(BaseModel):
    kind: str = "v2"
    contract: str
    chain_id: int
    cursor: int
    events: int
    campaigns: list[CampaignAuditV2]
    rounds: list[RoundAuditV2]
    books: BooksV2

    @property
    def ok(self) -> bool:
        return not (self.books.mismatches or any(r.mismatches for r in self.rounds)
                    or any(c.mismatches for c in self.campaigns))

    def as_json(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        d["ok"] = self.ok
        return d


# ------------------------------------------------------------------------------------------------ rounds
def _chain_side(core: CoreClient, ledger: Ledger, r: RoundRecord, finished: bool) -> dict[str, Any]:
    """round_outcome with what is not final yet blanked (None = not compared)."""
    out = round_outcome(ledger, r.round_id)
    everyone = True
    for p in r.participants:
        c = out["participants"][p.address]
        done = p.settlement is not None
        if finished and done and r.settlement is not None and r.settlement.selected:
            done = core.participant(r.round_id, p.address).final_claimed or (
                p.role == Role.STATION and not p.revealed)
        if not done:
            everyone = False
            for key in _FINAL_KEYS:
                c[key] = None
            if p.role == Role.OWNER and p.address == r.winner:
                out["bond_to_owner_pool"] = None
    if not (finished and everyone):
        out["pools_after"] = None
    if not finished:
        for key in ("winner_failed", "punish_weight", "keep_weight", "punished", "bond_to_owner_pool"):
            out[key] = None
    return out


def _reference_side(res: Any) -> dict[str, Any]:
    return res.model_dump(mode="json")


def audit_round(core: CoreClient, ledger: Ledger, r: RoundRecord) -> RoundAuditV2:
    camp = ledger.campaigns[r.campaign_id]
    s = r.settlement
    claimed = sum(1 for p in r.participants if p.settlement is not None)
    ra = RoundAuditV2(round_id=r.round_id, campaign_id=r.campaign_id, state="open", participants=len(r.participants),
                      claimed=claimed)
    if s is None:
        if r.k == 0 and claimed:
            ra.state = "no-proposal"
            for p in r.participants:
                ps = p.settlement
                if ps is not None and (ps.refund, ps.payment, ps.tax, ps.penalty) != (p.deposit, 0, 0, 0):
                    ra.mismatches.append(f"{p.address}: no proposal, so a full refund of {p.deposit}; chain {ps}")
        return ra
    finished = r.bond is not None or not s.selected
    ra.state = "finished" if finished else "settled"
    # the seed draws C under PaperRandom only; under Posted the contract records keccak(bytes32(0)) (unused)
    random_rule = camp.config.payment_rule == PaymentRule.PAPER_RANDOM
    salts = ["0x" + r.participant(a).salt.hex() for a in r.reveal_order] if random_rule else []  # type: ignore[union-attr]
    seed = salt_seed(salts)
    if seed != s.seed:
        what = "keccak of the XOR of the revealed salts" if random_rule else "the Posted seed keccak(bytes32(0))"
        ra.mismatches.append(f"seed: {what} is {seed}, chain {s.seed}")
    cfg = reference_config(camp.config)
    try:
        rnd = reference_round(ledger, r.round_id)
    except ValueError as exc:
        ra.mismatches.append(f"the reference rejects the round's records: {exc}")
        return ra
    pools = camp.pools_at(s.pool_index)
    st = settle_round(cfg, rnd, *pools)
    if finished:
        try:
            ref = _reference_side(finish_round(st))
        except RoundEndError as exc:
            ra.mismatches.append(f"the reference rejects the round's end: {exc}")
            return ra
    else:
        # training / vote still running: the settlement part only
        ref = {
            "k": st.k, "seed": st.seed, "sum_values": st.sum_b, "sum_costs": st.sum_k, "surplus": st.surplus,
            "eligible": st.eligible, "selected": st.selected, "unfunded": st.unfunded, "total_payment": st.total,
            "owner_discount": st.owner_discount, "station_bonus": st.station_bonus, "escrow": st.escrow,
            "winner": st.winner, "bond": st.bond_held, "pools_before": st.pools_before,
            "participants": {p.id: {"role": p.role, "status": p.status, "deposit": p.deposit,
                                    "capped_claims": st.capped.get(p.id), "payment": st.payment.get(p.id, 0),
                                    "tax": st.tax.get(p.id, 0), "penalty": st.penalty.get(p.id, 0)}
                             for p in rnd.participants},
        }
    chain = _chain_side(core, ledger, r, finished)
    if not finished:
        chain["participants"] = {a: {k: v for k, v in c.items() if k in ref["participants"][a]}
                                 for a, c in chain["participants"].items()}
        for key in list(chain):
            if key not in ref and key != "participants":
                chain.pop(key)
    chain["payment_rule"] = ref.get("payment_rule", chain.get("payment_rule"))
    if "pools_before" in chain:
        chain["pools_before"] = {"owner_pool": pools[0], "station_pool": pools[1]}
    ra.mismatches += diff_round(ref, chain, strict=False)
    return ra


# ------------------------------------------------------------------------------------------------ campaigns
def audit_campaign(core: CoreClient, ledger: Ledger, cid: int) -> CampaignAuditV2:
    c = ledger.campaigns[cid]
    ca = CampaignAuditV2(campaign_id=cid, creator=c.creator, rounds=list(c.round_ids), owner_pool=c.owner_pool,
                         station_pool=c.station_pool, swept=c.swept)
    bal = {PoolKind.OWNER: 0, PoolKind.STATION: 0}
    for i, ch in enumerate(c.pool_history):
        if bal[ch.pool] + ch.delta != ch.balance or ch.balance < 0:
            ca.mismatches.append(f"pool change {i} ({ch.pool.name.lower()}): {bal[ch.pool]} + {ch.delta} != {ch.balance}")
        bal[ch.pool] = ch.balance
    onchain = core.campaign(cid)
    if (onchain.owner_pool, onchain.station_pool) != (c.owner_pool, c.station_pool):
        ca.mismatches.append(f"pools: contract ({onchain.owner_pool}, {onchain.station_pool}) != events "
                             f"({c.owner_pool}, {c.station_pool})")
    return ca


# ------------------------------------------------------------------------------------------------ books
def audit_books(core: CoreClient, ledger: Ledger, complete: bool) -> BooksV2:
    acc = core.accounting()
    paid_in, withdrawn = ledger.paid_in, ledger.withdrawn
    deposits = bonds = escrow = vote = 0
    for r in ledger.rounds.values():
        vd = ledger.campaigns[r.campaign_id].config.vote_deposit
        deposits += sum(p.deposit for p in r.participants)
        bonds += sum(p.bond for p in r.proposals)
        s = r.settlement
        if s is not None and s.selected:
            deposits -= s.payment - s.owner_discount
            escrow += s.payment + s.station_bonus
        for p in r.participants:
            if p.settlement is not None:
                deposits -= p.settlement.refund + p.settlement.tax + p.settlement.penalty
            if p.reward is not None:
                escrow -= p.reward.share
            bonds -= p.credits.get(CreditReason.BOND_RETURN, 0) + p.slash_share
        escrow -= r.escrow_returned
        for v in r.votes:
            vote += vd - (vd if v.revealed else 0) - v.forfeited
    credited = sum(a.credited for a in ledger.accounts.values())
    pools = sum(c.owner_pool + c.station_pool for c in ledger.campaigns.values())
    totals = {
        "deposits": {"contract": acc.deposits, "ledger": deposits},
        "credits": {"contract": acc.credits, "ledger": credited - withdrawn},
        "bonds": {"contract": acc.bonds, "ledger": bonds},
        "escrow": {"contract": acc.escrow, "ledger": escrow},
        "pools": {"contract": acc.pools, "ledger": pools},
        "vote_deposits": {"contract": acc.vote_deposits, "ledger": vote},
    }
    books = BooksV2(balance=acc.balance, owed=acc.owed, surplus=acc.balance - acc.owed, paid_in=paid_in,
                    withdrawn=withdrawn, swept=ledger.swept, forced_ether=acc.balance - (paid_in - withdrawn),
                    totals=totals)
    if acc.balance < acc.owed:
        books.mismatches.append(f"insolvent: balance {acc.balance} < owed {acc.owed}")
    if complete:
        for name, row in totals.items():
            if row["contract"] != row["ledger"]:
                books.mismatches.append(f"{name}: contract {row['contract']} != events {row['ledger']}")
        if acc.owed != paid_in - withdrawn + ledger.swept:
            books.mismatches.append(f"owed {acc.owed} != paid in {paid_in} - withdrawn {withdrawn} + swept {ledger.swept}")
        for a in ledger.accounts.values():
            got = core.credit_of(a.address)
            if got != a.outstanding:
                books.mismatches.append(f"credit of {a.address}: contract {got} != credited - withdrawn {a.outstanding}")
    return books


def audit_v2(core: CoreClient, from_block: int = 0, *, ledger: Ledger | None = None) -> AuditReportV2:
    """Audit an HCFLCore deployment (the books are fully checked only when replaying from its deployment)."""
    ledger = ledger or LedgerFetcher(core, from_block).sync()
    return AuditReportV2(
        contract=core.address, chain_id=core.chain_id, cursor=ledger.cursor, events=ledger.events,
        campaigns=[audit_campaign(core, ledger, cid) for cid in sorted(ledger.campaigns)],
        rounds=[audit_round(core, ledger, ledger.rounds[rid]) for rid in sorted(ledger.rounds)],
        books=audit_books(core, ledger, complete=from_block == 0),
    )


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f} ETH ({wei} wei)"


def format_report_v2(report: AuditReportV2) -> str:
    lines = [f"HCFL v2 audit of {report.contract} (chain {report.chain_id}), {report.events} events up to block "
             f"{report.cursor}"]
    for c in report.campaigns:
        status = "ok" if not c.mismatches else "MISMATCH"
        lines.append(f"campaign {c.campaign_id}: {len(c.rounds)} rounds, pools owner {c.owner_pool} station "
                     f"{c.station_pool} wei: {status}")
        lines += [f"  - {m}" for m in c.mismatches]
    for r in report.rounds:
        status = "ok" if not r.mismatches else f"{len(r.mismatches)} MISMATCH(ES)"
        lines.append(f"round {r.round_id} (campaign {r.campaign_id}, {r.state}, {r.claimed}/{r.participants} "
                     f"claimed): {status}")
        lines += [f"  - {m}" for m in r.mismatches[:50]]
    b = report.books
    lines.append(f"balance {_eth(b.balance)}, owed {_eth(b.owed)}, surplus {_eth(b.surplus)} "
                 f"(forced ether {b.forced_ether} wei, swept {b.swept} wei)")
    lines += [f"  - {m}" for m in b.mismatches]
    lines.append("OK" if report.ok else "MISMATCH")
    return "\n".join(lines)

"""A round's (and a campaign's) outcome in the keys of the v2 reference's output (`hcfl settle --rules v2`),
read from ledger records only.

Only what the chain records is reported: the reference's intermediate figures that no event carries
(m_-p, the unclipped Clarke difference, A, Cmax, the pool draws before the min with C, per-side weights at
m*) are left out. A participant's lazily settled figures are None until someone claimed for it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hcfl.ledger.records import Ledger, RoundRecord
from hcfl.protocol import CreditReason, PaymentRule, PoolKind, Role

# RoundResult keys the chain can show (the differential test compares exactly these)
ROUND_KEYS = ("k", "payment_rule", "seed", "sum_values", "sum_costs", "surplus", "eligible", "selected", "unfunded",
              "total_payment", "owner_discount", "station_bonus", "escrow", "winner", "winner_failed", "bond",
              "punish_weight", "keep_weight", "punished", "bond_to_owner_pool", "pools_before", "pools_after",
              "wei_in")
PARTICIPANT_KEYS = ("role", "status", "deposit", "capped_claims", "payment", "tax", "penalty", "station_share",
                    "reward", "forfeit", "bond_credit", "vote_deposit", "vote_forfeit", "slash_share", "credit")


def round_outcome(ledger: Ledger, round_id: int, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The outcome of one round; `names` maps addresses to the ids to print (default: the addresses)."""
    r: RoundRecord = ledger.rounds[round_id]
    camp = ledger.campaigns[r.campaign_id]
    cfg = camp.config
    name = (lambda a: names.get(a, a)) if names else (lambda a: a)  # noqa: E731
    k = r.k
    revealed = [p for p in r.participants if p.revealed]
    claims = {p.address: p.claims or () for p in revealed}  # a revealed participant has its capped claims
    sum_b = [sum(claims[p.address][m] for p in revealed if p.role == Role.OWNER) for m in range(k)]
    sum_k = [sum(claims[p.address][m] for p in revealed if p.role == Role.STATION) for m in range(k)]
    s = r.settlement
    out: dict[str, Any] = {"round_id": round_id, "campaign_id": r.campaign_id, "k": k,
                           "payment_rule": PaymentRule(cfg.payment_rule).slug,
                           "sum_values": sum_b, "sum_costs": sum_k, "surplus": [b - c for b, c in zip(sum_b, sum_k)]}
    if s is None:
        settled = k == 0  # no proposal: finished at proposeEnd, nothing is drawn or paid
        out.update(settled=settled, selected=None, unfunded=True if settled else None, total_payment=None,
                   owner_discount=0, station_bonus=0, escrow=0, eligible=[], winner=None)
        pools_before = None
    else:
        selected = s.selected
        out.update(settled=True, seed=s.seed,
                   eligible=[bool((s.afford_mask >> m) & 1) and sum_b[m] > 0 for m in range(k)],
                   selected=s.star if selected else None, unfunded=s.unfunded,
                   total_payment=None if s.unfunded else s.payment,
                   owner_discount=s.owner_discount, station_bonus=s.station_bonus,
                   escrow=s.payment + s.station_bonus if selected else 0,
                   winner=name(r.proposals[s.star].proposer) if selected else None)
        pools_before = camp.pools_at(s.pool_index)
    winner = r.winner
    bond = r.bond
    shown = [v for v in r.votes if v.revealed]
    out.update(
        winner_failed=bool(bond and bond.failed), bond=r.proposals[s.star].bond if s and s.selected else 0,
        punish_weight=sum(v.weight for v in shown if v.punish), keep_weight=sum(v.weight for v in shown if not v.punish),
        punished=bool(bond and bond.punished), finished=bond is not None or (s is not None and not s.selected),
    )
    winner_rec = r.participant(winner) if winner else None
    out["bond_to_owner_pool"] = winner_rec.slash_share if winner_rec is not None and bond and bond.failed else 0
    if pools_before is None:
        last = camp.pools_at(len(camp.pool_history))  # k == 0: this round never touches the pools
        pools_before = last
    delta_o = sum(ch.delta for ch in r.pool_changes if ch.pool == PoolKind.OWNER)
    delta_s = sum(ch.delta for ch in r.pool_changes if ch.pool == PoolKind.STATION)
    out["pools_before"] = {"owner_pool": pools_before[0], "station_pool": pools_before[1]}
    out["pools_after"] = {"owner_pool": pools_before[0] + delta_o, "station_pool": pools_before[1] + delta_s}
    voted = {v.voter for v in r.votes}
    out["wei_in"] = (sum(p.deposit for p in r.participants) + sum(pr.bond for pr in r.proposals)
                     + len(voted) * cfg.vote_deposit)
    people: dict[str, dict[str, Any]] = {}
    for p in r.participants:
        st = p.settlement
        rw = p.reward
        station_revealed = p.role == Role.STATION and p.revealed and s is not None and s.selected
        people[name(p.address)] = {
            "address": p.address,
            "role": "owner" if p.role == Role.OWNER else "station",
            "status": p.status,
            "deposit": p.deposit,
            "capped_claims": list(p.claims) if p.claims is not None else None,
            "payment": st.payment if st else None,
            "tax": st.tax if st else None,
            "penalty": st.penalty if st else None,
            "station_share": (rw.share if rw else None) if station_revealed else 0,
            "reward": (rw.reward if rw else None) if station_revealed else 0,
            "forfeit": (rw.forfeited if rw else None) if station_revealed else 0,
            "bond_credit": p.credits.get(CreditReason.BOND_RETURN, 0),
            "vote_deposit": cfg.vote_deposit if p.address in voted else 0,
            "vote_forfeit": p.vote_forfeit,
            "slash_share": p.credits.get(CreditReason.BOND_SLASH_SHARE, 0),
            "credit": p.credited,
        }
    out["participants"] = people
    return out


def campaign_outcome(ledger: Ledger, campaign_id: int, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every round of a campaign in order, with the campaign's pools before its first and after its last."""
    camp = ledger.campaigns[campaign_id]
    rounds = [round_outcome(ledger, rid, names) for rid in camp.round_ids]
    return {
        "rules": "v2",
        "campaign_id": campaign_id,
        "rounds": rounds,
        "pools_before": rounds[0]["pools_before"] if rounds else {"owner_pool": 0, "station_pool": 0},
        "pools_after": {"owner_pool": camp.owner_pool, "station_pool": camp.station_pool},
        "wei_in": sum(r["wei_in"] for r in rounds),
        "credits_out": sum(p["credit"] for r in rounds for p in r["participants"].values()),
    }


def diff_round(reference: Mapping[str, Any], chain: Mapping[str, Any], *, strict: bool = True,
               where: str = "") -> list[str]:
    """Mismatches between a reference RoundResult (as JSON) and `round_outcome` on every key the chain
    shows. A None on the chain side (not yet claimed / not yet settled) is a mismatch when `strict`,
    else skipped. Participants are matched by id."""
    out: list[str] = []
    for key in ROUND_KEYS:
        if key not in chain:
            continue
        got = chain[key]
        if got is None and not strict and key != "selected" and key != "total_payment":
            continue
        if key == "seed" and reference.get("k") == 0:
            continue  # no proposal: the chain never settles, so no seed is drawn
        if reference.get(key) != got:
            out.append(f"{where}{key}: reference {reference.get(key)!r} != chain {got!r}")
    ref_people = reference.get("participants", {})
    for pid, c in chain.get("participants", {}).items():
        ref = ref_people.get(pid)
        if ref is None:
            out.append(f"{where}participant {pid}: on chain, not in the reference")
            continue
        for key in PARTICIPANT_KEYS:
            got = c.get(key)
            if got is None and not strict:
                continue
            if ref.get(key) != got:
                out.append(f"{where}{pid}.{key}: reference {ref.get(key)!r} != chain {got!r}")
    for pid in ref_people:
        if pid not in chain.get("participants", {}):
            out.append(f"{where}participant {pid}: in the reference, not on chain")
    return out


def diff_campaign(reference: Mapping[str, Any], chain: Mapping[str, Any]) -> list[str]:
    """Every mismatch between a reference CampaignResult (JSON) and `campaign_outcome`."""
    out: list[str] = []
    if len(reference["rounds"]) != len(chain["rounds"]):
        return [f"rounds: reference {len(reference['rounds'])} != chain {len(chain['rounds'])}"]
    for i, (ref, got) in enumerate(zip(reference["rounds"], chain["rounds"])):
        out += diff_round(ref, got, where=f"round {i}: ")
    for key in ("pools_before", "pools_after", "wei_in", "credits_out"):
        if reference[key] != chain[key]:
            out.append(f"campaign {key}: reference {reference[key]!r} != chain {chain[key]!r}")
    return out

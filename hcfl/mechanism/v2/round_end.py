"""v2 round end (docs/mechanism.md, "v2: training" and "v2: vote"): station rewards by reported rounds,
the Contribution split with its Equal fallback, the stake-weighted vote and the slashed-bond split,
and every participant's credit over the whole round."""
from __future__ import annotations

from hcfl.inclusion import counted_rounds
from hcfl.mechanism.models import BPS
from hcfl.mechanism.v2.cumfloor import cumfloor, shares
from hcfl.mechanism.v2.models import ParticipantResult, RoundResult, Scores, Training
from hcfl.mechanism.v2.settle import Settled


class RoundEndError(ValueError):
    """The training outcome or the votes do not fit the settled round."""


def _check(st: Settled, tr: Training) -> None:
    station_ids = {s.id for s in st.stations}
    for sid, n in tr.reported.items():
        if sid not in station_ids:
            raise RoundEndError(f"training.reported: {sid!r} is not a revealed station")
        if n > tr.t:
            raise RoundEndError(f"training.reported[{sid!r}] = {n} exceeds t = {tr.t}")
    for sid in tr.objections:
        if sid not in station_ids:
            raise RoundEndError(f"training.objections: {sid!r} is not a revealed station")
    for sid in tr.contests:
        if sid not in station_ids:
            raise RoundEndError(f"training.contests: {sid!r} is not a revealed station")
        if tr.inclusion is None:
            raise RoundEndError("training.contests need a recorded inclusion root")
    for sid, n in (tr.inclusion or {}).items():
        if sid not in station_ids:
            raise RoundEndError(f"training.inclusion: {sid!r} is not a revealed station")
        if n > tr.t:
            raise RoundEndError(f"training.inclusion[{sid!r}] = {n} exceeds t = {tr.t}")
    if tr.scores is not None:
        if st.cfg.station_share_rule != "contribution":
            raise RoundEndError("training.scores only apply to the 'contribution' station share rule")
        if not tr.finalized:
            raise RoundEndError("training.scores come with finalizeTraining: the winner did not finalize")
        _check_scores(tr.scores, station_ids)
    if not tr.finalized and st.rnd.votes:
        raise RoundEndError("no vote takes place when the winner did not finalize training")
    voters = {o.id for o in st.owners if o.id != st.winner}
    seen: set[str] = set()
    for v in st.rnd.votes:
        if v.voter not in voters:
            raise RoundEndError(f"vote by {v.voter!r}: only revealed owners other than the winner vote")
        if st.nominal_share[v.voter] == 0:
            raise RoundEndError(f"vote by {v.voter!r}: its payment share s_p(m*) is 0 (commitVote reverts)")
        if v.voter in seen:
            raise RoundEndError(f"vote by {v.voter!r}: one vote per owner")
        seen.add(v.voter)


def _check_scores(scores: Scores, station_ids: set[str]) -> None:
    seen: set[str] = set()
    spans = []
    for leaf in scores.leaves:
        if leaf.station not in station_ids:
            raise RoundEndError(f"training.scores: {leaf.station!r} is not a revealed station")
        if leaf.station in seen:
            raise RoundEndError(f"training.scores: two leaves for {leaf.station!r}")
        seen.add(leaf.station)
        if leaf.prefix_before + leaf.score > scores.total:
            raise RoundEndError(f"training.scores: leaf of {leaf.station!r} ends past scores total {scores.total}")
        spans.append((leaf.prefix_before, leaf.prefix_before + leaf.score))
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise RoundEndError("training.scores: leaves overlap (the contract's escrow guard would then "
                                "decide by claim order; the reference accepts disjoint leaves only)")


def finish_round(st: Settled) -> RoundResult:
    cfg, rnd = st.cfg, st.rnd
    m_star = st.selected
    tr = rnd.training
    if m_star is not None and tr is None:
        raise RoundEndError(f"proposal {m_star} was selected: the round needs a training outcome")
    station_share = dict(st.station_share)
    split_rule: str = cfg.station_share_rule
    leftover = 0
    reward: dict[str, int] = {}
    forfeit: dict[str, int] = {}
    slash: dict[str, int] = {}
    vote_in: dict[str, int] = {}
    vote_forfeit: dict[str, int] = {}
    bond_credit = dict(st.bond_credit)
    punish_w = keep_w = 0
    punished = winner_failed = False
    bond_to_pool = 0

    if m_star is not None:
        assert tr is not None
        _check(st, tr)
        escrow = st.escrow
        if split_rule == "contribution":
            sc = tr.scores
            if tr.finalized and sc is not None and sc.total > 0 and not tr.objections:
                by_station = {leaf.station: leaf for leaf in sc.leaves}
                for s in st.stations:
                    leaf = by_station.get(s.id)
                    station_share[s.id] = 0 if leaf is None else cumfloor(
                        escrow, leaf.prefix_before, leaf.prefix_before + leaf.score, sc.total)
                leftover = escrow - sum(station_share.values())
            else:
                split_rule = "equal (contribution fallback)"

        winner = st.winner
        assert winner is not None
        if not tr.finalized:
            winner_failed = punished = True
            split = shares(st.bond_held, [st.owner_weight[o.id] for o in st.owners])
            for o, amount in zip(st.owners, split):
                if o.id == winner:
                    bond_to_pool += amount
                else:
                    slash[o.id] = slash.get(o.id, 0) + amount
        else:
            for v in rnd.votes:
                vote_in[v.voter] = cfg.vote_deposit
                if not v.revealed:
                    vote_forfeit[v.voter] = cfg.vote_deposit
            shown = [v for v in rnd.votes if v.revealed]
            weights = [st.nominal_share[v.voter] for v in shown]
            punish_w = sum(w for v, w in zip(shown, weights) if v.punish)
            keep_w = sum(w for v, w in zip(shown, weights) if not v.punish)
            punished = punish_w * BPS > cfg.punish_threshold_bps * (punish_w + keep_w)
            if punished:
                for v, amount in zip(shown, shares(st.bond_held, weights)):
                    slash[v.voter] = amount
            else:
                bond_credit[winner] = bond_credit.get(winner, 0) + st.bond_held
        # rewards only for included work: the rounds counted per station (hcfl/inclusion.py)
        use_root = tr.finalized and tr.inclusion is not None
        for s in st.stations:
            n = counted_rounds(tr.reported.get(s.id, 0), (tr.inclusion or {}).get(s.id), s.id in tr.contests,
                               punished, use_root)
            reward[s.id] = station_share[s.id] * n // tr.t
            forfeit[s.id] = station_share[s.id] - reward[s.id]

    taxes_o = sum(st.tax[o.id] for o in st.owners)
    taxes_s = sum(st.tax[s.id] for s in st.stations)
    roles = {p.id: p.role for p in rnd.participants}
    pen_o = sum(v for pid, v in st.penalty.items() if roles[pid] == "owner")
    pen_s = sum(v for pid, v in st.penalty.items() if roles[pid] == "station")
    pools_after = {
        "owner_pool": st.pools_before["owner_pool"] - st.owner_discount + taxes_o + pen_o
        + sum(vote_forfeit.values()) + bond_to_pool,
        "station_pool": st.pools_before["station_pool"] - st.station_bonus + taxes_s + pen_s
        + sum(forfeit.values()) + leftover,
    }

    people: dict[str, ParticipantResult] = {}
    for p in rnd.participants:
        pid = p.id
        pay = st.payment.get(pid, 0)
        tax = st.tax.get(pid, 0)
        credit = (p.deposit - pay - tax - st.penalty.get(pid, 0) + reward.get(pid, 0) + bond_credit.get(pid, 0)
                  + slash.get(pid, 0) + vote_in.get(pid, 0) - vote_forfeit.get(pid, 0))
        people[pid] = ParticipantResult(
            role=p.role, status=p.status, deposit=p.deposit,
            capped_claims=st.capped.get(pid),
            weight=st.owner_weight.get(pid, st.station_weight.get(pid)),
            m_minus=st.m_minus.get(pid),
            clarke_difference=st.clarke_difference.get(pid, 0), tax_unclipped=st.tax_raw.get(pid, 0), tax=tax, payment=pay,
            nominal_share=st.nominal_share.get(pid, 0),
            station_share=station_share.get(pid, 0) if m_star is not None else 0,
            reward=reward.get(pid, 0), forfeit=forfeit.get(pid, 0),
            penalty=st.penalty.get(pid, 0), bond_credit=bond_credit.get(pid, 0),
            vote_deposit=vote_in.get(pid, 0), vote_forfeit=vote_forfeit.get(pid, 0),
            slash_share=slash.get(pid, 0), credit=credit,
        )
    wei_in = (sum(p.deposit for p in rnd.participants) + sum(prop.bond for prop in rnd.proposals)
              + sum(vote_in.values()))
    return RoundResult(
        k=st.k, payment_rule=cfg.payment_rule, seed=st.seed, sum_values=st.sum_b, sum_costs=st.sum_k,
        surplus=st.surplus, eligible=st.eligible, affordability=st.afford, argmax=st.argmax,
        selected=m_star, unfunded=st.unfunded, c_max=st.c_max, total_payment=st.total,
        draw_owner=st.draw_owner, draw_station=st.draw_station, owner_discount=st.owner_discount,
        station_bonus=st.station_bonus, escrow=st.escrow,
        station_split=split_rule if m_star is not None else "none", escrow_leftover=leftover,
        winner=st.winner, winner_failed=winner_failed, bond=st.bond_held, punish_weight=punish_w,
        keep_weight=keep_w, punished=punished, bond_to_owner_pool=bond_to_pool,
        pools_before=st.pools_before, pools_after=pools_after, wei_in=wei_in, participants=people,
    )

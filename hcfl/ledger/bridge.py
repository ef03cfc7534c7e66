"""The one mapping between the contract's types and the v2 reference's models (hcfl.mechanism.v2).

- `chain_config` / `reference_config`: IHCFL.Config <-> the reference's CampaignConfig;
- `reference_round`: a ledger round as the reference's `Round` input (participants in join order, capped
  claims, salts, reveal order, proposals, training outcome, votes), so the auditor can recompute it.
"""
from __future__ import annotations

from collections.abc import Mapping

import hcfl.protocol as ct
from hcfl.ledger.records import Ledger, RoundRecord
from hcfl.mechanism.v2 import models as rm

_DURATIONS = ("join", "propose", "commit", "reveal", "train", "vote_commit", "vote_reveal")


def chain_config(cfg: rm.CampaignConfig) -> ct.CampaignConfig:
    d = cfg.durations
    return ct.CampaignConfig(
        **{f"{n}_duration": getattr(d, n) for n in _DURATIONS},
        non_reveal_penalty_bps=cfg.non_reveal_penalty_bps, punish_threshold_bps=cfg.punish_threshold_bps,
        pool_draw_bps=cfg.pool_draw_bps, max_proposals_per_owner=cfg.max_proposals_per_owner,
        payment_rule=ct.PaymentRule.from_slug(cfg.payment_rule),
        owner_share_rule=ct.ShareRule.from_slug(cfg.owner_share_rule),
        station_share_rule=ct.ShareRule.from_slug(cfg.station_share_rule),
        non_reveal_penalty_floor=cfg.non_reveal_penalty_floor, min_owner_deposit=cfg.min_owner_deposit,
        min_station_deposit=cfg.min_station_deposit, min_bond=cfg.min_bond, max_price=cfg.max_price,
        vote_deposit=cfg.vote_deposit,
    )


def reference_config(cfg: ct.CampaignConfig) -> rm.CampaignConfig:
    return rm.CampaignConfig(
        durations=rm.Durations(**{n: int(getattr(cfg, f"{n}_duration")) for n in _DURATIONS}),
        non_reveal_penalty_bps=cfg.non_reveal_penalty_bps, non_reveal_penalty_floor=cfg.non_reveal_penalty_floor,
        punish_threshold_bps=cfg.punish_threshold_bps, payment_rule=ct.PaymentRule(cfg.payment_rule).slug,
        owner_share_rule=ct.ShareRule(cfg.owner_share_rule).slug,
        station_share_rule=ct.ShareRule(cfg.station_share_rule).slug,
        min_owner_deposit=cfg.min_owner_deposit, min_station_deposit=cfg.min_station_deposit, min_bond=cfg.min_bond,
        max_price=cfg.max_price, max_proposals_per_owner=cfg.max_proposals_per_owner,
        pool_draw_bps=cfg.pool_draw_bps, vote_deposit=cfg.vote_deposit,
    )


def _training(r: RoundRecord, cfg: ct.CampaignConfig) -> rm.Training | None:
    s = r.settlement
    if s is None or not s.selected:
        return None
    t = r.proposals[s.star].global_rounds
    reported = {p.address: len(p.reports) for p in r.participants if p.role == ct.Role.STATION and p.revealed}
    fin = r.finalization
    scores = None
    if fin is not None and cfg.station_share_rule == ct.ShareRule.CONTRIBUTION and fin.scores_root != b"\0" * 32:
        # the leaves are off-chain; the ones proven in claimWithScore calls are known
        leaves = [rm.ScoreLeaf(station=p.address, score=p.reward.score, prefix_before=p.reward.prefix_before)
                  for p in r.participants
                  if p.reward is not None and p.reward.by_contribution and p.reward.score is not None]
        scores = rm.Scores(leaves=leaves, total=fin.scores_total)
    return rm.Training(t=t, reported=reported, finalized=fin is not None, scores=scores,
                       objections=list(r.objections),
                       inclusion=dict(r.included) if r.inclusion_root is not None else None,
                       contests=list(r.contests))


def reference_round(ledger: Ledger, round_id: int) -> rm.Round:
    """The reference's input for one ledger round (ids are the checksummed addresses)."""
    r = ledger.rounds[round_id]
    cfg = ledger.campaigns[r.campaign_id].config
    participants = [
        rm.Participant(
            id=p.address, role="owner" if p.role == ct.Role.OWNER else "station", deposit=p.deposit,
            status=p.status, claims=list(p.claims) if p.claims is not None else None,  # type: ignore[arg-type]
            salt="0x" + p.salt.hex() if p.salt is not None else None)
        for p in r.participants
    ]
    proposals = [rm.Proposal(proposer=pr.proposer, price=pr.price, bond=pr.bond) for pr in r.proposals]
    shown = {v.voter: v for v in r.votes}
    votes = [rm.Vote(voter=a, punish=bool(shown[a].punish), revealed=True) for a in r.vote_reveal_order]
    votes += [rm.Vote(voter=v.voter, punish=False, revealed=False) for v in r.votes if not v.revealed]
    return rm.Round(participants=participants, proposals=proposals, reveal_order=list(r.reveal_order),
                    training=_training(r, cfg), votes=votes)


def address_names(names: Mapping[str, str]) -> dict[str, str]:
    """id -> address into address -> id."""
    return {a: n for n, a in names.items()}

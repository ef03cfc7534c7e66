"""`run_campaign(campaign) -> CampaignResult`: settle and finish every round of a campaign in order,
carrying the campaign's own pools from round to round (pools never cross campaigns)."""
from __future__ import annotations

from hcfl.mechanism.v2.models import Campaign, CampaignResult, RoundResult
from hcfl.mechanism.v2.round_end import RoundEndError, finish_round
from hcfl.mechanism.v2.settle import settle_round


def run_campaign(campaign: Campaign) -> CampaignResult:
    owner_pool, station_pool = campaign.owner_pool, campaign.station_pool
    results: list[RoundResult] = []
    for i, rnd in enumerate(campaign.rounds):
        st = settle_round(campaign.config, rnd, owner_pool, station_pool)
        try:
            res = finish_round(st)
        except RoundEndError as exc:
            raise RoundEndError(f"round {i}: {exc}") from None
        results.append(res)
        owner_pool, station_pool = res.pools_after["owner_pool"], res.pools_after["station_pool"]
    return CampaignResult(
        config=campaign.config,
        rounds=results,
        pools_before={"owner_pool": campaign.owner_pool, "station_pool": campaign.station_pool},
        pools_after={"owner_pool": owner_pool, "station_pool": station_pool},
        wei_in=sum(r.wei_in for r in results),
        credits_out=sum(p.credit for r in results for p in r.participants.values()),
    )

"""Python reference of the v2 mechanism (docs/mechanism.md, "v2"; /work/wt/V2-RULES.md): campaigns with
their own pools, stake-backed share rules, cumfloor remainders, lazy clipped Clarke taxes, bounded pool
draws, the stake-weighted vote. v1 (`hcfl.mechanism`) stays as it is until the switch-over."""
from hcfl.mechanism.v2.campaign import run_campaign
from hcfl.mechanism.v2.cumfloor import cumfloor, shares
from hcfl.mechanism.v2.models import Campaign, CampaignConfig, CampaignResult, Participant, Proposal, Round, RoundResult
from hcfl.mechanism.v2.round_end import RoundEndError
from hcfl.mechanism.v2.settle import non_reveal_penalty, salt_seed
from hcfl.mechanism.v2.utility import true_utility

__all__ = [
    "Campaign", "CampaignConfig", "CampaignResult", "Participant", "Proposal", "Round", "RoundEndError",
    "RoundResult", "cumfloor", "non_reveal_penalty", "run_campaign", "salt_seed", "shares", "true_utility",
]

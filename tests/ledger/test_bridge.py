"""The one mapping between contract types and reference models round-trips every config field."""
from __future__ import annotations

import random

from hcfl.ledger.bridge import chain_config, reference_config
from hcfl.mechanism.v2 import CampaignConfig
from hcfl.protocol import CampaignConfig as ChainConfig


def test_config_round_trip() -> None:
    rng = random.Random(5)
    for _ in range(200):
        cfg = CampaignConfig.model_validate({
            "durations": {n: rng.randint(1, 365 * 86400) for n in
                          ("join", "propose", "commit", "reveal", "train", "vote_commit", "vote_reveal")},
            "non_reveal_penalty_bps": rng.randint(0, 10_000), "non_reveal_penalty_floor": rng.randint(1, 2**96 - 1),
            "punish_threshold_bps": rng.randint(0, 10_000), "payment_rule": rng.choice(["posted", "paper-random"]),
            "owner_share_rule": rng.choice(["equal", "stake", "proportional"]),
            "station_share_rule": rng.choice(["equal", "stake", "proportional", "contribution"]),
            "min_owner_deposit": rng.randint(1, 2**96 - 1), "min_station_deposit": rng.randint(1, 2**96 - 1),
            "min_bond": rng.randint(1, 2**96 - 1), "max_price": rng.randint(1, 2**128 - 1),
            "max_proposals_per_owner": rng.randint(1, 20), "pool_draw_bps": rng.randint(0, 10_000),
            "vote_deposit": rng.randint(0, 2**96 - 1)})
        on_chain = chain_config(cfg)
        assert isinstance(on_chain, ChainConfig)
        assert reference_config(ChainConfig.from_tuple(on_chain.as_tuple())) == cfg

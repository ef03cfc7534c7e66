"""Strict validation of v2 campaigns: the contract's bounds, with a clear reason."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from hcfl.mechanism.models import describe_validation_error
from hcfl.mechanism.v2 import Campaign
from tests.mechanism_v2.helpers import owner, prop, station

GOOD_ROUND = {"participants": [owner("a", 10, [5]), station("s", 10, [1])], "proposals": [prop("a", 3)]}


def error(data: dict) -> str:
    with pytest.raises(ValidationError) as exc:
        Campaign.model_validate(data)
    return describe_validation_error(exc.value)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"durations": {"train": 365 * 86400 + 1}}, "durations.train: Input should be less than or equal to 31536000"),
        ({"durations": {"join": 0}}, "durations.join: Input should be greater than or equal to 1"),
        ({"durations": {"vote_reveal": 2**64 - 1}}, "durations.vote_reveal"),
        ({"max_price": 2**128}, "max_price"),
        ({"max_price": 0}, "max_price"),
        ({"non_reveal_penalty_bps": 10_001}, "non_reveal_penalty_bps"),
        ({"non_reveal_penalty_floor": 0}, "non_reveal_penalty_floor"),
        ({"punish_threshold_bps": 10_001}, "punish_threshold_bps"),
        ({"pool_draw_bps": 10_001}, "pool_draw_bps"),
        ({"min_owner_deposit": 0}, "min_owner_deposit"),
        ({"min_station_deposit": 0}, "min_station_deposit"),
        ({"min_bond": 0}, "min_bond"),
        ({"max_proposals_per_owner": 0}, "max_proposals_per_owner"),
        ({"max_proposals_per_owner": 21}, "max_proposals_per_owner"),
        ({"vote_deposit": -1}, "vote_deposit"),
        ({"payment_rule": "capability"}, "payment_rule"),
        ({"owner_share_rule": "contribution"}, "owner_share_rule"),
        ({"station_share_rule": "capability"}, "station_share_rule"),
        ({"min_bond": True}, "min_bond"),
        ({"min_bond": "1"}, "min_bond"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_config_bounds(config, fragment):
    assert fragment in error({"config": config, "rounds": [GOOD_ROUND]})


@pytest.mark.parametrize(
    ("config", "rnd", "fragment"),
    [
        ({"min_owner_deposit": 11}, GOOD_ROUND, "round 0: participant 'a': deposit 10 < min_owner_deposit 11"),
        ({"min_station_deposit": 11}, GOOD_ROUND, "deposit 10 < min_station_deposit 11"),
        ({"min_bond": 2}, GOOD_ROUND, "proposal 0: bond 1 < min_bond 2"),
        ({"max_price": 2}, GOOD_ROUND, "proposal 0: price 3 > max_price 2"),
        ({"max_proposals_per_owner": 1}, {**GOOD_ROUND, "participants": [owner("a", 10, [5, 5]), station("s", 10, [1, 1])],
                                          "proposals": [prop("a", 1), prop("a", 1)]}, "exceeds max_proposals_per_owner 1"),
        ({}, {**GOOD_ROUND, "proposals": [prop("s", 1)]}, "proposer 's' is not an owner"),
        ({}, {**GOOD_ROUND, "proposals": [prop("a", 1)] * 21,
              "participants": [owner("a", 10, [5] * 21), station("s", 10, [1] * 21)]}, "at most 20 proposals"),
        ({}, {**GOOD_ROUND, "participants": [owner("a", 10, [5, 5]), station("s", 10, [1])]}, "needs K=1 claims, got 2"),
        ({}, {**GOOD_ROUND, "participants": [owner("a", 10, None), station("s", 10, [1])]}, "needs K=1 claims, got none"),
        ({}, {**GOOD_ROUND, "participants": [owner("a", 10, [5]), owner("a", 10, [5])]}, "duplicate participant id 'a'"),
        ({}, {**GOOD_ROUND, "reveal_order": ["a"]}, "reveal_order must list every revealed participant"),
        ({}, {**GOOD_ROUND, "reveal_order": ["a", "s", "s"]}, "reveal_order"),
        ({}, {"participants": [owner("a", 10, [])], "proposals": []}, "no proposal"),
        ({}, {**GOOD_ROUND, "participants": [owner("a", 10, [5], salt="0x12"), station("s", 10, [1])]}, "salt must be 0x"),
        ({}, {**GOOD_ROUND, "seed": 2**256}, "seed"),
    ],
)
def test_round_checks(config, rnd, fragment):
    assert fragment in error({"config": config, "rounds": [rnd]})


def test_a_campaign_needs_a_round():
    assert "rounds" in error({"rounds": []})


def test_defaults():
    c = Campaign.model_validate({"rounds": [GOOD_ROUND]})
    cfg = c.config
    assert cfg.payment_rule == "posted" and cfg.non_reveal_penalty_bps == 10_000 and cfg.pool_draw_bps == 2500
    assert cfg.punish_threshold_bps == 5000 and cfg.max_price == 2**128 - 1

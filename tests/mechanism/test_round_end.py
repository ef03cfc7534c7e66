"""Post-training: pro-rata station rewards, contribution recomputation, the vote and the bond."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcfl.mechanism import Instance, TrainingOutcome, finish_round, settle
from hcfl.mechanism.round_end import RoundEndError

from .strategies import instances


def round_instance(station_rule: str = "equal", pools: tuple[int, int] = (0, 0)) -> Instance:
    # S = [30 - 10] = 20 -> 0; C = 10 + 0 % 11 = 10 (seed 0). Winner a (bond 9).
    return Instance.model_validate(
        dict(
            owners=[
                {"id": "a", "values": [10], "deposit": 100},
                {"id": "b", "values": [10], "deposit": 100},
                {"id": "c", "values": [10], "deposit": 100},
            ],
            stations=[
                {"id": "s", "costs": [5], "deposit": 50, "capability": 3},
                {"id": "t", "costs": [5], "deposit": 50, "capability": 1},
            ],
            station_share_rule=station_rule,
            proposals=[{"proposer": "a", "bond": 9}],
            owner_pool=pools[0],
            station_pool=pools[1],
            seed=0,
        )
    )


def test_pro_rata_rewards_and_forfeits():
    inst = round_instance()
    st_ = settle(inst)
    assert st_.total_payment == 10 and st_.station_rewards == {"s": 5, "t": 5}
    out = finish_round(inst, st_, TrainingOutcome(t=3, reported_rounds={"s": 3, "t": 1}))
    # t gets floor(5 * 1 / 3) = 1, forfeits 4 to the station pool.
    assert out.station_rewards == {"s": 5, "t": 1}
    assert out.station_forfeits == {"s": 0, "t": 4}
    assert out.pools_after["station_pool"] == st_.pools_after["station_pool"] + 4
    assert not out.punished and out.bond_returned == 9 and out.revealed_votes == 0


def test_contribution_rule_uses_winner_scores():
    inst = round_instance("contribution", pools=(0, 2))
    st_ = settle(inst)
    assert st_.station_rewards == {"s": 6, "t": 6}  # equal at settlement: split(10 + 2)
    out = finish_round(inst, st_, TrainingOutcome(t=2, reported_rounds={"s": 2, "t": 2}, scores=[1, 2]))
    assert out.station_rewards == {"s": 4, "t": 8}
    # all-zero scores -> equal
    out = finish_round(inst, st_, TrainingOutcome(t=2, reported_rounds={"s": 2, "t": 2}, scores=[0, 0]))
    assert out.station_rewards == {"s": 6, "t": 6}


def test_winner_failed_slashes_bond_without_vote_and_uses_equal_weights():
    inst = round_instance("contribution")
    st_ = settle(inst)
    out = finish_round(inst, st_, TrainingOutcome(t=1, reported_rounds={"s": 1, "t": 1}, finalized=False, scores=[9, 1]))
    assert out.winner_failed and out.punished
    assert out.station_rewards == {"s": 5, "t": 5}
    assert out.bond_split == {"b": 5, "c": 4} and out.bond_returned == 0
    with pytest.raises(RoundEndError):
        finish_round(inst, st_, TrainingOutcome(t=1, finalized=False, votes=[{"voter": "b", "punish": True}]))


@pytest.mark.parametrize(
    ("votes", "threshold", "punished"),
    [
        ([True, False], 5000, False),  # exactly half is not more than half
        ([True, True], 5000, True),
        ([True], 5000, True),
        ([], 5000, False),  # nobody revealed a vote: bond returned
        ([True, False], 4999, True),
        ([False, False], 0, False),
        ([True, False], 10000, False),
    ],
)
def test_vote_threshold_is_strictly_greater(votes, threshold, punished):
    inst = round_instance()
    st_ = settle(inst)
    outcome = TrainingOutcome(
        t=1,
        reported_rounds={"s": 1, "t": 1},
        votes=[{"voter": v, "punish": p} for v, p in zip(["b", "c"], votes)],
        threshold_bps=threshold,
    )
    out = finish_round(inst, st_, outcome)
    assert out.punished is punished
    if punished:
        assert out.bond_split == {"b": 5, "c": 4} and out.credits["a"] == st_.credits["a"]
    else:
        assert out.bond_returned == 9 and out.credits["a"] == st_.credits["a"] + 9


def test_bond_goes_to_owner_pool_without_other_owners():
    inst = Instance.model_validate(
        dict(
            owners=[{"id": "a", "values": [10]}],
            stations=[{"id": "s", "costs": [1]}],
            proposals=[{"proposer": "a", "bond": 7}],
            seed=0,
        )
    )
    st_ = settle(inst)
    out = finish_round(inst, st_, TrainingOutcome(t=1, finalized=False))
    assert out.bond_to_owner_pool == 7 and out.pools_after["owner_pool"] == st_.pools_after["owner_pool"] + 7


def test_bad_outcomes_rejected():
    inst = round_instance()
    st_ = settle(inst)
    for bad in [
        TrainingOutcome(t=1, reported_rounds={"zz": 1}),
        TrainingOutcome(t=1, reported_rounds={"s": 2}),
        TrainingOutcome(t=1, scores=[1]),
        TrainingOutcome(t=1, votes=[{"voter": "a", "punish": True}]),  # the winner does not vote
        TrainingOutcome(t=1, votes=[{"voter": "b", "punish": True}, {"voter": "b", "punish": False}]),
        TrainingOutcome(t=1, votes=[{"voter": "s", "punish": True}]),
    ]:
        with pytest.raises(RoundEndError):
            finish_round(inst, st_, bad)


@settings(max_examples=200, deadline=None)
@given(instances(deposits=True, proposals=True, min_owners=1, min_stations=1), st.data())
def test_round_end_conserves_every_wei(inst: Instance, data):
    st_ = settle(inst)
    if st_.selected is None:
        out = finish_round(inst, st_, None)
        assert out.credits == {
            pid: st_.credits.get(pid, 0) + st_.bond_credits.get(pid, 0)
            for pid in {*st_.credits, *st_.bond_credits}
        }
        return
    stations = inst.revealed_stations
    t = data.draw(st.integers(1, 5))
    finalized = data.draw(st.booleans())
    voters = [o.id for o in inst.revealed_owners if o.id != st_.winner]
    outcome = TrainingOutcome(
        t=t,
        reported_rounds={s.id: data.draw(st.integers(0, t)) for s in stations},
        finalized=finalized,
        scores=[data.draw(st.integers(0, 5)) for _ in stations] if finalized else None,
        votes=[{"voter": v, "punish": data.draw(st.booleans())} for v in voters if data.draw(st.booleans())]
        if finalized
        else [],
        threshold_bps=data.draw(st.integers(0, 10000)),
    )
    out = finish_round(inst, st_, outcome)
    escrow = sum(st_.station_rewards.values())
    assert sum(out.station_rewards.values()) + sum(out.station_forfeits.values()) == escrow
    assert out.bond_returned + sum(out.bond_split.values()) + out.bond_to_owner_pool == st_.bond_held
    everyone = [*inst.owners, *inst.stations]
    came_in = sum(p.deposit for p in everyone) + sum(p.bond for p in inst.proposals) + sum(st_.pools_before.values())
    assert came_in == sum(out.credits.values()) + sum(out.pools_after.values())

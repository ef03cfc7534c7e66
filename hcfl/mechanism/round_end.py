"""After settlement: station final rewards, forfeits, the punishment vote and the bond
(docs/mechanism.md, "Training, rewards and the vote"). This is what an auditor recomputes at `Finished`."""
from __future__ import annotations

from hcfl.mechanism.models import BPS, Instance, RoundEnd, Settlement, TrainingOutcome
from hcfl.mechanism.payments import station_weights
from hcfl.mechanism.shares import split


class RoundEndError(ValueError):
    """The training outcome does not fit the round (unknown station, too many rounds, bad voter...)."""


def _check_outcome(instance: Instance, settlement: Settlement, outcome: TrainingOutcome) -> None:
    station_ids = [s.id for s in instance.revealed_stations]
    for sid, n in outcome.reported_rounds.items():
        if sid not in station_ids:
            raise RoundEndError(f"reported_rounds: {sid!r} is not a revealed station")
        if n > outcome.t:
            raise RoundEndError(f"reported_rounds[{sid!r}] = {n} exceeds t = {outcome.t}")
    if outcome.scores is not None and len(outcome.scores) != len(station_ids):
        raise RoundEndError(f"scores must have one entry per revealed station ({len(station_ids)}), got {len(outcome.scores)}")
    if not outcome.finalized and outcome.votes:
        raise RoundEndError("no vote takes place when the winner did not finalize training")
    eligible = {o.id for o in instance.revealed_owners} - {settlement.winner}
    seen: set[str] = set()
    for vote in outcome.votes:
        if vote.voter not in eligible:
            raise RoundEndError(f"vote by {vote.voter!r}: only revealed owners other than the winner vote")
        if vote.voter in seen:
            raise RoundEndError(f"vote by {vote.voter!r}: one vote per owner")
        seen.add(vote.voter)


def _add(into: dict[str, int], key: str, amount: int) -> None:
    into[key] = into.get(key, 0) + amount


def finish_round(instance: Instance, settlement: Settlement, outcome: TrainingOutcome | None) -> RoundEnd:
    """Final station rewards, vote outcome, bond split, pools and per-id credits over the whole round.

    With no selected model (none, unfunded) the round ended at settlement and `outcome` is ignored.
    """
    credits: dict[str, int] = dict(settlement.credits or {})
    for pid, amount in settlement.bond_credits.items():
        _add(credits, pid, amount)
    pools = dict(settlement.pools_after)

    if settlement.selected is None or outcome is None:
        if settlement.selected is not None:
            raise RoundEndError("a selected round needs a training outcome")
        return RoundEnd(
            station_rewards={}, station_forfeits={}, winner=None, winner_failed=False, punish_votes=0,
            revealed_votes=0, punished=False, bond=0, bond_returned=0, bond_split={}, bond_to_owner_pool=0,
            pools_after=pools, credits=credits,
        )

    _check_outcome(instance, settlement, outcome)
    stations = instance.revealed_stations
    shares = [settlement.station_rewards[s.id] for s in stations]
    if instance.effective_station_share_rule == "contribution":
        # The winner's scores replace the equal split; a failed winner leaves no scores, so equal.
        escrow = sum(shares)
        scores = outcome.scores if outcome.finalized else None
        shares = split(escrow, station_weights(stations, "contribution", scores))

    rewards: dict[str, int] = {}
    forfeits: dict[str, int] = {}
    for s, share in zip(stations, shares):
        reported = outcome.reported_rounds.get(s.id, 0)
        rewards[s.id] = share * reported // outcome.t
        forfeits[s.id] = share - rewards[s.id]
        _add(credits, s.id, rewards[s.id])
    pools["station_pool"] += sum(forfeits.values())

    winner = settlement.winner
    bond = settlement.bond_held
    punish_votes = sum(1 for v in outcome.votes if v.punish)
    revealed_votes = len(outcome.votes)
    if not outcome.finalized:
        punished = True
    else:
        punished = punish_votes * BPS > outcome.threshold_bps * revealed_votes

    bond_returned = 0
    bond_split: dict[str, int] = {}
    bond_to_pool = 0
    if not punished:
        bond_returned = bond
        if winner is not None:
            _add(credits, winner, bond)
    else:
        receivers = [o.id for o in instance.revealed_owners if o.id != winner]
        if receivers:
            bond_split = dict(zip(receivers, split(bond, [1] * len(receivers))))
            for pid, amount in bond_split.items():
                _add(credits, pid, amount)
        else:
            bond_to_pool = bond
            pools["owner_pool"] += bond

    return RoundEnd(
        station_rewards=rewards,
        station_forfeits=forfeits,
        winner=winner,
        winner_failed=not outcome.finalized,
        punish_votes=punish_votes,
        revealed_votes=revealed_votes,
        punished=punished,
        bond=bond,
        bond_returned=bond_returned,
        bond_split=bond_split,
        bond_to_owner_pool=bond_to_pool,
        pools_after=pools,
        credits=credits,
    )

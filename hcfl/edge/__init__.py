"""Paying the edge: how a base station splits its round reward among its edge clients.

Modules (one job each):
- `rounding`: the cumulative-floor split (sum == budget to the wei);
- `payout`: payoffs -> wei (proportional or absolute with the rest returned to the station);
- `ifedcrowd` (seed 000), `lceme` (seed 001), `shapley` (seed 004, G2), `baselines` (equal, samples);
- `rule`: `EdgeRewardRule`, committed on chain by its keccak hash before training;
- `claims`: sealed edge-client cost claims and their conversion into the leaders' parameters;
- `settle`: apply a committed rule to a round's measured inputs.
docs/mechanism.md, "Paying the edge", states the rules and what is (not) proven about them.
"""
from hcfl.edge.payout import EdgePayout, allocate
from hcfl.edge.rounding import cumulative_floor_split
from hcfl.edge.rule import RULES, EdgeRewardRule

__all__ = ["RULES", "EdgePayout", "EdgeRewardRule", "allocate", "cumulative_floor_split"]

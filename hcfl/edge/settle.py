"""Apply a committed `EdgeRewardRule` to one round's measured inputs: wei per client.

One function per rule; each checks that it was given the rule it implements, computes non-negative
payoffs, and hands them to `hcfl.edge.payout.allocate` (cumulative-floor rounding, every wei of the
station's budget either paid to a client or returned to the station).
"""
from __future__ import annotations

from collections.abc import Sequence

from hcfl.edge import baselines, ifedcrowd, lceme
from hcfl.edge import shapley as shapley_mod
from hcfl.edge.payout import EdgePayout, allocate
from hcfl.edge.rule import EdgeRewardRule, IFedCrowdParams, LcemeParams, ShapleyParams


def _expect(rule: EdgeRewardRule, name: str) -> None:
    if rule.name != name:
        raise ValueError(f"this settles the {name!r} rule, the station committed {rule.name!r}")


def announce_ifedcrowd(rule: EdgeRewardRule, costs: Sequence[ifedcrowd.ClientCost]) -> ifedcrowd.Rates:
    """The leader's rates r* from the committed rule and the revealed cost claims."""
    _expect(rule, "ifedcrowd")
    assert isinstance(rule.params, IFedCrowdParams)
    return ifedcrowd.optimal_rates(costs, rule.params.alpha, rule.params.beta)


def pay_ifedcrowd(
    rule: EdgeRewardRule,
    budget: int,
    rates: ifedcrowd.Rates,
    accuracy: Sequence[float],
    completion_time: Sequence[float],
    upload_time: Sequence[int],
    generation_times: Sequence[Sequence[int]],
) -> EdgePayout:
    """v_k = r1 A_k / T_k + r2 F_k with F_k from the samples' timestamps, into the budget."""
    _expect(rule, "ifedcrowd")
    assert isinstance(rule.params, IFedCrowdParams)
    if len(upload_time) != len(generation_times):
        raise ValueError("one upload time and one timestamp list per client")
    fresh = [ifedcrowd.freshness(t, g) for t, g in zip(upload_time, generation_times)]
    v = ifedcrowd.measured_payoffs(rates, accuracy, completion_time, fresh)
    return allocate(budget, v, rule.params.unit_wei)


def announce_lceme(rule: EdgeRewardRule, clients: Sequence[lceme.LcemeClient]) -> list[float]:
    """The assignment D'_i announced with the reward (Theorem 4, corrected lower bound)."""
    _expect(rule, "lceme")
    assert isinstance(rule.params, LcemeParams)
    return lceme.optimal_assignment(rule.params.system, clients)


def pay_lceme(
    rule: EdgeRewardRule,
    budget: int,
    clients: Sequence[lceme.LcemeClient],
    assigned: Sequence[float],
    loss: float,
) -> EdgePayout:
    """r_i = Omega_i - Phi_i * min(loss, max_loss) + c_l, clamped at 0, into the budget."""
    _expect(rule, "lceme")
    p = rule.params
    assert isinstance(p, LcemeParams)
    if len(assigned) != len(clients):
        raise ValueError("one assignment per client")
    f = min(loss, p.max_loss)
    r = [lceme.payable(lceme.reward(p.system, clients, i, assigned, f)) for i in range(len(clients))]
    return allocate(budget, r, p.unit_wei)


def pay_shapley(
    rule: EdgeRewardRule, budget: int, n: int, utility: shapley_mod.Utility, seed: int = 0
) -> tuple[EdgePayout, shapley_mod.ShapleyResult]:
    """Budget in proportion to max(0, phi_i); the result states the method and its error bound."""
    _expect(rule, "shapley")
    p = rule.params
    assert isinstance(p, ShapleyParams)
    res = shapley_mod.shapley(
        n, utility, exact_limit=p.exact_limit, permutations=p.permutations, seed=seed, delta=p.delta
    )
    return allocate(budget, res.weights), res


def pay_equal(rule: EdgeRewardRule, budget: int, n: int) -> EdgePayout:
    _expect(rule, "equal")
    return allocate(budget, baselines.equal_weights(n))


def pay_samples(rule: EdgeRewardRule, budget: int, samples: Sequence[int]) -> EdgePayout:
    _expect(rule, "samples")
    return allocate(budget, baselines.sample_weights(samples))

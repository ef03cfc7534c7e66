"""LCEME (seed 001): the notes' test vectors, the bound's properties, truthfulness and IR on a grid,
and the paper's errors kept as regression tests."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from hcfl.edge import lceme
from hcfl.edge.lceme import LcemeClient, LcemeSystem

SYS = LcemeSystem(L=1, mu=0.1, eta=0.05, rounds=100, local_steps=1, G2=1, beta=2, w0_dist2=4)
TEN = [LcemeClient(p=0.1, sigma2=64, c_p=1e-6, c_l=0.01)] * 10


def test_vector_h1():
    D = lceme.optimal_assignment(SYS, TEN)
    assert lceme.a_factor(SYS) == pytest.approx(0.394230, abs=1e-6)
    assert D[0] == pytest.approx(50.2302, abs=1e-4)
    assert lceme.unconstrained_optimum(SYS, TEN[0]) == pytest.approx(50.2302, abs=1e-4)
    assert lceme.lower_bound(SYS, TEN[0]) == pytest.approx(17.8885, abs=1e-4)
    assert lceme.lower_bound_printed(SYS, TEN[0]) == pytest.approx(5.6569, abs=1e-4)
    assert lceme.phi(SYS, TEN[0], D[0]) == pytest.approx(1.0, abs=1e-12)
    assert lceme.truthful_bound(SYS, TEN, D) == pytest.approx(2.473312, abs=1e-6)
    assert lceme.omega(SYS, TEN, 0, D) == pytest.approx(2.47833, abs=1e-5)


def test_vector_h2():
    s = SYS.model_copy(update={"local_steps": 2})
    assert lceme.a_factor(s) == pytest.approx(0.633042, abs=1e-6)
    assert lceme.optimal_assignment(s, TEN)[0] == pytest.approx(291.6863, abs=1e-4)
    assert lceme.lower_bound(s, TEN[0]) == pytest.approx(47.3286, abs=1e-4)


@pytest.mark.parametrize("T,H,mu,eta", [(100, 1, 0.1, 0.05), (7, 3, 0.3, 0.2), (50, 2, 0.01, 0.5)])
def test_geometric_sum_identity(T, H, mu, eta):
    s = LcemeSystem(rounds=T, local_steps=H, mu=mu, eta=eta)
    assert lceme.a_factor(s) == pytest.approx(lceme.a_factor_by_sum(s), rel=1e-12)


def _b(s, e0=1, d0=50.0, g0=1.0, clients=TEN):
    n = len(clients)
    return lceme.bound(s, clients, [e0] + [1] * (n - 1), [d0] + [50.0] * (n - 1), [g0] + [1.0] * (n - 1))


def test_bound_properties():
    for s in (SYS, SYS.model_copy(update={"local_steps": 3})):
        ds = [5, 10, 20, 50, 100, 400]
        vals = [_b(s, d0=d) for d in ds]
        assert all(a > b for a, b in zip(vals, vals[1:]))  # strictly decreasing in D_i
        for dg in (0.1, 0.5, 1.0):  # symmetric about gamma = 1 and increasing in |gamma - 1|
            assert _b(s, g0=1 - dg) == pytest.approx(_b(s, g0=1 + dg), rel=1e-12)
            assert _b(s, g0=1 + dg) > _b(s, g0=1 + dg / 2)
        for g in (1.0, 0.3, 1.8):  # the e_i = 0 increment is exactly A p beta (1 + 2((g-1)^2 + (H-1)^2))
            inc = _b(s, e0=0, g0=g) - _b(s, e0=1, g0=g)
            expect = lceme.a_factor(s) * 0.1 * s.beta * (1 + 2 * ((g - 1) ** 2 + (s.local_steps - 1) ** 2))
            assert inc == pytest.approx(expect, rel=1e-9)
    # the first term decays geometrically in T*H
    first = [LcemeSystem(rounds=t, G2=0, w0_dist2=4).model_copy() for t in (10, 20, 40)]
    t0 = [s.L * (1 - s.mu * s.eta) ** (s.rounds * s.local_steps) * s.w0_dist2 for s in first]
    assert t0[1] / t0[0] == pytest.approx((1 - 0.005) ** 10) and t0[2] / t0[1] == pytest.approx((1 - 0.005) ** 20)


def test_paper_gamma0_equals_gamma2_in_the_bound():
    """Paper error 5: the text compares gamma=0 with gamma=1 'with the same bound'; only gamma=0 and
    gamma=2 share a bound ((gamma-1)^2). The experiment then shows loss(gamma=0) < loss(gamma=2)."""
    assert _b(SYS, g0=0.0) == pytest.approx(_b(SYS, g0=2.0), rel=1e-12)
    assert _b(SYS, g0=0.0) > _b(SYS, g0=1.0)


def test_expected_reward_and_ir():
    D = lceme.optimal_assignment(SYS, TEN)
    for i in (0, 3):
        r = lceme.reward(SYS, TEN, i, D, lceme.truthful_bound(SYS, TEN, D))
        assert r == pytest.approx(SYS.rounds * TEN[i].c_p * D[i] + TEN[i].c_l, rel=1e-9)
        assert lceme.client_payoff(SYS, TEN, i, D, 1, D[i], 1.0) == pytest.approx(0.0, abs=1e-12)


def test_printed_lower_bound_lets_shirking_pay():
    """Paper error 3 (regression): with D' between the printed LB (extra p_i) and the corrected LB,
    a client gains by skipping labeling (e=0), so the printed constraint does not give truthfulness."""
    lb_printed, lb = lceme.lower_bound_printed(SYS, TEN[0]), lceme.lower_bound(SYS, TEN[0])
    assert lb_printed < lb
    for d_assigned in (lb_printed, (lb_printed + lb) / 2, 0.99 * lb):
        D = [d_assigned] + [50.0] * 9
        truthful = lceme.client_payoff(SYS, TEN, 0, D, 1, d_assigned, 1.0)
        shirk = lceme.client_payoff(SYS, TEN, 0, D, 0, d_assigned, 1.0)
        assert shirk > truthful + 1e-6
    # at the corrected LB the gain is exactly zero, above it shirking loses
    for factor, sign in ((1.0, 0), (1.2, -1)):
        D = [factor * lb] + [50.0] * 9
        gain = lceme.client_payoff(SYS, TEN, 0, D, 0, D[0], 1.0) - lceme.client_payoff(SYS, TEN, 0, D, 1, D[0], 1.0)
        assert (gain == pytest.approx(0, abs=1e-12)) if sign == 0 else gain < 0


def test_payoff_is_concave_in_gamma_and_D():
    """Paper error 6: Lemmas 1 and 3 say 'convex'; the payoff is concave with its maximum at gamma=1, D=D'."""
    D = lceme.optimal_assignment(SYS, TEN)
    gs = np.linspace(0, 2, 41)
    u = [lceme.client_payoff(SYS, TEN, 0, D, 1, D[0], g) for g in gs]
    assert all(a - 2 * b + c < 0 for a, b, c in zip(u, u[1:], u[2:]))
    assert gs[int(np.argmax(u))] == pytest.approx(1.0)
    ds = np.linspace(10, 150, 71)
    u = [lceme.client_payoff(SYS, TEN, 0, D, 1, d, 1.0) for d in ds]
    assert all(a - 2 * b + c < 0 for a, b, c in zip(u, u[1:], u[2:]))


def test_theorem4_first_term_printed_is_garbled():
    """Paper error 4: the printed sqrt(A (p^2 sigma^2 + 2 p (H-1)^2) / (c_p T)) drops sigma^2 from the
    (H-1)^2 part; the numerical minimiser of the server objective agrees with the corrected form."""
    s = SYS.model_copy(update={"local_steps": 2})
    c = TEN[0]
    num = minimize_scalar(lambda d: lceme.server_objective(s, [c], [d]), bounds=(1, 5000), method="bounded",
                          options={"xatol": 1e-8}).x
    assert num == pytest.approx(lceme.unconstrained_optimum(s, c), rel=1e-5)
    printed = math.sqrt(lceme.a_factor(s) * (c.p**2 * c.sigma2 + 2 * c.p * 1) / (c.c_p * s.rounds))
    assert abs(printed - num) / num > 0.5


def test_beta_example_needs_4YX():
    """Paper error 7: for f = 1/2 (x w - y)^2 with |y|^2 <= Y, ||x||^2 <= X the random-label gradient
    gap (y' - y) x reaches 4YX (y = sqrt(Y), y' = -sqrt(Y)), above the printed beta = 2YX."""
    Y, X = 2.0, 3.0
    x = np.array([math.sqrt(X), 0.0])
    gap = (-(math.sqrt(Y)) - math.sqrt(Y)) * x
    assert float(gap @ gap) == pytest.approx(4 * Y * X) and float(gap @ gap) > 2 * Y * X


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_optimal_assignment(seed, H):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    p = rng.dirichlet(np.ones(n))
    clients = [
        LcemeClient(p=float(pi), sigma2=float(rng.uniform(1, 100)), c_p=float(10 ** rng.uniform(-7, -4)),
                    c_l=float(10 ** rng.uniform(-3, 0)))
        for pi in p
    ]
    s = LcemeSystem(rounds=int(rng.integers(10, 200)), local_steps=H)
    D = lceme.optimal_assignment(s, clients)
    for i, c in enumerate(clients):
        lb = lceme.lower_bound(s, c)
        assert D[i] >= lb
        num = minimize_scalar(lambda d: lceme.server_objective(s, [c], [d]), bounds=(lb, 100 * D[i] + 10),  # noqa: B023 - called within this iteration
                              method="bounded", options={"xatol": 1e-9 * D[i]}).x
        assert num == pytest.approx(D[i], rel=1e-4)
        if lceme.unconstrained_optimum(s, c) > lb:
            assert lceme.phi(s, c, D[i]) == pytest.approx(1.0, rel=1e-9)
        # comparative statics (Remark 4)
        bigger = [c.model_copy(update={"sigma2": c.sigma2 * 1.5}), c.model_copy(update={"c_p": c.c_p / 1.5})]
        for b in bigger:
            assert lceme.optimal_assignment(s, [b])[0] >= D[i]
    ints = lceme.integer_assignment(s, clients)
    for c, d, k in zip(clients, D, ints):
        assert k in (math.floor(d), math.ceil(d)) or k == math.ceil(lceme.lower_bound(s, c))
        assert k >= lceme.lower_bound(s, c)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1.01, 3.0))
def test_truthful_and_individually_rational_on_grid(seed, slack):
    """With D'_i >= corrected LB, truthful play (e=1, D=D', gamma=1) is the argmax of the client's
    payoff over e in {0,1}, D in [0.2 D', 3 D'] and gamma in [0, 2.5], and it is worth exactly 0."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    p = rng.dirichlet(np.ones(n))
    clients = [
        LcemeClient(p=float(pi), sigma2=float(rng.uniform(1, 100)), c_p=float(10 ** rng.uniform(-7, -4)),
                    c_l=float(10 ** rng.uniform(-3, 0)), d=float(rng.uniform(0, 0.1)))
        for pi in p
    ]
    s = LcemeSystem(rounds=int(rng.integers(10, 200)), local_steps=int(rng.integers(1, 4)),
                    mu=float(rng.uniform(0.05, 0.5)), eta=float(rng.uniform(0.01, 0.5)), beta=float(rng.uniform(0.5, 5)),
                    G2=float(rng.uniform(0.1, 5)))
    i = int(rng.integers(0, n))
    D = lceme.optimal_assignment(s, clients)
    D[i] = slack * lceme.lower_bound(s, clients[i])
    scale = lceme.omega(s, clients, i, D) + clients[i].c_l
    truthful = lceme.client_payoff(s, clients, i, D, 1, D[i], 1.0)
    assert truthful == pytest.approx(0.0, abs=1e-9 * scale)  # IR with equality
    best = max(
        (lceme.client_payoff(s, clients, i, D, e, d, g), e, d, g)
        for e in (0, 1)
        for d in np.append(np.linspace(0.2 * D[i], 3 * D[i], 57), D[i])
        for g in np.linspace(0, 2.5, 26)
    )
    assert best[0] <= truthful + 1e-9 * scale
    assert (best[1], best[3]) == (1, 1.0) and best[2] == pytest.approx(D[i])


def test_test_sample_index_and_clamp():
    idx = [lceme.test_sample_index(seed, 450) for seed in range(200)]
    assert all(0 <= k < 450 for k in idx) and len(set(idx)) > 100
    assert lceme.test_sample_index(7, 450) == lceme.test_sample_index(7, 450)
    for bad in ((-1, 10), (2**256, 10), (1, 0)):
        with pytest.raises(ValueError):
            lceme.test_sample_index(*bad)
    assert lceme.payable(-3.0) == 0.0 and lceme.payable(2.5) == 2.5
    with pytest.raises(ValueError):
        lceme.reward(SYS, TEN, 0, [50.0] * 10, -1.0)


def test_clamp_policy_cost_heavy_tailed_single_sample_loss():
    """The negative-reward policy (clamp at 0) breaks the exact truthfulness argument: with a
    heavy-tailed single-sample loss, shirking (e = 0) raises the expected loss by A p beta, but part of
    that rise falls where the reward is already clamped to 0, so the client saves c_l and pays less
    than c_l for it. Without the clamp (the paper's linear reward) shirking does not pay."""
    D = lceme.optimal_assignment(SYS, TEN)
    b = lceme.truthful_bound(SYS, TEN, D)
    inc = lceme.a_factor(SYS) * 0.1 * SYS.beta  # e_i = 0 raises the expected loss by this (H = 1, gamma = 1)
    lo, hi = 0.5, 200.0  # a two-point single-sample loss with the right means
    q_truth = (b - lo) / (hi - lo)
    q_shirk = (b + inc - lo) / (hi - lo)
    c_l = TEN[0].c_l

    def payoff(q, e, clamp):
        return lceme.expected_payment(SYS, TEN, 0, D, [lo, hi], [1 - q, q], clamp=clamp) - c_l * e - SYS.rounds * TEN[0].c_p * D[0]

    assert payoff(q_truth, 1, clamp=False) == pytest.approx(0.0, abs=1e-9)  # the linear reward: IR, truthful
    assert payoff(q_shirk, 0, clamp=False) < payoff(q_truth, 1, clamp=False)
    assert payoff(q_shirk, 0, clamp=True) > payoff(q_truth, 1, clamp=True) + 1e-3  # clamped: shirking pays
    # and the clamp is paid for by the station: the truthful client's expected payoff is no longer 0
    assert payoff(q_truth, 1, clamp=True) > 1.0

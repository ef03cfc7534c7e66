"""iFedCrowd (seed 000): the notes' test vector, closed forms, best responses and the paper's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar

from hcfl.edge import ifedcrowd as ifc
from hcfl.edge.ifedcrowd import ClientCost, Rates

MANY = settings(max_examples=60, deadline=None)
HOMOGENEOUS = [ClientCost(gamma=4, delta=3, t_min=1)] * 10


def test_homogeneous_test_vector():
    """Notes §2(f): n=10, gamma=4, delta=3, T=1, alpha=80, beta=50, s=0."""
    r = ifc.optimal_rates(HOMOGENEOUS, 80, 50)
    assert r.r1 == pytest.approx(6.2686, abs=1e-4)
    assert r.r2 == pytest.approx(3.9339, abs=1e-4)
    assert ifc.server_utility(r, HOMOGENEOUS, 80, 50) == pytest.approx(13.178, abs=1e-3)
    br = ifc.best_response(r, HOMOGENEOUS[0])
    assert (br.accuracy, br.freshness, br.time) == (pytest.approx(0.7632, abs=1e-4), pytest.approx(0.0903, abs=1e-4), 1)
    # individual rationality is NOT guaranteed by the paper: the worker's utility is negative here
    assert ifc.client_utility(r, HOMOGENEOUS[0], br) == pytest.approx(-0.172, abs=1e-3)
    # x* = r1/(gamma T) = 1 + W(1)
    assert r.r1 / 4 == pytest.approx(1.5671, abs=1e-4)


def test_closed_forms_match_the_optimiser():
    r = ifc.optimal_rates(HOMOGENEOUS, 80, 50)
    assert r.r1 == pytest.approx(ifc.homogeneous_r1(80, 10, 4, 1), abs=1e-6)
    assert r.r2 == pytest.approx(ifc.closed_form_r2(50, [3] * 10), abs=1e-6)
    # heterogeneous delta, no clipping (r2* > max delta): the delta-bar closed form
    rng = np.random.default_rng(0)
    clients = [ClientCost(4, float(d), 1) for d in rng.uniform(2, 3, 10)]
    r2 = ifc.optimal_rates(clients, 80, 50).r2
    assert r2 > max(c.delta for c in clients)
    assert r2 == pytest.approx(ifc.closed_form_r2(50, [c.delta for c in clients]), abs=1e-6)


def test_scaling_in_t_min():
    """Notes §2(d): multiplying every T_min by c multiplies r1* by c."""
    scaled = [ClientCost(4, 3, 2.5)] * 10
    assert ifc.optimal_rates(scaled, 80, 50).r1 == pytest.approx(2.5 * ifc.optimal_rates(HOMOGENEOUS, 80, 50).r1, rel=1e-6)


def test_n5_interior_optimum_falls_outside_the_box_and_is_clipped():
    five = [ClientCost(4, 3, 1)] * 5
    assert ifc.homogeneous_r1(80, 5, 4, 1) == pytest.approx(12.48, abs=1e-2)
    r = ifc.optimal_rates(five, 80, 50)
    assert r.r1 == pytest.approx((1 + math.log(2)) * 4, abs=1e-6)
    assert ifc.best_response(r, five[0]).accuracy == pytest.approx(1.0)


costs = st.builds(
    ClientCost,
    gamma=st.floats(0.5, 6),
    delta=st.floats(0.2, 5),
    t_min=st.floats(0.5, 3),
)


@settings(max_examples=30, deadline=None)
@given(costs, st.floats(0.0, 1.0), st.floats(1.0, 4.0))
def test_best_response_equals_numerical_maximisation(c, x, q):
    """r1 anywhere from below to above the client's feasible interval, r2 = q * delta."""
    rates = Rates(c.gamma * c.t_min * (0.8 + 1.2 * x), c.delta * q)
    br = ifc.best_response(rates, c)

    def neg_u(z):
        a, f, t = z
        return -ifc.client_utility(rates, c, ifc.Response(a, f, t))

    f_hi = 3 * math.log(max(q, 1.0) + 1) / c.delta + 1
    res = minimize(
        neg_u, x0=[0.5, f_hi / 4, 1.5 * c.t_min], method="L-BFGS-B",
        bounds=[(0, 1), (0, f_hi), (c.t_min, 5 * c.t_min)], options={"ftol": 1e-14, "gtol": 1e-10},
    )
    u_closed = ifc.client_utility(rates, c, br)
    assert u_closed >= -res.fun - 1e-7
    assert br.time == c.t_min
    # u is separable in A and F at T = T_min and strictly concave in each: 1-D maximisers land on it
    a_num = minimize_scalar(lambda a: neg_u([a, 0.0, c.t_min]), bounds=(0, 1), method="bounded", options={"xatol": 1e-10}).x
    f_num = minimize_scalar(lambda f: neg_u([0.0, f, c.t_min]), bounds=(0, f_hi), method="bounded", options={"xatol": 1e-10}).x
    assert a_num == pytest.approx(br.accuracy, abs=1e-4)
    assert f_num == pytest.approx(br.freshness, abs=1e-4)


@MANY
@given(costs, st.floats(0.01, 0.99), st.floats(1.0, 5.0))
def test_interior_best_response_foc_and_closed_form_utility(c, x, q):
    rates = Rates(c.gamma * c.t_min * (1 + x * math.log(2)), c.delta * q)
    br = ifc.best_response(rates, c)
    a, f, t = br.accuracy, br.freshness, br.time
    # first-order conditions (Eq. 15) vanish
    assert -c.gamma * math.log1p(a) - c.gamma + rates.r1 / t == pytest.approx(0, abs=1e-9)
    assert -c.delta * math.exp(c.delta * f) + rates.r2 == pytest.approx(0, abs=1e-9 * rates.r2)
    assert ifc.client_utility(rates, c, br) == pytest.approx(ifc.best_response_utility_closed_form(rates, c), abs=1e-9)


@MANY
@given(costs, st.floats(0.01, 0.99), st.floats(1.0, 5.0))
def test_comparative_statics(c, x, q):
    rates = Rates(c.gamma * c.t_min * (1 + x * math.log(2)), c.delta * q)
    br = ifc.best_response(rates, c)
    up_r = ifc.best_response(Rates(rates.r1 * 1.01, rates.r2 * 1.01), c)
    assert up_r.accuracy >= br.accuracy and up_r.freshness >= br.freshness
    costlier = ifc.best_response(rates, ClientCost(c.gamma * 1.01, c.delta * 1.01, c.t_min * 1.01))
    assert costlier.accuracy <= br.accuracy and costlier.freshness <= br.freshness


def _numeric_d2(f, x, h=1e-4):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h**2


def test_eq25_sign_error():
    """Paper error 1: Eq. (25) prints +alpha*T; U is not concave in r1 when alpha*T > n(r1 + 2 gamma T)."""
    clients = HOMOGENEOUS
    for alpha, r1 in ((80, 4.5), (80, 6.0), (200, 4.5), (300, 5.0)):
        num = _numeric_d2(lambda r: ifc._u1(r, clients, alpha), r1)  # noqa: B023 - called within this iteration
        assert num == pytest.approx(ifc.d2U_dr1_corrected(r1, clients, alpha), rel=1e-4)
    # with alpha = 200 the true curvature is positive; the printed formula claims it is negative
    assert _numeric_d2(lambda r: ifc._u1(r, clients, 200), 4.5) > 0
    assert ifc.d2U_dr1_corrected(4.5, clients, 200) > 0 > ifc.d2U_dr1_printed(4.5, clients, 200)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_leader_optimality(n, seed):
    rng = np.random.default_rng(seed)
    clients = [ClientCost(float(g), float(d), 1.0) for g, d in zip(rng.uniform(1, 5, n), rng.uniform(1, 2, n))]
    r = ifc.optimal_rates(clients, 80, 50)
    u = ifc.server_utility(r, clients, 80, 50)
    assert u >= ifc.server_utility(ifc.max_rates(clients), clients, 80, 50) - 1e-9
    for _ in range(20):
        assert u >= ifc.server_utility(ifc.random_rates(clients, rng), clients, 80, 50) - 1e-9
    # MAX gives every worker at least what it gets at r* (u_k rises with both rates)
    m = ifc.max_rates(clients)
    for c in clients:
        assert ifc.client_utility(m, c, ifc.best_response(m, c)) >= ifc.client_utility(r, c, ifc.best_response(r, c)) - 1e-12


def test_freshness_from_timestamps():
    assert ifc.freshness(100, [10, 90]) == pytest.approx(0.1)
    assert ifc.freshness(100, [10, 90, 95]) > ifc.freshness(100, [10, 90])  # a newer sample raises F
    assert ifc.freshness(200, [10, 90]) == pytest.approx(1 / 110)  # no new data: F decays as 1/age
    assert ifc.freshness(100, [100]) == 1.0  # age 0 counts as AGE_FLOOR = 1
    with pytest.raises(ValueError, match="later than the upload"):
        ifc.freshness(100, [50, 101])
    for bad in ([], [-1], [1.5], [True]):
        with pytest.raises(ValueError):
            ifc.freshness(100, bad)


def test_measured_payoffs_and_bad_inputs():
    r = Rates(6.0, 4.0)
    assert ifc.measured_payoffs(r, [0.5], [2.0], [0.25]) == [pytest.approx(6 * 0.5 / 2 + 4 * 0.25)]
    for a, t, f in ((1.5, 1, 0), (0.5, 0, 0), (0.5, 1, -1), (0.5, math.inf, 0), (0.5, 1, math.nan)):
        with pytest.raises(ValueError):
            ifc.measured_payoffs(r, [a], [t], [f])
    with pytest.raises(ValueError):
        ifc.best_response(Rates(0, 1), HOMOGENEOUS[0])
    with pytest.raises(ValueError):
        ClientCost(gamma=0, delta=1)

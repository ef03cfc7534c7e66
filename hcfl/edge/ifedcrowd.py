"""iFedCrowd (seed 000): a Stackelberg game with the base station as leader and its edge clients as
followers. Formulas and their checked corrections: ../shared/notes/companion-papers-000-001.md.

Leader: announces uniform rates r = (r1, r2) (accuracy per unit time, freshness).
Client k (private gamma_k, delta_k, T_min_k; here taken from sealed claims, `hcfl.edge.claims`):
    u_k = r1 A/T + r2 F - gamma (1+A) log(1+A) - exp(delta F) - s                     (Eq. 6)
Best response (Theorem 1, with the notes' clipping policy because the feasible box can be empty):
    T* = T_min,   A* = clip(exp(r1/(gamma T_min) - 1) - 1, 0, 1),   F* = max(0, log(r2/delta)/delta)
Server utility (Eq. 7, literal: averaged benefit, summed payment):
    U(r) = (1/n) sum(alpha A* + beta F*) - max T* - sum(r1 A*/T* + r2 F*)
U is separable (U1(r1) + U2(r2) - max T), so each rate is a 1-D maximisation over its box. U is NOT
concave in r1 in general (Eq. 25's printed sign of alpha is wrong; `d2U_dr1_corrected` is the right
one), so the maximiser scans a grid and refines the best cell with a bounded scalar search.

Payout after training (Eq. 1), from measured quantities: v_k = r1 A_k / T_k + r2 F_k, with
F_k = 1 / age of the newest sample (`freshness`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import lambertw

LN2 = math.log(2.0)
# The top of the r2 box is R2_MAX_FACTOR * max_k delta_k: there the costliest client's freshness
# F* = 1/delta_max and its freshness term r2 F - exp(delta F) is exactly 0 (MAX's r2, notes §3).
R2_MAX_FACTOR = math.e
GRID_POINTS = 401


@dataclass(frozen=True)
class ClientCost:
    """A client's cost parameters (Eqs. 4-5) and its minimum completion time."""

    gamma: float  # computation cost, > 0
    delta: float  # data-collection cost, > 0
    t_min: float = 1.0  # minimum completion time, > 0

    def __post_init__(self) -> None:
        for name in ("gamma", "delta", "t_min"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")


@dataclass(frozen=True)
class Rates:
    r1: float
    r2: float


@dataclass(frozen=True)
class Response:
    accuracy: float  # A
    freshness: float  # F
    time: float  # T


def _check_rate(name: str, r: float) -> None:
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"{name} must be finite and > 0, got {r!r}")


def best_response(rates: Rates, c: ClientCost) -> Response:
    """Theorem 1 with clipping: the unique maximiser of u_k over A in [0,1], F >= 0, T >= T_min."""
    _check_rate("r1", rates.r1)
    _check_rate("r2", rates.r2)
    h = rates.r1 / (c.gamma * c.t_min) - 1.0
    a = 0.0 if h <= 0 else 1.0 if h >= LN2 else math.expm1(h)
    f = max(0.0, math.log(rates.r2 / c.delta) / c.delta)
    return Response(min(max(a, 0.0), 1.0), f, c.t_min)


def client_cost(c: ClientCost, accuracy: float, freshness: float, s: float = 0.0) -> float:
    """C_k = gamma (1+A) log(1+A) + exp(delta F) + s (Eqs. 3-5)."""
    return c.gamma * (1 + accuracy) * math.log1p(accuracy) + math.exp(c.delta * freshness) + s


def reward(rates: Rates, accuracy: float, freshness: float, time: float) -> float:
    """v_k = r1 A / T + r2 F (Eq. 1)."""
    if not time > 0:
        raise ValueError(f"completion time must be > 0, got {time!r}")
    return rates.r1 * accuracy / time + rates.r2 * freshness


def client_utility(rates: Rates, c: ClientCost, resp: Response, s: float = 0.0) -> float:
    """u_k (Eq. 6)."""
    return reward(rates, resp.accuracy, resp.freshness, resp.time) - client_cost(c, resp.accuracy, resp.freshness, s)


def best_response_utility_closed_form(rates: Rates, c: ClientCost, s: float = 0.0) -> float:
    """Notes §2(e), valid without clipping: gamma e^h - r1/T + (r2/delta)(log(r2/delta) - 1) - s."""
    h = rates.r1 / (c.gamma * c.t_min) - 1.0
    q = rates.r2 / c.delta
    return c.gamma * math.exp(h) - rates.r1 / c.t_min + q * (math.log(q) - 1.0) - s


def _u1(r1: float, clients: Sequence[ClientCost], alpha: float) -> float:
    n = len(clients)
    total = 0.0
    for c in clients:
        a = best_response(Rates(r1, 1.0), c).accuracy
        total += alpha * a / n - r1 * a / c.t_min
    return total


def _u2(r2: float, clients: Sequence[ClientCost], beta: float) -> float:
    n = len(clients)
    total = 0.0
    for c in clients:
        f = best_response(Rates(1.0, r2), c).freshness
        total += beta * f / n - r2 * f
    return total


def server_utility(rates: Rates, clients: Sequence[ClientCost], alpha: float, beta: float) -> float:
    """U(r) with every client at its best response (Eq. 22)."""
    _check_clients(clients)
    return _u1(rates.r1, clients, alpha) + _u2(rates.r2, clients, beta) - max(c.t_min for c in clients)


def mean_worker_utility(rates: Rates, clients: Sequence[ClientCost], s: float = 0.0) -> float:
    return float(np.mean([client_utility(rates, c, best_response(rates, c), s) for c in clients]))


@dataclass(frozen=True)
class RateBox:
    r1_lo: float
    r1_hi: float
    r2_lo: float
    r2_hi: float


def rate_box(clients: Sequence[ClientCost]) -> RateBox:
    """r1 in [min gamma T_min, (1 + ln 2) max gamma T_min] (Eq. 20 widened to every client's interval),
    r2 in [min delta, R2_MAX_FACTOR * max delta]. MAX announces the top corner."""
    _check_clients(clients)
    gt = [c.gamma * c.t_min for c in clients]
    ds = [c.delta for c in clients]
    return RateBox(min(gt), (1 + LN2) * max(gt), min(ds), R2_MAX_FACTOR * max(ds))


def _maximise(f, lo: float, hi: float) -> float:
    """Global maximiser of a 1-D function on [lo, hi]: grid scan, then bounded refinement."""
    if hi <= lo:
        return lo
    xs = np.linspace(lo, hi, GRID_POINTS)
    vals = [f(float(x)) for x in xs]
    k = int(np.argmax(vals))
    a, b = float(xs[max(k - 1, 0)]), float(xs[min(k + 1, len(xs) - 1)])
    res = minimize_scalar(lambda x: -f(x), bounds=(a, b), method="bounded", options={"xatol": 1e-10})
    best = float(res.x) if -res.fun >= vals[k] else float(xs[k])
    return best


def optimal_rates(clients: Sequence[ClientCost], alpha: float, beta: float, box: RateBox | None = None) -> Rates:
    """The leader's optimum r* over the box (separable: r1 and r2 independently)."""
    _check_clients(clients)
    if not (alpha > 0 and beta > 0):
        raise ValueError("alpha and beta must be > 0")
    box = box or rate_box(clients)
    r1 = _maximise(lambda r: _u1(r, clients, alpha), box.r1_lo, box.r1_hi)
    r2 = _maximise(lambda r: _u2(r, clients, beta), box.r2_lo, box.r2_hi)
    return Rates(r1, r2)


def max_rates(clients: Sequence[ClientCost]) -> Rates:
    """The MAX baseline: the top corner of the rate box."""
    box = rate_box(clients)
    return Rates(box.r1_hi, box.r2_hi)


def random_rates(clients: Sequence[ClientCost], rng: np.random.Generator) -> Rates:
    """The Random baseline: rates uniform in the rate box."""
    box = rate_box(clients)
    return Rates(float(rng.uniform(box.r1_lo, box.r1_hi)), float(rng.uniform(box.r2_lo, box.r2_hi)))


# --- closed forms (notes §2(b), (c)) and the corrected second derivative (Eq. 25) ---------------------


def homogeneous_r1(alpha: float, n: int, gamma: float, t_min: float) -> float:
    """Unconstrained r1* = T (alpha/n - gamma + gamma W(exp(2 - alpha/(n gamma)))) (all clients equal)."""
    w = float(np.real(lambertw(math.exp(2 - alpha / (n * gamma)))))
    return t_min * (alpha / n - gamma + gamma * w)


def closed_form_r2(beta: float, deltas: Sequence[float]) -> float:
    """Unclipped r2* = (beta/n) / W(beta e / (n delta_bar)), log delta_bar = sum(log d / d) / sum(1/d)."""
    n = len(deltas)
    log_bar = sum(math.log(d) / d for d in deltas) / sum(1 / d for d in deltas)
    return (beta / n) / float(np.real(lambertw(beta * math.e / (n * math.exp(log_bar)))))


def d2U_dr1_corrected(r1: float, clients: Sequence[ClientCost], alpha: float) -> float:
    """-sum (n r1 + 2 n gamma T - alpha T) e^h / (n gamma^2 T^3): the notes' fix of Eq. (25) (interior)."""
    n = len(clients)
    return -sum(
        (n * r1 + 2 * n * c.gamma * c.t_min - alpha * c.t_min) * math.exp(r1 / (c.gamma * c.t_min) - 1)
        / (n * c.gamma**2 * c.t_min**3)
        for c in clients
    )


def d2U_dr1_printed(r1: float, clients: Sequence[ClientCost], alpha: float) -> float:
    """Eq. (25) as printed (+alpha T inside the bracket): always negative, which is wrong."""
    n = len(clients)
    return -sum(
        (n * r1 + 2 * n * c.gamma * c.t_min + alpha * c.t_min) * math.exp(r1 / (c.gamma * c.t_min) - 1)
        / (n * c.gamma**2 * c.t_min**3)
        for c in clients
    )


# --- measured payout ----------------------------------------------------------------------------------

AGE_FLOOR = 1  # an age of 0 (sample generated in the upload's own time unit) counts as 1 unit


def freshness(upload_time: int, generation_times: Sequence[int]) -> float:
    """F = 1 / (t - g), g = the newest sample's generation time (Eq. 2), in the timestamps' unit
    (seconds). A generation time later than the upload is rejected; an age of 0 counts as AGE_FLOOR."""
    if not generation_times:
        raise ValueError("no sample timestamps: freshness is undefined")
    for g in generation_times:
        if isinstance(g, bool) or not isinstance(g, int) or g < 0:
            raise ValueError(f"generation timestamps must be non-negative ints, got {g!r}")
    newest = max(generation_times)
    if newest > upload_time:
        raise ValueError(
            f"a sample's generation time {newest} is later than the upload time {upload_time}: rejected"
        )
    return 1.0 / max(upload_time - newest, AGE_FLOOR)


def measured_payoffs(rates: Rates, accuracy: Sequence[float], time: Sequence[float], fresh: Sequence[float]) -> list[float]:
    """v_k for every client from measured A_k in [0,1], T_k > 0 and F_k >= 0."""
    if not (len(accuracy) == len(time) == len(fresh)):
        raise ValueError("accuracy, time and freshness need one entry per client")
    out = []
    for k, (a, t, f) in enumerate(zip(accuracy, time, fresh)):
        if not (0.0 <= a <= 1.0):
            raise ValueError(f"client {k}: accuracy must be in [0, 1], got {a!r}")
        if not (math.isfinite(f) and f >= 0):
            raise ValueError(f"client {k}: freshness must be finite and >= 0, got {f!r}")
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"client {k}: completion time must be finite and > 0, got {t!r}")
        out.append(reward(rates, a, f, t))
    return out


def _check_clients(clients: Sequence[ClientCost]) -> None:
    if not clients:
        raise ValueError("the game needs at least one client")

"""LCEME (seed 001): labeling- and computation-effort elicitation with truthful model reporting.
Formulas and the paper's errors: ../shared/notes/companion-papers-000-001.md, paper 001 §2-3.

Before training the station announces, per client i, the assignment D'_i and the linear reward

    r_i = Omega_i - Phi_i * f(w_T, xi) + c_l^i
    Phi_i   = D'_i^2 c_p^i T / (A sigma_i^2 p_i (p_i + 2(H-1)^2))
    Omega_i = Phi_i * Bound(truthful, D') + T c_p^i D'_i

where A = 2 L eta (1 - (1 - mu eta)^{TH}) / mu and Bound is Theorem 1's right-hand side. xi is one test
sample whose index nobody can choose (`test_sample_index`, from a commit-reveal / block-hash seed).

Corrections applied (each one has a regression test in tests/edge):
- truthfulness needs D'_i >= LB_i = sigma_i sqrt(c_l (p_i + 2(H-1)^2) / (beta c_p T (1 + 2(H-1)^2)));
  the printed bound (`lower_bound_printed`) has an extra p_i and lets shirking pay;
- Theorem 4's first term is sigma_i sqrt(A p_i (p_i + 2(H-1)^2) / (c_p T)) (sigma^2 on both parts);
- the client's payoff is CONCAVE (not convex) in gamma_i and D_i.

Negative rewards: a single test sample can make r_i < 0. Policy (`payable`): clamp at 0 (the station
never collects from a client; there is no client escrow). Cost: the client's realised payment becomes
max(0, r_i), a convex function of the loss, so a client is insured against bad draws; the paper's
truthfulness argument uses E[r_i] linear in the expected loss and is exact only when
P(r_i < 0) = 0. With clamping, a deviation that raises the loss's spread can pay; the announced
parameters should keep Omega_i + c_l >= Phi_i * max_loss (e.g. by clipping f at a documented max).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

from eth_abi import encode
from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, Field

Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class LcemeSystem(BaseModel):
    """Constants of the loss bound (Assumptions 1-5) and of the training schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    L: Pos = 1.0  # smoothness
    mu: Pos = 0.1  # strong convexity
    eta: Pos = 0.05  # step size (<= 1/(2L))
    rounds: Annotated[int, Field(ge=1, le=10**6)] = 100  # T
    local_steps: Annotated[int, Field(ge=1, le=10**4)] = 1  # H
    G2: NonNeg = 1.0  # bound on E||grad F_i||^2
    beta: Pos = 2.0  # random-label gradient gap (Assumption 4)
    w0_dist2: NonNeg = 4.0  # E||w_0 - w*||^2


class LcemeClient(BaseModel):
    """One client: aggregation weight p_i (global: p_bs * p_i|bs), gradient variance sigma_i^2,
    heterogeneity d_i, and its cost parameters c_p^i (per sample per round) and c_l^i (labeling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    sigma2: Pos
    c_p: Pos
    c_l: NonNeg
    d: NonNeg = 0.0


def a_factor(s: LcemeSystem) -> float:
    """A = 2 L eta (1 - (1 - mu eta)^{TH}) / mu (the geometric double sum in closed form)."""
    return 2 * s.L * s.eta * (1 - (1 - s.mu * s.eta) ** (s.rounds * s.local_steps)) / s.mu


def a_factor_by_sum(s: LcemeSystem) -> float:
    """The double sum 2 L eta^2 sum_t sum_h (1 - mu eta)^{TH - (t-1)H - h}, term by term (for tests)."""
    q = 1 - s.mu * s.eta
    T, H = s.rounds, s.local_steps
    return 2 * s.L * s.eta**2 * sum(q ** (T * H - (t - 1) * H - h) for t in range(1, T + 1) for h in range(1, H + 1))


def bound(
    s: LcemeSystem,
    clients: Sequence[LcemeClient],
    e: Sequence[int],
    D: Sequence[float],
    gamma: Sequence[float],
) -> float:
    """Theorem 1's bound on E[F(w_T) - F(w*)] for labeling efforts e, mini-batches D and reporting
    coefficients gamma (one entry per client)."""
    if not (len(clients) == len(e) == len(D) == len(gamma)):
        raise ValueError("e, D and gamma need one entry per client")
    A = a_factor(s)
    H1 = (s.local_steps - 1) ** 2
    total = 0.0
    for c, ei, di, gi in zip(clients, e, D, gamma):
        if ei not in (0, 1) or not di > 0 or not gi >= 0:
            raise ValueError(f"need e in {{0,1}}, D > 0, gamma >= 0; got {ei}, {di}, {gi}")
        shirk = (1 - ei) * s.beta
        total += (
            c.p**2 * c.sigma2 / di
            + 6 * s.L * c.p * c.d
            + c.p * shirk
            + 2 * c.p * ((gi - 1) ** 2 + H1) * (s.G2 + c.sigma2 / di + shirk)
        )
    return s.L * (1 - s.mu * s.eta) ** (s.rounds * s.local_steps) * s.w0_dist2 + A * total


def truthful_bound(s: LcemeSystem, clients: Sequence[LcemeClient], D: Sequence[float]) -> float:
    n = len(clients)
    return bound(s, clients, [1] * n, D, [1.0] * n)


def phi(s: LcemeSystem, c: LcemeClient, d_assigned: float) -> float:
    """Phi(D'_i) = D'^2 c_p T / (A sigma^2 p (p + 2(H-1)^2)): makes D_i = D'_i optimal (Lemma 3)."""
    return d_assigned**2 * c.c_p * s.rounds / (a_factor(s) * c.sigma2 * c.p * (c.p + 2 * (s.local_steps - 1) ** 2))


def omega(s: LcemeSystem, clients: Sequence[LcemeClient], i: int, D: Sequence[float]) -> float:
    """Omega_i(D') = Phi_i * Bound(truthful, D') + T c_p^i D'_i."""
    return phi(s, clients[i], D[i]) * truthful_bound(s, clients, D) + s.rounds * clients[i].c_p * D[i]


def reward(s: LcemeSystem, clients: Sequence[LcemeClient], i: int, D: Sequence[float], loss: float) -> float:
    """r_i = Omega_i - Phi_i * f(w_T, xi) + c_l^i (may be negative; see `payable`)."""
    if not math.isfinite(loss) or loss < 0:
        raise ValueError(f"the test loss must be finite and >= 0, got {loss!r}")
    return omega(s, clients, i, D) - phi(s, clients[i], D[i]) * loss + clients[i].c_l


def payable(r: float) -> float:
    """The negative-reward policy: clamp at 0 (module docstring says what it costs)."""
    return max(0.0, r)


def expected_payment(
    s: LcemeSystem,
    clients: Sequence[LcemeClient],
    i: int,
    D: Sequence[float],
    losses: Sequence[float],
    probs: Sequence[float],
    *,
    max_loss: float = math.inf,
    clamp: bool = True,
) -> float:
    """E[payment_i] when the single-sample loss f(w_T, xi) takes `losses` with `probs`: the loss is
    clipped to `max_loss`, the reward clamped at 0 when `clamp`. Shows what the policy costs: unlike
    E[r_i], this is not linear in the expected loss."""
    if len(losses) != len(probs) or abs(sum(probs) - 1) > 1e-9 or min(probs) < 0:
        raise ValueError("probs must be a distribution over losses")
    out = 0.0
    for f, q in zip(losses, probs):
        r = reward(s, clients, i, D, min(f, max_loss))
        out += q * (payable(r) if clamp else r)
    return out


def lower_bound(s: LcemeSystem, c: LcemeClient) -> float:
    """Corrected truthfulness bound LB_i = sigma sqrt(c_l (p + 2(H-1)^2) / (beta c_p T (1 + 2(H-1)^2)))."""
    h1 = 2 * (s.local_steps - 1) ** 2
    return math.sqrt(c.sigma2) * math.sqrt(c.c_l * (c.p + h1) / (s.beta * c.c_p * s.rounds * (1 + h1)))


def lower_bound_printed(s: LcemeSystem, c: LcemeClient) -> float:
    """The paper's printed bound, with an extra p_i: NOT sufficient (kept for the regression test)."""
    h1 = 2 * (s.local_steps - 1) ** 2
    return math.sqrt(c.sigma2) * math.sqrt(c.c_l * c.p * (c.p + h1) / (s.beta * c.c_p * s.rounds * (1 + h1)))


def unconstrained_optimum(s: LcemeSystem, c: LcemeClient) -> float:
    """sigma sqrt(A p (p + 2(H-1)^2) / (c_p T)): Theorem 4's first term, corrected."""
    return math.sqrt(c.sigma2) * math.sqrt(a_factor(s) * c.p * (c.p + 2 * (s.local_steps - 1) ** 2) / (c.c_p * s.rounds))


def optimal_assignment(s: LcemeSystem, clients: Sequence[LcemeClient]) -> list[float]:
    """D_i* = max(unconstrained optimum, LB_i) (Theorem 4 as corrected)."""
    return [max(unconstrained_optimum(s, c), lower_bound(s, c)) for c in clients]


def server_objective(s: LcemeSystem, clients: Sequence[LcemeClient], D: Sequence[float]) -> float:
    """Expected loss bound + expected payments under truthful play (E[r_i] = c_l + T c_p D_i); the
    server minimises it (its expected payoff is minus this)."""
    return truthful_bound(s, clients, D) + sum(c.c_l + s.rounds * c.c_p * d for c, d in zip(clients, D))


def integer_assignment(s: LcemeSystem, clients: Sequence[LcemeClient]) -> list[int]:
    """Whole mini-batches: floor or ceil of D_i*, whichever has the smaller objective while >= LB_i."""
    out: list[int] = []
    for c, d in zip(clients, optimal_assignment(s, clients)):
        lb = lower_bound(s, c)
        cands = [k for k in {math.floor(d), math.ceil(d)} if k >= max(lb, 1)] or [max(math.ceil(lb), 1)]
        out.append(min(cands, key=lambda k: server_objective(s, [c], [k])))
    return out


def client_payoff(
    s: LcemeSystem,
    clients: Sequence[LcemeClient],
    i: int,
    D_assigned: Sequence[float],
    e_i: int,
    D_i: float,
    gamma_i: float,
    true_cost: LcemeClient | None = None,
) -> float:
    """u_hat_i: client i's approximate expected payoff when it plays (e_i, D_i, gamma_i), the others
    are truthful, the expected loss equals the bound, and the announced reward uses `clients`
    (claims). `true_cost` (default: the claim) gives the costs the client really bears."""
    n = len(clients)
    e = [1] * n
    D = list(D_assigned)
    g = [1.0] * n
    e[i], D[i], g[i] = e_i, D_i, gamma_i
    truth = true_cost or clients[i]
    expected_reward = reward(s, clients, i, D_assigned, bound(s, clients, e, D, g))
    return expected_reward - truth.c_l * e_i - s.rounds * truth.c_p * D_i


def test_sample_index(seed: int, n_test: int) -> int:
    """xi: keccak256(abi.encode(uint256 seed, uint256 nTest)) mod nTest. The seed must come from a
    source nobody controls (XOR of revealed salts, or a later block hash); 2^256 mod n bias is nil."""
    if not 0 <= seed < 2**256:
        raise ValueError("seed must be a uint256")
    if not 1 <= n_test < 2**256:
        raise ValueError("the test set must hold at least one sample")
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [seed, n_test])), "big") % n_test

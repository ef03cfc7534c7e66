"""`hcfl experiment misreport-gain --rules v2`: the misreport-gain experiment on the v2 rules, for every
payment rule x share rule, so that what Proportional (the IR option) costs in truthfulness is measured.

Same method as v1 (`hcfl.experiments.misreport_gain`): N random rounds (500; 60 with --quick;
`hcfl.experiments._v2.random_round`, deposits U[1000, 10000] Gwei so that no claim cap binds on the
grid), one random participant tries every claim scaling f in GRID while everyone else is truthful; gain
= best misreport's true utility - truthful true utility, in % of its largest true claim. Under
paper-random the utility is the EXPECTED one over C ~ U[Σk, Cmax] (what a risk-neutral participant
maximizes before the salts are known).
"""
from __future__ import annotations

import logging
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hcfl.experiments._common import GWEI, finish, gain_summary, result_header
from hcfl.experiments._v2 import PAYMENT_RULES, SHARE_RULES, expected_utility, random_round, settle_one, with_claims
from hcfl.experiments.misreport_gain import GRID, _plot, markdown_table

NAME = "misreport-gain-v2"
COMMAND = "hcfl experiment misreport-gain --rules v2"
log = logging.getLogger(__name__)


def variants() -> list[tuple[str, str, str]]:
    out = []
    for pay in PAYMENT_RULES:
        for share in SHARE_RULES:
            label = f"{pay}{' (expected C)' if pay == 'paper-random' else ''} / {share}"
            out.append((label, pay, share))
    return out


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 11) -> dict[str, Any]:
    out_dir = Path(out_dir)
    n = 60 if quick else 500
    rng = random.Random(seed)
    labels = [v[0] for v in variants()]
    gains: dict[str, list[float]] = {v: [] for v in labels}
    gains_gwei: dict[str, list[float]] = {v: [] for v in labels}
    exact_max: dict[str, Fraction] = {}
    roles: list[str] = []
    for _ in tqdm(range(n), desc=NAME, unit="round", leave=False):
        rnd = random_round(rng)
        p = rng.choice(rnd["participants"])
        truth = p["claims"]
        roles.append(p["role"])
        norm = max(truth)
        if norm == 0:
            continue
        for label, pay, share in variants():
            def utility(claims: list[int]) -> Fraction:
                return expected_utility(settle_one(with_claims(rnd, p["id"], claims), pay, share), p["id"], truth)  # noqa: B023 - called within this iteration

            honest = utility(truth)
            best = max(utility([int(v * f) for v in truth]) for f in GRID)
            gain = best - honest
            exact_max[label] = max(exact_max.get(label, gain), gain)
            gains[label].append(float(100 * gain / norm))
            gains_gwei[label].append(float(gain / GWEI))

    summary = {v: gain_summary(gains[v], gains_gwei[v], exact_max[v]) for v in labels}
    result: dict[str, Any] = {
        **result_header(NAME, seed, quick, COMMAND, GRID),
        "setup": {
            "owners": "2-8", "stations": "2-8", "proposals": "2-5",
            "owner_value_gwei": "uniform [0, 200]", "station_cost_gwei": "uniform [0, 100]",
            "posted_price_gwei": "uniform [n_stations*50, n_owners*100]", "deposit_gwei": "uniform [1000, 10000]",
            "shares": "the same rule for owners and stations", "pools": "empty (new campaign)",
            "gain": "best grid misreport's true utility - truthful true utility, % of max true claim",
        },
        "roles": {"owner": roles.count("owner"), "station": roles.count("station")},
        "summary": summary,
        "gains_pct": gains,
        "markdown": markdown_table(summary),
    }
    return finish(log, out_dir, NAME, result, lambda: _plot(out_dir, gains, NAME))

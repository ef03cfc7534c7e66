"""Fig. 3: accumulated true utility of one owner, honest vs 30% and 50% dishonest.

Set-up (paper section V-A, with the details it leaves open fixed here):
- 10 owners, 10 stations, K = 5 proposals, 100 auction rounds (50 with --quick); each round is an
  independent auction with empty recycle pools, equal shares and no deposit caps.
- True values are drawn every round, uniformly in [0, 200] Gwei for owners (mean 100) and in
  [0, 100] Gwei for stations (mean 50), independently per participant and proposal.
- Posted prices (rule `posted`): uniform in [500, 1000] Gwei per proposal, i.e. between the mean total
  cost and the mean total value.
- The tracked owner is owner 0. "p% dishonest": every round, with probability p, it claims a fake
  value: each of its K claims is its true value times an independent factor uniform in [0, 2].
  All other participants are honest.
- Common random numbers: the true values, prices, seed, the coin and the fake factors are drawn once
  per round and shared by the three strategies (the 50% liar lies in a superset of the 30% liar's rounds,
  with the same fakes), so the curves differ only by the tracked owner's strategy.
- True utility per round = true value of the selected model - payment - tax (-tax when "none").
  Under `paper-random` C is random; the realized curve uses the round's seed, and the expected curve
  replaces the payment by its expectation over C (uniform in [Σk, Cmax]) — that is what a risk-neutral
  owner maximizes, and where a misreport's effect on the interval shows.
"""
from __future__ import annotations

import argparse
import logging
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hcfl.experiments._common import GWEI, add_standard_arguments, gwei, log_written, pyplot, save_figure, write_json
from hcfl.mechanism import Instance, settle
from hcfl.mechanism.utility import true_utility

NAME = "truthfulness"
log = logging.getLogger(__name__)

N_OWNERS = 10
N_STATIONS = 10
K = 5
OWNER_MEAN_GWEI = 100
STATION_MEAN_GWEI = 50
STRATEGIES: dict[str, float] = {"honest": 0.0, "dishonest-30%": 0.3, "dishonest-50%": 0.5}
RULES = ("posted", "paper-random")
TRACKED = "o0"


def _draw(rng: random.Random, mean_gwei: int) -> int:
    return rng.randint(0, 2 * mean_gwei * GWEI)


def _instance(owner_values, station_costs, rule: str, prices: list[int], seed: int) -> Instance:
    return Instance.model_validate(
        {
            "owners": [{"id": f"o{i}", "values": v} for i, v in enumerate(owner_values)],
            "stations": [{"id": f"s{j}", "costs": c} for j, c in enumerate(station_costs)],
            "payment_rule": rule,
            "posted_prices": prices,
            "seed": seed,
        }
    )


def expected_utility(instance: Instance, pid: str, true_claims: list[int]) -> Fraction:
    """Owner's true utility with the payment replaced by its expectation over C ~ U[Σk, Cmax]
    (the share taken as C·w/W; the integer rounding is below one wei)."""
    st = settle(instance)
    tax = st.taxes.get(pid, 0)
    if st.selected is None:
        return Fraction(-tax)
    if instance.payment_rule != "paper-random":
        return Fraction(true_utility(instance, st, pid, true_claims))
    assert st.sum_costs is not None and st.c_max is not None
    expected_c = Fraction(st.sum_costs + st.c_max, 2)
    return true_claims[st.selected] - expected_c / len(instance.revealed_owners) - tax


def run_experiment(out_dir: str | Path, quick: bool = False, seed: int = 3) -> dict[str, Any]:
    out_dir = Path(out_dir)
    rounds = 50 if quick else 100
    rng = random.Random(seed)
    per_round: dict[str, dict[str, list[int]]] = {r: {s: [] for s in STRATEGIES} for r in RULES}
    expected: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    lied: dict[str, int] = {s: 0 for s in STRATEGIES}

    for _ in tqdm(range(rounds), desc=NAME, unit="round", leave=False):
        values = [[_draw(rng, OWNER_MEAN_GWEI) for _ in range(K)] for _ in range(N_OWNERS)]
        costs = [[_draw(rng, STATION_MEAN_GWEI) for _ in range(K)] for _ in range(N_STATIONS)]
        prices = [rng.randint(N_STATIONS * STATION_MEAN_GWEI * GWEI, N_OWNERS * OWNER_MEAN_GWEI * GWEI) for _ in range(K)]
        round_seed = rng.getrandbits(256)
        coin = rng.random()
        fakes = [rng.uniform(0.0, 2.0) for _ in range(K)]
        truth = values[0]
        for name, p in STRATEGIES.items():
            lies = coin < p
            lied[name] += lies
            claims = [int(v * f) for v, f in zip(truth, fakes)] if lies else truth
            for rule in RULES:
                inst = _instance([claims, *values[1:]], costs, rule, prices, round_seed)
                per_round[rule][name].append(true_utility(inst, settle(inst), TRACKED, truth))
                if rule == "paper-random":
                    expected[name].append(float(expected_utility(inst, TRACKED, truth)))

    def accumulate(xs: list[float]) -> list[float]:
        out, acc = [], 0.0
        for x in xs:
            acc += x
            out.append(acc)
        return out

    series = {
        "posted": {s: accumulate([gwei(u) for u in per_round["posted"][s]]) for s in STRATEGIES},
        "paper-random (realized C)": {s: accumulate([gwei(u) for u in per_round["paper-random"][s]]) for s in STRATEGIES},
        "paper-random (expected C)": {s: accumulate([gwei(u) for u in expected[s]]) for s in STRATEGIES},
    }
    final = {variant: {s: curve[s][-1] for s in STRATEGIES} for variant, curve in series.items()}
    ordering = {variant: sorted(STRATEGIES, key=lambda s: -vals[s]) for variant, vals in final.items()}
    honest_on_top = {variant: all(vals["honest"] >= vals[s] for s in STRATEGIES) for variant, vals in final.items()}
    posted_every_round = all(
        h >= d
        for s in STRATEGIES
        for h, d in zip(per_round["posted"]["honest"], per_round["posted"][s])
    )
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "setup": {
            "owners": N_OWNERS, "stations": N_STATIONS, "proposals": K, "rounds": rounds,
            "owner_value_gwei": f"uniform [0, {2 * OWNER_MEAN_GWEI}] (mean {OWNER_MEAN_GWEI})",
            "station_cost_gwei": f"uniform [0, {2 * STATION_MEAN_GWEI}] (mean {STATION_MEAN_GWEI})",
            "posted_price_gwei": f"uniform [{N_STATIONS * STATION_MEAN_GWEI}, {N_OWNERS * OWNER_MEAN_GWEI}]",
            "fake_claim": "true value x U[0, 2] per proposal, with the strategy's probability per round",
            "pools": "empty every round", "shares": "equal", "tracked": TRACKED,
        },
        "rounds_lied": lied,
        "unit": "Gwei",
        "series": series,
        "per_round_utility_wei": {rule: per_round[rule] for rule in RULES},
        "final": final,
        "final_ordering": ordering,
        "honest_on_top": honest_on_top,
        "posted_honest_weakly_on_top_every_round": posted_every_round,
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, series, rounds)
    for variant, order in ordering.items():
        log.info("%s: final %s", variant, ", ".join(f"{s} {final[variant][s]:.0f}" for s in order))
    log.info("posted: honest weakly on top in every round: %s", posted_every_round)
    log_written(log, json_path, png_path)
    return result


def _plot(out_dir: Path, series: dict[str, dict[str, list[float]]], rounds: int) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 4), sharey=True)
    xs = list(range(1, rounds + 1))
    for ax, (variant, curves) in zip(axes, series.items()):
        for name, style in zip(STRATEGIES, ("-", "--", ":")):
            ax.plot(xs, curves[name], style, label=name)
        ax.set_title(variant)
        ax.set_xlabel("Auction round")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Accumulated true utility (Gwei)")
    axes[0].legend()
    fig.suptitle("Fig. 3 — honest vs dishonest owner")
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=3)


def run(args: argparse.Namespace) -> int:
    run_experiment(args.out, quick=args.quick, seed=args.seed)
    return 0

"""Fig. 5: accumulated social utility, VCG vs selfish vs random, over 10 rounds.

Set-up (paper section V-C, with the details it leaves open fixed here):
- 10 owners, 10 stations, 10 labels (CIFAR-10 classes). Every round each owner gets a target label
  set: a common core of 1-2 labels shared by all owners (so the intersection is never empty, as the
  paper guarantees) plus every other label l with a per-round popularity π_l ~ U[0.1, 0.9].
- Proposals: one per owner, its own target set (K = 10).
- Per-label true values: owner i values each label of its own target uniformly in [0, 20] Gwei
  (mean 10); station j's cost per label is uniform in [0, 10] Gwei (mean 5). An owner's value of a
  model = sum of its values over the model's labels it targets; a station's cost = sum over all the
  model's labels. Everyone claims truthfully.
- Strategies: VCG (the mechanism's m*, "none" giving 0), selfish (train on the intersection of all
  owners' targets), random (a uniformly random proposal).
- Social utility of a target set y = (total true value − total true cost) × accuracy(y), as in the paper.
  Accuracy comes from `accuracy_fn`; the default is a MODEL, not a measurement: under a fixed training
  budget (the paper's 10 000 CIFAR-10 images) accuracy falls with the number of classes,
  acc(n) = 0.97 − 0.12·ln(n) (0.97 for one label, 0.69 for ten). Plug real FL accuracy in through
  `accuracy_fn(labels) -> float`.
Note that VCG maximizes Σ value − Σ cost, not the product with accuracy, so its lead over "selfish"
is measured here, not guaranteed by construction.
"""
from __future__ import annotations

import argparse
import logging
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hcfl.experiments._common import GWEI, add_standard_arguments, gwei, log_written, pyplot, save_figure, write_json
from hcfl.mechanism import Instance, settle

NAME = "social-utility"
log = logging.getLogger(__name__)

N_OWNERS = 10
N_STATIONS = 10
N_LABELS = 10
OWNER_LABEL_MEAN_GWEI = 10
STATION_LABEL_MEAN_GWEI = 5
STRATEGIES = ("VCG", "selfish", "random")

AccuracyFn = Callable[[frozenset[int]], float]


def model_accuracy(labels: frozenset[int]) -> float:
    """Modelled accuracy of a model trained on `labels` under a fixed budget (see module docs)."""
    n = len(labels)
    return 0.0 if n == 0 else max(0.0, 0.97 - 0.12 * math.log(n))


def draw_targets(rng: random.Random) -> list[frozenset[int]]:
    core = set(rng.sample(range(N_LABELS), rng.randint(1, 2)))
    popularity = {label: rng.uniform(0.1, 0.9) for label in range(N_LABELS) if label not in core}
    return [frozenset(core | {label for label, pi in popularity.items() if rng.random() < pi}) for _ in range(N_OWNERS)]


def run_experiment(
    out_dir: str | Path, quick: bool = False, seed: int = 5, accuracy_fn: AccuracyFn = model_accuracy
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    rounds = 10  # the paper's 10 rounds are cheap; --quick changes nothing here
    rng = random.Random(seed)
    pick_rng = random.Random(seed + 1)  # the random strategy's own stream
    per_round: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    chosen: dict[str, list[list[int]]] = {s: [] for s in STRATEGIES}

    for _ in tqdm(range(rounds), desc=NAME, unit="round", leave=False):
        targets = draw_targets(rng)
        owner_label_value = [
            {label: rng.randint(0, 2 * OWNER_LABEL_MEAN_GWEI * GWEI) for label in sorted(t)} for t in targets
        ]
        station_label_cost = [
            [rng.randint(0, 2 * STATION_LABEL_MEAN_GWEI * GWEI) for _ in range(N_LABELS)] for _ in range(N_STATIONS)
        ]

        def total_value(y: frozenset[int]) -> int:
            return sum(v for vals in owner_label_value for label, v in vals.items() if label in y)  # noqa: B023 - called within this iteration

        def total_cost(y: frozenset[int]) -> int:
            return sum(row[label] for row in station_label_cost for label in y)  # noqa: B023 - called within this iteration

        def social(y: frozenset[int] | None) -> float:
            if not y:
                return 0.0
            return gwei(total_value(y) - total_cost(y)) * accuracy_fn(y)

        proposals = targets
        inst = Instance.model_validate(
            {
                "owners": [
                    {"id": f"o{i}", "values": [sum(v for label, v in vals.items() if label in y) for y in proposals]}
                    for i, vals in enumerate(owner_label_value)
                ],
                "stations": [
                    {"id": f"s{j}", "costs": [sum(row[label] for label in y) for y in proposals]}
                    for j, row in enumerate(station_label_cost)
                ],
                "seed": 0,
            }
        )
        m = settle(inst).selected
        picks: dict[str, frozenset[int] | None] = {
            "VCG": None if m is None else proposals[m],
            "selfish": frozenset.intersection(*targets),
            "random": pick_rng.choice(proposals),
        }
        for s in STRATEGIES:
            per_round[s].append(social(picks[s]))
            chosen[s].append(sorted(picks[s] or ()))

    accumulated = {s: [sum(per_round[s][: i + 1]) for i in range(rounds)] for s in STRATEGIES}
    final = {s: accumulated[s][-1] for s in STRATEGIES}
    ordering = sorted(STRATEGIES, key=lambda s: -final[s])
    result: dict[str, Any] = {
        "experiment": NAME,
        "seed": seed,
        "quick": quick,
        "setup": {
            "owners": N_OWNERS, "stations": N_STATIONS, "labels": N_LABELS, "rounds": rounds,
            "owner_value_per_label_gwei": f"uniform [0, {2 * OWNER_LABEL_MEAN_GWEI}]",
            "station_cost_per_label_gwei": f"uniform [0, {2 * STATION_LABEL_MEAN_GWEI}]",
            "targets": "common core of 1-2 labels + each other label with popularity U[0.1, 0.9]",
            "accuracy": "model: acc(n) = 0.97 - 0.12 ln n (n = labels), unless accuracy_fn is given",
            "social_utility": "(total true value - total true cost) x accuracy",
        },
        "unit": "Gwei",
        "per_round": per_round,
        "accumulated": accumulated,
        "chosen_labels": chosen,
        "final": final,
        "final_ordering": ordering,
        "vcg_on_top": ordering[0] == "VCG",
        "vcg_on_top_every_round": all(
            accumulated["VCG"][i] >= max(accumulated[s][i] for s in STRATEGIES) for i in range(rounds)
        ),
    }
    json_path = write_json(out_dir, NAME, result)
    png_path = _plot(out_dir, accumulated, rounds)
    log.info("final accumulated social utility: %s", ", ".join(f"{s} {final[s]:.0f} Gwei" for s in ordering))
    log_written(log, json_path, png_path)
    return result


def _plot(out_dir: Path, accumulated: dict[str, list[float]], rounds: int) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = list(range(1, rounds + 1))
    for s, marker in zip(STRATEGIES, ("o", "s", "^")):
        ax.plot(xs, accumulated[s], marker=marker, label=s)
    ax.set_xlabel("Round")
    ax.set_ylabel("Accumulated social utility (Gwei)")
    ax.set_title("Fig. 5 — social utility (accuracy: modelled)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, out_dir, NAME)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_standard_arguments(parser, NAME, default_seed=5)


def run(args: argparse.Namespace) -> int:
    run_experiment(args.out, quick=args.quick, seed=args.seed)
    return 0

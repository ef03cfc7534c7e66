"""Fig. 4 of the paper: accuracy on the commonly wanted labels, VCG-selected target vs random.

Setup (section V-B): 10 model owners whose target label sets share a random common intersection
I, each then randomly expanded; proposal k is owner k's target. Owner i has a value v_il (integer
Gwei, mean 10) for every label l of its own target. The budget is fixed at B training samples, so a
proposal with k labels affords B/k samples per label; owners know this and value a proposal y by
the labels it shares with their target, discounted by the quality the budget buys:
    b_i(y) = round(q(|y|) * Σ_{l in y ∩ T_i} v_il),   q(k) = min(1, B / (k * n_full))
where n_full is the samples per label at which a label counts as fully served. Base stations
claim a cost per label of a proposal (mean 5 Gwei each: data is collected and labelled per class).
The auction selects the proposal with the largest surplus Σ b − Σ k. The baseline picks a proposal
uniformly at random; its curve is the exact expectation of that choice (every distinct proposal is
trained and the curves averaged, weighted by how many owners proposed it), and one seeded draw is
recorded for reference. The full run averages `trials` market draws (the paper reports averages).

Both arms get the same training budget: the same number of training samples, drawn from the pool
restricted to the chosen target's labels, split over the base stations' edge clients by a seeded
Dirichlet partition. Accuracy is measured on the test samples whose label is in I.

Selection and Clarke taxes come from `hcfl.mechanism.clarke` (the rule `hcfl settle` uses:
argmax of Σ values − Σ costs over the proposals and "none", first maximum wins); when that module
is absent the same selection rule is computed locally and taxes are left out. If "none" wins
(every proposal has negative surplus) the experiment records that and trains the best proposal
anyway, so the curve still exists.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from fl_worker.data import Dataset, DatasetNotFoundError, load_dataset, mask_from_labels
from fl_worker.hfl import HFLConfig, run_hfl, station_datasets
from fl_worker.local import TrainConfig, derive_seed
from fl_worker.models import ModelSpec
from fl_worker.partition import partition_dirichlet

log = logging.getLogger(__name__)


class CooperationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "digits"
    data_dir: str | None = None
    seed: int = 0
    owners: int = Field(default=10, ge=2)
    stations: int = Field(default=10, ge=1)
    clients_per_station: int = Field(default=3, ge=1)
    intersection_size: tuple[int, int] = (2, 3)  # drawn uniformly in [lo, hi]
    owner_value_range: tuple[int, int] = (5, 15)  # Gwei per wanted label, mean 10
    station_cost_range: tuple[int, int] = (1, 9)  # Gwei per label of a proposal, mean 5
    budget: int = Field(default=300, ge=1, description="training samples, equal for every arm")
    full_quality_samples: int = Field(default=100, ge=1, description="n_full: samples per label for q = 1")
    alpha: float = 1.0
    global_rounds: int = 50
    edge_rounds: int = 2
    local_epochs: int = 2
    batch_size: int = 16
    lr: float = 0.05
    arch: str | None = None  # default: cnn for 1-channel data, resnet for CIFAR-10
    # Tiny models gain nothing from intra-op threads, and on a busy 2-core machine two threads
    # spin against each other (measured 10x slower), so the experiment runs single-threaded.
    threads: int = Field(default=1, ge=1)
    trials: int = Field(default=3, ge=1, description="market draws averaged; trial t uses seed + t")


QUICK = {"stations": 3, "clients_per_station": 2, "global_rounds": 10, "edge_rounds": 1, "local_epochs": 2, "trials": 1}


class Market(BaseModel):
    intersection: list[int]
    targets: list[list[int]]
    owner_values: list[list[int]]  # [owner][label], 0 for labels outside the owner's target
    station_costs: list[list[int]]  # [station][label]

    def claims(self, budget: int, full_quality_samples: int) -> tuple[list[list[int]], list[list[int]]]:
        """values[owner][proposal] and costs[station][proposal], claimed truthfully."""
        quality = [min(1.0, budget / (len(t) * full_quality_samples)) for t in self.targets]
        values = [
            [int(round(q * sum(row[lab] for lab in t))) for t, q in zip(self.targets, quality)] for row in self.owner_values
        ]
        costs = [[sum(row[lab] for lab in t) for t in self.targets] for row in self.station_costs]
        return values, costs


def draw_market(config: CooperationConfig, num_classes: int, rng: np.random.Generator) -> Market:
    lo, hi = config.intersection_size
    common = sorted(rng.choice(num_classes, size=int(rng.integers(lo, hi + 1)), replace=False).tolist())
    rest = [lab for lab in range(num_classes) if lab not in common]
    targets = []
    for _ in range(config.owners):
        extra = rng.choice(rest, size=int(rng.integers(1, len(rest) + 1)), replace=False).tolist()
        targets.append(sorted(common + extra))
    # the commonly wanted labels are the actual intersection (expansions may all share a label)
    common = sorted(set.intersection(*(set(t) for t in targets)))
    vlo, vhi = config.owner_value_range
    clo, chi = config.station_cost_range
    values = [[int(rng.integers(vlo, vhi + 1)) if lab in t else 0 for lab in range(num_classes)] for t in targets]
    costs = [[int(rng.integers(clo, chi + 1)) for _ in range(num_classes)] for _ in range(config.stations)]
    return Market(intersection=common, targets=targets, owner_values=values, station_costs=costs)


class Selection(BaseModel):
    selected: int | None
    surplus: list[int]
    taxes: list[int] | None  # owners first, then stations; None without hcfl.mechanism
    source: str


def select_target(values: list[list[int]], costs: list[list[int]]) -> Selection:
    """MECHANISM.md selection: argmax of S(m) = Σ values − Σ costs over (0..K-1, none), first max."""
    k = len(values[0])
    try:
        from hcfl.mechanism.clarke import clarke, paper_random_net_values
    except ImportError:
        surplus = [sum(v[m] for v in values) - sum(c[m] for c in costs) for m in range(k)]
        best = max(surplus)
        return Selection(
            selected=surplus.index(best) if best >= 0 else None, surplus=surplus, taxes=None, source="local"
        )
    result = clarke(paper_random_net_values(values, costs), k)
    return Selection(selected=result.selected, surplus=result.surplus, taxes=result.taxes, source="hcfl.mechanism.clarke")


def _train_target(
    data: Dataset, target: list[int], budget: int, intersection_mask: int, config: CooperationConfig
) -> list[float]:
    mask = mask_from_labels(target)
    pool = torch.nonzero(torch.tensor([(mask >> int(lab)) & 1 for lab in data.train.y.tolist()]), as_tuple=True)[0]
    rng = np.random.default_rng(derive_seed(config.seed, mask))
    chosen = np.sort(rng.choice(pool.numpy(), size=budget, replace=False))
    train = data.train.subset(torch.from_numpy(chosen))
    parts = partition_dirichlet(
        train.y.numpy(), config.stations, config.clients_per_station, config.alpha, seed=derive_seed(config.seed, mask, 1)
    )
    arch = config.arch or ("resnet" if data.input_shape[0] == 3 else "cnn")
    spec = ModelSpec(arch=arch, input_shape=data.input_shape, num_classes=data.num_classes, init_seed=config.seed)
    hfl = HFLConfig(
        global_rounds=config.global_rounds,
        edge_rounds=config.edge_rounds,
        seed=config.seed,
        train=TrainConfig(local_epochs=config.local_epochs, batch_size=config.batch_size, lr=config.lr),
    )
    history = run_hfl(spec, station_datasets(train, parts), data.test, hfl, labels_mask=mask, eval_mask=intersection_mask)
    return history.accuracies


def _tail_mean(curve: list[float]) -> float:
    tail = max(1, len(curve) // 5)
    return float(np.mean(curve[-tail:]))


def run_experiment(
    out_dir: str | Path = "out/cooperation",
    quick: bool = False,
    seed: int = 0,
    dataset: str = "digits",
    data_dir: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    config = CooperationConfig(
        **{"dataset": dataset, "data_dir": data_dir, "seed": seed, **(QUICK if quick else {}), **overrides}
    )
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _run(config, Path(out_dir), quick)
    finally:
        torch.set_num_threads(previous_threads)


def _trial(config: CooperationConfig, data: Dataset) -> dict[str, Any]:
    """One market draw: select, train every distinct proposal, return the curves."""
    market = draw_market(config, data.num_classes, np.random.default_rng(config.seed))
    counts = data.train.label_counts(data.num_classes)
    budget = min([config.budget] + [sum(counts[lab] for lab in t) for t in market.targets])
    values, costs = market.claims(budget, config.full_quality_samples)
    selection = select_target(values, costs)
    winner = selection.selected
    if winner is None:
        winner = int(np.argmax(selection.surplus))
        log.warning("every proposal has negative surplus; training the best one (%d) anyway", winner)
    random_draw = int(np.random.default_rng(derive_seed(config.seed, 7)).integers(len(market.targets)))
    intersection_mask = mask_from_labels(market.intersection)
    curves: dict[int, list[float]] = {}
    for target in market.targets:
        key = mask_from_labels(target)
        if key not in curves:
            log.info("seed %d: training target %s on %d samples", config.seed, target, budget)
            curves[key] = _train_target(data, target, budget, intersection_mask, config)
    per_proposal = [curves[mask_from_labels(t)] for t in market.targets]
    return {
        "seed": config.seed,
        "budget_samples": budget,
        "market": market.model_dump(),
        "claims": {"owner_values": values, "station_costs": costs},
        "selection": selection.model_dump(),
        "vcg_winner": winner,
        "vcg_selected_none": selection.selected is None,
        "vcg_target": market.targets[winner],
        "random_draw": random_draw,
        "accuracy": {
            "vcg": per_proposal[winner],
            "random_expected": np.mean(np.asarray(per_proposal), axis=0).tolist(),
            "random_draw": per_proposal[random_draw],
            "per_proposal": per_proposal,
        },
    }


def _run(config: CooperationConfig, out: Path, quick: bool) -> dict[str, Any]:
    started = time.perf_counter()
    data = load_dataset(config.dataset, config.data_dir, seed=config.seed)
    trials = [_trial(config.model_copy(update={"seed": config.seed + t}), data) for t in range(config.trials)]
    vcg = np.mean([t["accuracy"]["vcg"] for t in trials], axis=0).tolist()
    random_expected = np.mean([t["accuracy"]["random_expected"] for t in trials], axis=0).tolist()
    result: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "quick": quick,
        "rounds": list(range(1, config.global_rounds + 1)),
        # averaged over trials; each trial has its own commonly wanted labels
        "accuracy": {"vcg": vcg, "random_expected": random_expected},
        # mean over all rounds (area under the curve: speed and level) and over the last fifth
        "mean": {"vcg": float(np.mean(vcg)), "random_expected": float(np.mean(random_expected))},
        "final": {"vcg": _tail_mean(vcg), "random_expected": _tail_mean(random_expected)},
        "trials": trials,
        "seconds": time.perf_counter() - started,
    }
    result["vcg_beats_random"] = result["mean"]["vcg"] > result["mean"]["random_expected"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "cooperation.json").write_text(json.dumps(result, indent=2))
    _plot(result, out / "cooperation.png")
    return result


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = result["rounds"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for trial in result["trials"]:
        ax.plot(rounds, trial["accuracy"]["vcg"], color="tab:blue", alpha=0.2, linewidth=0.8)
        ax.plot(rounds, trial["accuracy"]["random_expected"], color="tab:orange", alpha=0.2, linewidth=0.8)
    ax.plot(rounds, result["accuracy"]["vcg"], color="tab:blue", label="VCG-selected target")
    ax.plot(rounds, result["accuracy"]["random_expected"], color="tab:orange", label="random target (expected)")
    ax.set_xlabel("global round")
    ax.set_ylabel("accuracy on the commonly wanted labels")
    n = len(result["trials"])
    ax.set_title(
        f"Cooperation: {result['config']['dataset']}, {result['trials'][0]['budget_samples']} training samples, "
        f"{n} market draw{'s' if n > 1 else ''}",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out/cooperation", help="output directory (JSON + PNG)")
    parser.add_argument("--quick", action="store_true", help="a few rounds on a small network (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", choices=["digits", "cifar10", "mnist"], default="digits")
    parser.add_argument("--data-dir", default=None, help="local directory holding MNIST / CIFAR-10")


def run(args: argparse.Namespace) -> int:
    """CLI entry; exits 1 when the VCG target does not beat the random one (the claim under test)."""
    try:
        result = run_experiment(args.out, quick=args.quick, seed=args.seed, dataset=args.dataset, data_dir=args.data_dir)
    except DatasetNotFoundError as exc:
        raise SystemExit(f"hcfl experiment cooperation: {exc}") from None
    mean, final = result["mean"], result["final"]
    for t in result["trials"]:
        none = " (auction selected none; best proposal trained)" if t["vcg_selected_none"] else ""
        print(f"seed {t['seed']}: common labels {t['market']['intersection']}, VCG target {t['vcg_target']}{none}")
    print(
        f"accuracy on common labels, mean over rounds (last fifth), averaged over {len(result['trials'])} draw(s): "
        f"VCG {mean['vcg']:.4f} ({final['vcg']:.4f}); "
        f"random target, expected {mean['random_expected']:.4f} ({final['random_expected']:.4f}) "
        f"[{'VCG wins' if result['vcg_beats_random'] else 'random wins'}] "
        f"({result['seconds']:.1f}s; {Path(args.out) / 'cooperation.json'}, cooperation.png)"
    )
    return 0 if result["vcg_beats_random"] else 1

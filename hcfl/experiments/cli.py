"""`hcfl experiment NAME [--out DIR] [--quick] [--seed N]`."""
from __future__ import annotations

import argparse

from hcfl._registry import add_registry_command

EXPERIMENTS: dict[str, tuple[str, str]] = {
    "truthfulness": ("hcfl.experiments.truthfulness", "Fig. 3: honest vs 30%%/50%% dishonest accumulated utility"),
    "social-utility": ("hcfl.experiments.social_utility", "Fig. 5: accumulated social utility, VCG vs selfish vs random"),
    "misreport-gain": ("hcfl.experiments.misreport_gain", "gain from misreporting under each payment rule (--rules v2: x share rule)"),
    "participation": ("hcfl.experiments.participation", "v2: share of truthful participants with negative ex-post utility"),
    "cooperation": ("fl_worker.experiments.cooperation", "Fig. 4: accuracy on common labels, VCG target vs random"),
}


def register(sub: argparse._SubParsersAction) -> None:
    add_registry_command(sub, "experiment", "run one of the paper's experiments", EXPERIMENTS)

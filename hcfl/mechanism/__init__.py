"""Pure-Python reference of the HCFL mechanism (docs/mechanism.md): Clarke-tax selection, payment
shares, total payment and recycle pools, and the post-training round end. Plain ints, no chain.
These are the v1 rules; the v2 rules (issue 8: campaigns, stake-backed shares) are in `hcfl.mechanism.v2`."""
from hcfl.mechanism.models import (
    Instance,
    Owner,
    Proposal,
    RoundEnd,
    Settlement,
    Station,
    TrainingOutcome,
    Vote,
)
from hcfl.mechanism.round_end import finish_round
from hcfl.mechanism.settle import default_seed, settle
from hcfl.mechanism.shares import split

__all__ = [
    "Instance",
    "Owner",
    "Proposal",
    "RoundEnd",
    "Settlement",
    "Station",
    "TrainingOutcome",
    "Vote",
    "default_seed",
    "finish_round",
    "settle",
    "split",
]

"""Sample-weighted model averaging (FedAvg), used at both levels of the hierarchy.

Every entry is accumulated in float64 as sum_i(n_i * x_i) / sum_i(n_i) and cast back to its
original dtype (integer entries are rounded to nearest), so station- and global-level averages are
the exact sample-weighted means up to the final cast.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor

StateDict = dict[str, Tensor]


def weighted_average(items: Sequence[tuple[Mapping[str, Tensor], int]]) -> StateDict:
    """Average state dicts weighted by their sample counts.

    Raises ValueError on an empty list, negative or all-zero weights, or state dicts that disagree
    on keys, shapes or dtypes.
    """
    if not items:
        raise ValueError("nothing to average")
    weights = [int(n) for _, n in items]
    if any(n < 0 for n in weights):
        raise ValueError(f"sample counts must be non-negative, got {weights}")
    total = sum(weights)
    if total == 0:
        raise ValueError("sample counts sum to zero")
    reference = items[0][0]
    for i, (state, _) in enumerate(items[1:], start=1):
        if set(state) != set(reference):
            diff = sorted(set(state) ^ set(reference))
            raise ValueError(f"state {i} has different keys from state 0: {diff}")
        for key, value in state.items():
            ref = reference[key]
            if value.shape != ref.shape or value.dtype != ref.dtype:
                raise ValueError(
                    f"state {i} key {key!r}: {tuple(value.shape)}/{value.dtype} vs {tuple(ref.shape)}/{ref.dtype}"
                )
    out: StateDict = {}
    for key, ref in reference.items():
        acc = torch.zeros(ref.shape, dtype=torch.float64)
        for (state, _), n in zip(items, weights):
            if n:
                acc.add_(state[key].detach().to(torch.float64), alpha=n)
        acc.div_(total)
        if ref.dtype.is_floating_point or ref.dtype.is_complex:
            out[key] = acc.to(ref.dtype)
        elif ref.dtype == torch.bool:
            out[key] = acc >= 0.5
        else:
            out[key] = torch.round(acc).to(ref.dtype)
    return out

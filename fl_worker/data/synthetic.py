"""Seeded, class-separable synthetic images for tests: a random prototype per class plus noise."""
from __future__ import annotations

import torch

from fl_worker.data.base import Dataset, Split


def make_synthetic(
    n_train: int = 1000,
    n_test: int = 300,
    num_classes: int = 10,
    shape: tuple[int, int, int] = (1, 8, 8),
    noise: float = 0.5,
    seed: int = 0,
) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn((num_classes, *shape), generator=g)

    def draw(n: int) -> Split:
        y = torch.arange(n, dtype=torch.int64) % num_classes  # balanced classes
        y = y[torch.randperm(n, generator=g)]
        x = prototypes[y] + noise * torch.randn((n, *shape), generator=g)
        return Split(x.float(), y)

    return Dataset("synthetic", draw(n_train), draw(n_test), num_classes)

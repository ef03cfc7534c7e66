"""Datasets as tensors: the embedded digits default, MNIST / CIFAR-10 from a local directory, and
a synthetic generator for tests."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from fl_worker.data.base import (
    Dataset,
    DatasetNotFoundError,
    Split,
    labels_from_mask,
    mask_from_labels,
)
from fl_worker.data.cifar10 import load_cifar10
from fl_worker.data.digits import load_digits
from fl_worker.data.mnist import load_mnist
from fl_worker.data.synthetic import make_synthetic

DatasetName = Literal["digits", "mnist", "cifar10", "synthetic"]
DATASETS: tuple[str, ...] = ("digits", "mnist", "cifar10", "synthetic")


def load_dataset(name: str, data_dir: str | Path | None = None, seed: int = 0) -> Dataset:
    """Load a dataset by name. MNIST and CIFAR-10 need `data_dir`; `seed` fixes the digits split
    and the synthetic draw."""
    if name == "digits":
        return load_digits(seed=seed)
    if name == "synthetic":
        return make_synthetic(seed=seed)
    if name in ("mnist", "cifar10"):
        if data_dir is None:
            raise DatasetNotFoundError(f"{name} needs --data-dir pointing at a local copy (nothing is downloaded)")
        return load_mnist(data_dir) if name == "mnist" else load_cifar10(data_dir)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetName",
    "DatasetNotFoundError",
    "Split",
    "labels_from_mask",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "make_synthetic",
    "mask_from_labels",
]

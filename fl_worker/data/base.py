"""Tensor containers shared by every data source, and the target-label bitmask helpers.

Labels keep their original ids (0..num_classes-1) everywhere and models keep a full-width output.
A proposal that targets a subset `y` of the labels trains on the samples whose label is in `y`;
its accuracy on any label set is then measured with the same argmax over all outputs, so models
trained on different targets are directly comparable on the "commonly wanted" labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import Tensor


class DatasetNotFoundError(FileNotFoundError):
    """A dataset was asked for from a local directory that does not hold the expected files."""


def mask_from_labels(labels: Iterable[int]) -> int:
    """Bitmask with bit i set for every label i (the on-chain `y`)."""
    mask = 0
    for label in labels:
        if label < 0:
            raise ValueError(f"negative label {label}")
        mask |= 1 << int(label)
    return mask


def labels_from_mask(mask: int, num_classes: int | None = None) -> list[int]:
    """Labels whose bit is set, ascending. With `num_classes`, bits at or above it are an error."""
    if mask < 0:
        raise ValueError("label mask must be non-negative")
    labels = [i for i in range(mask.bit_length()) if mask >> i & 1]
    if num_classes is not None and labels and labels[-1] >= num_classes:
        raise ValueError(f"label mask {mask:#x} names label {labels[-1]} but there are {num_classes} classes")
    return labels


@dataclass(frozen=True)
class Split:
    """Samples `X` (N, C, H, W) float32 and labels `y` (N,) int64."""

    X: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        if self.X.ndim != 4:
            raise ValueError(f"X must be (N, C, H, W), got shape {tuple(self.X.shape)}")
        if self.y.ndim != 1 or self.y.shape[0] != self.X.shape[0]:
            raise ValueError(f"y must be (N,) with N={self.X.shape[0]}, got {tuple(self.y.shape)}")
        if self.X.dtype != torch.float32 or self.y.dtype != torch.int64:
            raise ValueError(f"expected float32 X and int64 y, got {self.X.dtype} and {self.y.dtype}")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, indices: Tensor | Iterable[int]) -> "Split":
        idx = torch.as_tensor(indices if isinstance(indices, Tensor) else list(indices), dtype=torch.int64)
        return Split(self.X[idx], self.y[idx])

    def filter_labels(self, labels_mask: int | None) -> "Split":
        """Samples whose label bit is set in `labels_mask` (all samples when None)."""
        if labels_mask is None:
            return self
        keep = torch.zeros(len(self), dtype=torch.bool)
        for label in labels_from_mask(labels_mask):
            keep |= self.y == label
        return Split(self.X[keep], self.y[keep])

    def label_counts(self, num_classes: int) -> list[int]:
        return torch.bincount(self.y, minlength=num_classes).tolist()


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.train.X.shape[1:]
        return (int(c), int(h), int(w))


def standardize(train_x: Tensor, test_x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel standardization with statistics of the training split only."""
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return ((train_x - mean) / std).float(), ((test_x - mean) / std).float()

"""scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn: no download)."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits as _sk_load_digits
from sklearn.model_selection import train_test_split

from fl_worker.data.base import Dataset, Split, standardize


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Stratified, seeded train/test split; images as 1x8x8 float tensors, standardized."""
    bunch = _sk_load_digits()
    x = np.asarray(bunch.images, dtype=np.float32)[:, None, :, :] / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    tx, ex = standardize(torch.from_numpy(x_tr), torch.from_numpy(x_te))
    return Dataset("digits", Split(tx, torch.from_numpy(y_tr)), Split(ex, torch.from_numpy(y_te)), 10)

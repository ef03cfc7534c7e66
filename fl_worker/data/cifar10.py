"""CIFAR-10 from the official "python version" batches in a local, user-provided directory.

The official batches are Python pickles, so reading them needs `pickle`. They are only ever read
from a directory the user names on the command line -- never from the network or from another
participant -- and through an unpickler that refuses every global except the few numpy
constructors the batches use, so a tampered file cannot run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fl_worker.data.base import Dataset, DatasetNotFoundError, Split, standardize

CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = "test_batch"
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"CIFAR batch refers to {module}.{name}, which is not allowed")
        return super().find_class(module, name)


def _batch_dir(data_dir: Path) -> Path | None:
    for folder in (data_dir / "cifar-10-batches-py", data_dir):
        if all((folder / n).is_file() for n in [*CIFAR_TRAIN, CIFAR_TEST]):
            return folder
    return None


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        entry = _BatchUnpickler(fh, encoding="bytes").load()
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path}: not a CIFAR-10 batch (no data/labels)")
    return np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def load_cifar10(data_dir: str | Path) -> Dataset:
    data_dir = Path(data_dir)
    folder = _batch_dir(data_dir)
    if folder is None:
        expected = ", ".join([*CIFAR_TRAIN, CIFAR_TEST])
        raise DatasetNotFoundError(
            f"CIFAR-10 not found in {data_dir}: expected {expected} in {data_dir / 'cifar-10-batches-py'} "
            f"or in {data_dir} itself (the official 'CIFAR-10 python version' archive, extracted)."
        )
    train = [_read_batch(folder / n) for n in CIFAR_TRAIN]
    x_te, y_te = _read_batch(folder / CIFAR_TEST)
    x_tr = np.concatenate([x for x, _ in train])
    y_tr = np.concatenate([y for _, y in train])
    tx, ex = standardize(torch.from_numpy(x_tr.astype(np.float32) / 255.0), torch.from_numpy(x_te.astype(np.float32) / 255.0))
    return Dataset("cifar10", Split(tx, torch.from_numpy(y_tr)), Split(ex, torch.from_numpy(y_te)), 10)

"""MNIST from the original IDX files in a local directory (never downloaded)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from fl_worker.data.base import Dataset, DatasetNotFoundError, Split, standardize

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08


def _find(data_dir: Path, stem: str) -> Path | None:
    for folder in (data_dir, data_dir / "MNIST" / "raw", data_dir / "mnist"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (magic 0x0000 08 NDIM, big-endian dims)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def load_mnist(data_dir: str | Path) -> Dataset:
    data_dir = Path(data_dir)
    paths = {key: _find(data_dir, stem) for key, stem in MNIST_FILES.items()}
    missing = [MNIST_FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise DatasetNotFoundError(
            f"MNIST not found in {data_dir}: missing {', '.join(missing)} "
            f"(the original IDX files, optionally .gz, in that directory or in its MNIST/raw)"
        )
    arrays = {key: read_idx(p) for key, p in paths.items() if p is not None}
    x_tr = torch.from_numpy(arrays["train_images"].astype(np.float32)[:, None] / 255.0)
    x_te = torch.from_numpy(arrays["test_images"].astype(np.float32)[:, None] / 255.0)
    x_tr, x_te = standardize(x_tr, x_te)
    y_tr = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    y_te = torch.from_numpy(arrays["test_labels"].astype(np.int64))
    return Dataset("mnist", Split(x_tr, y_tr), Split(x_te, y_te), 10)

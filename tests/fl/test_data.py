from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from fl_worker.data import (
    DatasetNotFoundError,
    labels_from_mask,
    load_cifar10,
    load_dataset,
    load_mnist,
    make_synthetic,
    mask_from_labels,
)


def test_digits_shapes_and_normalization(digits):
    assert digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    assert len(digits.train) + len(digits.test) == 1797
    assert digits.train.X.dtype == torch.float32 and digits.train.y.dtype == torch.int64
    assert abs(float(digits.train.X.mean())) < 1e-4 and abs(float(digits.train.X.std()) - 1) < 1e-3
    assert min(digits.test.label_counts(10)) >= 40  # stratified split


def test_label_masks_round_trip_and_filter(digits):
    assert mask_from_labels([0, 3, 9]) == 0b1000001001
    assert labels_from_mask(0b1000001001) == [0, 3, 9]
    with pytest.raises(ValueError):
        labels_from_mask(1 << 12, num_classes=10)
    sub = digits.test.filter_labels(mask_from_labels([1, 7]))
    assert set(sub.y.tolist()) == {1, 7}
    assert digits.test.filter_labels(None) is digits.test


def test_synthetic_is_seeded_and_separable():
    a, b = make_synthetic(seed=5), make_synthetic(seed=5)
    assert torch.equal(a.train.X, b.train.X) and torch.equal(a.train.y, b.train.y)
    # nearest class mean classifies the synthetic test set almost perfectly
    means = torch.stack([a.train.X[a.train.y == c].mean(0) for c in range(10)]).flatten(1)
    dist = torch.cdist(a.test.X.flatten(1), means)
    assert float((dist.argmin(1) == a.test.y).double().mean()) > 0.95


def test_missing_mnist_dir_names_expected_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte.*t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="--data-dir"):
        load_dataset("mnist")


def test_missing_cifar_dir_names_expected_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="data_batch_1.*test_batch"):
        load_cifar10(tmp_path / "nowhere")


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)


def test_mnist_from_local_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28)), gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(20) % 10, gz=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28)), gz=False)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(6) % 10, gz=False)
    ds = load_dataset("mnist", tmp_path)
    assert ds.input_shape == (1, 28, 28) and len(ds.train) == 20 and len(ds.test) == 6
    assert ds.train.y.tolist() == [i % 10 for i in range(20)]


def _write_cifar_batch(path, n: int, rng) -> None:
    entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": [i % 10 for i in range(n)]}
    path.write_bytes(pickle.dumps(entry, protocol=4))


def test_cifar_from_local_batches(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        _write_cifar_batch(folder / f"data_batch_{i}", 4, rng)
    _write_cifar_batch(folder / "test_batch", 3, rng)
    ds = load_dataset("cifar10", tmp_path)
    assert ds.input_shape == (3, 32, 32) and len(ds.train) == 20 and len(ds.test) == 3


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_unpickler_refuses_foreign_globals(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _write_cifar_batch(tmp_path / f"data_batch_{i}", 2, rng)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        load_cifar10(tmp_path)

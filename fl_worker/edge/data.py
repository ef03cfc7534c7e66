"""An edge device's own data: a folder holding `.npz` files with arrays `X` and `y`, or a local copy of a
dataset that fl_worker.data reads (MNIST IDX files, CIFAR-10 python batches; their training split).

Bad data raises EdgeDataError with a message meant for the device's owner (no traceback): a missing
folder, nothing readable in it, shapes that do not fit the model, labels outside the model's classes.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from fl_worker.data.base import DatasetNotFoundError, Split
from fl_worker.models import ModelSpec

MAX_NPZ_BYTES = 2 * 2**30


class EdgeDataError(ValueError):
    """The device's data cannot be used (the message says why and what to do)."""


class RawData:
    """Samples as found on disk: X with N rows of any shape, integer labels y (N,)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, source: str, t: np.ndarray | None = None, mtime: int = 0) -> None:
        self.X, self.y, self.source = X, y, source
        self.t = t  # optional generation timestamps (unix s) per sample: .npz array `t`
        self.mtime = mtime  # newest modification time of the data files (unix s)

    def __len__(self) -> int:
        return int(self.y.shape[0])


def load_edge_data(folder: str | Path) -> RawData:
    """Read the device's folder (EdgeDataError when it is missing, empty or malformed)."""
    folder = Path(folder)
    if not folder.exists():
        raise EdgeDataError(f"data folder {folder} does not exist")
    if not folder.is_dir():
        raise EdgeDataError(f"{folder} is not a folder")
    npz = sorted(folder.glob("*.npz"))
    if npz:
        parts = [_read_npz(p) for p in npz]
        widths = {p.X.shape[1:] for p in parts}
        if len(widths) > 1:
            raise EdgeDataError(f"the .npz files in {folder} disagree on the sample shape: {sorted(widths)}")
        ts = [p.t for p in parts if p.t is not None]
        return RawData(np.concatenate([p.X for p in parts]), np.concatenate([p.y for p in parts]),
                       ", ".join(p.name for p in npz), np.concatenate(ts) if ts else None,
                       int(max(p.stat().st_mtime for p in npz)))
    for loader_name in ("mnist", "cifar10"):
        try:
            from fl_worker.data import load_dataset

            ds = load_dataset(loader_name, folder)
        except DatasetNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise EdgeDataError(f"{folder}: unreadable {loader_name} files: {exc}") from None
        return RawData(ds.train.X.numpy(), ds.train.y.numpy(), f"{loader_name} in {folder}")
    raise EdgeDataError(f"{folder} holds no .npz file (arrays X and y) and no MNIST / CIFAR-10 files")


def _read_npz(path: Path) -> RawData:
    if path.stat().st_size > MAX_NPZ_BYTES:
        raise EdgeDataError(f"{path} is larger than {MAX_NPZ_BYTES} bytes")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("X", "y") if k not in f.files]
            if missing:
                raise EdgeDataError(f"{path} lacks array(s) {', '.join(missing)} (it has {', '.join(f.files) or 'none'})")
            X, y = np.asarray(f["X"]), np.asarray(f["y"])
            t = np.asarray(f["t"]) if "t" in f.files else None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, EdgeDataError):
            raise
        raise EdgeDataError(f"{path} is not a readable .npz file: {exc}") from None
    if X.ndim < 2:
        raise EdgeDataError(f"{path}: X must have one row per sample, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise EdgeDataError(f"{path}: y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise EdgeDataError(f"{path}: X must be real numbers, got dtype {X.dtype}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise EdgeDataError(f"{path}: y must hold integer class labels, got dtype {y.dtype}")
    if t is not None and (t.shape != y.shape or not np.issubdtype(t.dtype, np.integer) or (t < 0).any()):
        raise EdgeDataError(f"{path}: t must hold one non-negative integer timestamp (unix s) per sample")
    return RawData(X, y, path.name, t)


def fit_to_spec(raw: RawData, spec: ModelSpec) -> Split:
    """The samples as the model's input (N, C, H, W) float32 with int64 labels, or EdgeDataError."""
    n = len(raw)
    if n == 0:
        raise EdgeDataError(f"{raw.source}: no samples")
    shape = tuple(spec.input_shape)
    per_sample = int(np.prod(shape))
    got = tuple(int(d) for d in raw.X.shape[1:])
    if got != shape and int(np.prod(got)) != per_sample:
        raise EdgeDataError(f"{raw.source}: samples have shape {got} but the model takes inputs of shape {shape} "
                            f"({per_sample} values per sample)")
    X = np.ascontiguousarray(raw.X, dtype=np.float32).reshape((n, *shape))
    if not np.all(np.isfinite(X)):
        raise EdgeDataError(f"{raw.source}: X contains NaN or infinite values")
    y = raw.y.astype(np.int64)
    bad = sorted({int(v) for v in y[(y < 0) | (y >= spec.num_classes)][:1000]})
    if bad:
        raise EdgeDataError(f"{raw.source}: labels {bad[:10]} are outside the model's classes 0..{spec.num_classes - 1}")
    return Split(torch.from_numpy(X), torch.from_numpy(y))

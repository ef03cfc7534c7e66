"""A small convex model for the edge-incentive experiments: L2-regularised multinomial logistic
regression in float64 numpy (mu-strongly convex and L-smooth, as LCEME's bound assumes), with the
edge-client behaviours of seed 001: labeling shirk (uniform random labels), mini-batch size D_i per
local step, and model misreport (the local delta scaled by gamma_i).

Real training on real data (digits, or MNIST from its IDX files); numpy because a linear model on
8x8 images is far cheaper without torch's per-call overhead.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fl_worker.data import Dataset


@dataclass(frozen=True)
class Flat:
    """Features (N, d+1) with a bias column, float64; labels (N,) int64."""

    X: np.ndarray
    y: np.ndarray


def flatten(ds: Dataset) -> tuple[Flat, Flat]:
    def f(split) -> Flat:
        x = split.X.reshape(len(split), -1).numpy().astype(np.float64)
        return Flat(np.hstack([x, np.ones((len(x), 1))]), split.y.numpy().astype(np.int64))

    return f(ds.train), f(ds.test)


def loss(W: np.ndarray, data: Flat, lam: float) -> float:
    z = data.X @ W
    z -= z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(data.y)), data.y]) + lam / 2 * np.sum(W * W))


def accuracy(W: np.ndarray, data: Flat) -> float:
    return float(np.mean(np.argmax(data.X @ W, axis=1) == data.y))


def grad(W: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    z = X @ W
    z -= z.max(axis=1, keepdims=True)
    P = np.exp(z)
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    return X.T @ P / len(y) + lam * W


def shirked_labels(y: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """e_i = 0: every label replaced by a uniform random class, ignoring the features."""
    return rng.integers(0, num_classes, len(y))


def fedavg(
    train: Flat,
    clients: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    batch: Sequence[int],
    gamma: Sequence[float],
    rounds: int,
    local_steps: int,
    lr: float,
    lam: float,
    num_classes: int,
    seed: int,
    W0: np.ndarray | None = None,
) -> np.ndarray:
    """T rounds; client i takes H minibatch-SGD steps of size D_i (drawn with replacement from its
    data, labelled by `labels[i]`), reports w_prev + gamma_i (w_local - w_prev); the server averages
    with p_i = n_i / N."""
    rng = np.random.default_rng(seed)
    n = np.array([len(c) for c in clients], dtype=np.float64)
    p = n / n.sum()
    W = np.zeros((train.X.shape[1], num_classes)) if W0 is None else W0.copy()
    for _ in range(rounds):
        new = np.zeros_like(W)
        for i, idx in enumerate(clients):
            Wi = W.copy()
            for _ in range(local_steps):
                b = rng.integers(0, len(idx), int(batch[i]))
                Wi -= lr * grad(Wi, train.X[idx[b]], labels[i][b], lam)
            new += p[i] * (W + gamma[i] * (Wi - W))
        W = new
    return W

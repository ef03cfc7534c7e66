"""One edge client's local SGD and model evaluation."""
from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from fl_worker.data.base import Split
from fl_worker.models import ModelSpec, build_model


class TrainConfig(BaseModel):
    """Local training of one edge client: E epochs of minibatch SGD."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_epochs: int = Field(default=2, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from a tuple of ints, so each (session, station, round, client) draws an
    independent, order-free stream: a station's result never depends on who ran before it."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def set_deterministic(threads: int | None = None) -> None:
    """Ask torch for deterministic kernels (warn-only: CPU kernels used here are deterministic)."""
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(threads)


def train_local(model: nn.Module, data: Split, config: TrainConfig, seed: int) -> float:
    """Train `model` in place on `data`; returns the mean loss of the last epoch.

    Batches come from a seeded permutation of in-memory tensors -- the same sampling a shuffled
    DataLoader with a seeded generator gives, without its per-batch overhead on tiny tensors.
    """
    return train_local_stats(model, data, config, seed)[0]


def train_local_stats(model: nn.Module, data: Split, config: TrainConfig, seed: int) -> tuple[float, float]:
    """train_local, returning the mean loss and the accuracy of the last epoch (its predictions come with its
    forward passes: no evaluation pass over the data afterwards)."""
    if len(data) == 0:
        return 0.0, 0.0
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    last = accuracy = 0.0
    for _ in range(config.local_epochs):
        order = torch.randperm(len(data), generator=generator)
        total, count, correct = 0.0, 0, 0
        for start in range(0, len(data), config.batch_size):
            idx = order[start : start + config.batch_size]
            x, y = data.X[idx], data.y[idx]
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(dim=1) == y).sum())
            count += len(idx)
        last, accuracy = total / count, correct / count
    return last, accuracy


@torch.no_grad()
def predict(model: nn.Module, X: Tensor, batch_size: int = 2048) -> Tensor:
    model.eval()
    return torch.cat([model(X[i : i + batch_size]).argmax(dim=1) for i in range(0, len(X), batch_size)])


def evaluate(
    model: nn.Module | dict[str, Tensor],
    data: Split,
    labels_mask: int | None = None,
    *,
    spec: ModelSpec | None = None,
) -> float:
    """Accuracy in [0, 1] on the samples of `data` whose label is in `labels_mask` (all when None).

    Predictions are the argmax over all outputs (labels keep their ids). A state dict needs `spec`
    to rebuild the model. Raises ValueError when no sample is left to evaluate.
    """
    if not isinstance(model, nn.Module):
        if spec is None:
            raise ValueError("evaluating a state dict needs its ModelSpec")
        net = build_model(spec)
        net.load_state_dict(model)
        model = net
    subset = data.filter_labels(labels_mask)
    if len(subset) == 0:
        raise ValueError(f"no samples with labels in mask {labels_mask!r} to evaluate on")
    return float((predict(model, subset.X) == subset.y).double().mean())

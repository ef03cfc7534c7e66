"""How the selected base stations train a proposal's model: the TrainingPlan an owner posts next to its
ModelSpec. One definition for the coordinator (which validates and serves it) and the daemons (which
follow it)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainingPlan(BaseModel):
    """Dataset, partition over stations and edge clients, and the local-training hyperparameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Literal["digits", "mnist", "cifar10", "synthetic"] = "digits"
    data_dir: str | None = Field(default=None, max_length=4096, description="the station's local dataset dir (mnist/cifar10)")
    clients_per_station: int = Field(default=2, ge=1, le=64)
    partition: Literal["dirichlet", "label-skew", "iid"] = "dirichlet"
    alpha: float = Field(default=0.5, gt=0, le=1e6)
    heterogeneity: float = Field(default=0.8, ge=0, le=1)
    seed: int = Field(default=0, ge=0, lt=2**32)
    edge_rounds: int = Field(default=1, ge=1, le=100, description="kappa: edge aggregations per global round")
    local_epochs: int = Field(default=1, ge=1, le=100, description="E")
    batch_size: int = Field(default=32, ge=1, le=65536)
    lr: float = Field(default=0.05, gt=0, le=10)
    samples_per_station: int | None = Field(default=None, ge=1, le=10**9)

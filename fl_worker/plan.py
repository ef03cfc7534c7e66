"""How the selected base stations train a proposal's model: the TrainingPlan an owner posts next to its
ModelSpec. One definition for the coordinator (which validates and serves it) and the daemons (which
follow it).

The plan names the task's data domain (the coordinator evaluates on its test split) and the
hyperparameters; it assigns no data to anyone: each station trains on its own edge clients' data
(`hcfl aggregator --edge`) or on its own data (`--data DIR`). The shared-dataset partition survives only
as `simulation`, read by `hcfl aggregator --simulate` (the demo, benches and tests).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hcfl.protocol import model_commitment

SIMULATION_FIELDS = ("data_dir", "clients_per_station", "partition", "alpha", "heterogeneity", "samples_per_station")


class SimulationPlan(BaseModel):
    """Simulation mode only: every station cuts its clients out of one shared dataset by this partition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: str | None = Field(default=None, max_length=4096, description="local dataset dir (mnist/cifar10)")
    clients_per_station: int = Field(default=2, ge=1, le=64)
    partition: Literal["dirichlet", "label-skew", "iid"] = "dirichlet"
    alpha: float = Field(default=0.5, gt=0, le=1e6)
    heterogeneity: float = Field(default=0.8, ge=0, le=1)
    samples_per_station: int | None = Field(default=None, ge=1, le=10**9)


class TrainingPlan(BaseModel):
    """Data domain and local-training hyperparameters (plus the partition used in simulation mode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Literal["digits", "mnist", "cifar10", "synthetic"] = Field(
        default="digits", description="the task's data domain; the coordinator validates on its test split")
    seed: int = Field(default=0, ge=0, lt=2**32)
    edge_rounds: int = Field(default=1, ge=1, le=100, description="kappa: edge aggregations per global round")
    local_epochs: int = Field(default=1, ge=1, le=100, description="E")
    batch_size: int = Field(default=32, ge=1, le=65536)
    lr: float = Field(default=0.05, gt=0, le=10)
    simulation: SimulationPlan = SimulationPlan()

    @model_validator(mode="before")
    @classmethod
    def _flat_simulation_fields(cls, data: Any) -> Any:
        """Plans written before the edge tier carried the partition fields at the top level: they are read as
        the `simulation` block (and give an error when both spellings are used)."""
        if not isinstance(data, dict) or not any(k in data for k in SIMULATION_FIELDS):
            return data
        if "simulation" in data:
            raise ValueError(f"give the partition fields {SIMULATION_FIELDS} inside `simulation` only")
        data = dict(data)
        data["simulation"] = {k: data.pop(k) for k in SIMULATION_FIELDS if k in data}
        return data


def omega(spec: BaseModel, plan: TrainingPlan) -> str:
    """ω of a proposal: the model commitment over the spec and the plan as the coordinator serves them."""
    return model_commitment(spec.model_dump(mode="json"), plan.model_dump(mode="json"))

"""`EdgeRewardRule`: the rule (name + parameters) a station commits on chain before training.

The commitment is keccak256 of the rule's canonical JSON: keys sorted, no whitespace, ASCII,
defaults filled in, no NaN/Infinity (`EdgeRewardRule.canonical_json`, `EdgeRewardRule.hash`). A rule
that changes after training hashes differently, so any participant can check the payouts against
the rule the station committed to.
"""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hcfl.edge.lceme import LcemeSystem
from hcfl.edge.shapley import EXACT_LIMIT

RuleName = Literal["ifedcrowd", "lceme", "shapley", "equal", "samples"]
RULES: tuple[str, ...] = ("ifedcrowd", "lceme", "shapley", "equal", "samples")
UnitWei = Annotated[int, Field(strict=True, ge=1, le=2**128)] | None


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IFedCrowdParams(_Params):
    """Server utility weights (Eq. 7) and the payout unit: None = scale payoffs into the whole
    budget; u = pay v_k * u wei, pro rata if that exceeds the budget (`hcfl.edge.payout`)."""

    alpha: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 80.0
    beta: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 50.0
    unit_wei: UnitWei = None


class LcemeParams(_Params):
    """Loss-bound constants, the payout unit and the loss cap: the observed f(w_T, xi) is clipped to
    `max_loss` before the reward is computed (so the worst case of every reward is known up front)."""

    system: LcemeSystem = LcemeSystem()
    max_loss: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = 10.0
    unit_wei: UnitWei = None


class ShapleyParams(_Params):
    exact_limit: Annotated[int, Field(ge=1, le=EXACT_LIMIT)] = EXACT_LIMIT
    permutations: Annotated[int, Field(ge=1, le=100_000)] = 200
    delta: Annotated[float, Field(gt=0, lt=1)] = 0.05


class NoParams(_Params):
    pass


PARAMS: dict[str, type[_Params]] = {
    "ifedcrowd": IFedCrowdParams,
    "lceme": LcemeParams,
    "shapley": ShapleyParams,
    "equal": NoParams,
    "samples": NoParams,
}


class EdgeRewardRule(BaseModel):
    """How a station splits its round reward among its edge clients (one definition)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    name: RuleName
    params: IFedCrowdParams | LcemeParams | ShapleyParams | NoParams = NoParams()

    @model_validator(mode="before")
    @classmethod
    def _typed_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("name") in PARAMS:
            raw = data.get("params", {})
            want = PARAMS[data["name"]]
            if not isinstance(raw, want):
                if isinstance(raw, _Params):
                    raise ValueError(f"rule {data['name']!r} takes {want.__name__}, got {type(raw).__name__}")
                data = {**data, "params": want.model_validate(raw)}
        return data

    def canonical_json(self) -> bytes:
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        ).encode()

    def hash(self) -> bytes:
        """keccak256(canonical JSON): what the station commits on chain before training."""
        return keccak(self.canonical_json())

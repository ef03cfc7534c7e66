"""Sealed edge-client cost claims: where the leaders' cost parameters come from.

Both papers assume the leader knows the clients' costs (gamma_k, delta_k in 000; c_p^i, c_l in 001).
Here each edge client commits before training, as owners and stations do:

    commitment = keccak256(abi.encode(uint256 roundId, address station, address client,
                                      uint256[] costParams, bytes32 salt))

and reveals (costParams, salt) afterwards. costParams are fixed-point integers with COST_SCALE = 1e18
(1.5 -> 1_500_000_000_000_000_000), in this order:

    ifedcrowd: [gamma, delta, t_min]     (t_min in seconds; the leader needs it for T* = T_min)
    lceme:     [c_p, c_l]                (c_p per sample of mini-batch per round, c_l per labeling)

Only the meaning is fixed here; nothing in either paper makes reporting these truthfully a best
response once rewards depend on them (`hcfl experiment edge-misreport` measures the gain).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Literal

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hcfl.edge.ifedcrowd import ClientCost
from hcfl.edge.lceme import LcemeClient

COST_SCALE = 10**18
UINT256_MAX = 2**256 - 1
PARAM_COUNT: dict[str, int] = {"ifedcrowd": 3, "lceme": 2}

Uint = Annotated[int, Field(strict=True, ge=0, le=UINT256_MAX)]


def to_fixed(x: float | int | Fraction | str) -> int:
    """A non-negative real as a COST_SCALE fixed-point integer (rounded to nearest; str is exact)."""
    q = Fraction(x)
    if q < 0:
        raise ValueError(f"cost parameters must be >= 0, got {x!r}")
    v = round(q * COST_SCALE)
    if v > UINT256_MAX:
        raise ValueError(f"cost parameter {x!r} does not fit a uint256 at scale 1e18")
    return int(v)


def from_fixed(v: int) -> float:
    return float(Fraction(v, COST_SCALE))


def edge_claim_commitment(round_id: int, station: str, client: str, cost_params: Sequence[int], salt: bytes) -> bytes:
    """keccak256(abi.encode(uint256 roundId, address station, address client, uint256[] costParams, bytes32 salt))."""
    if len(salt) != 32:
        raise ValueError("salt must be 32 bytes")
    if not 0 <= int(round_id) <= UINT256_MAX:
        raise ValueError("roundId must be a uint256")
    params = [int(c) for c in cost_params]
    if any(not 0 <= c <= UINT256_MAX for c in params):
        raise ValueError("cost parameters must be uint256 (fixed point, scale 1e18)")
    return keccak(
        encode(
            ["uint256", "address", "address", "uint256[]", "bytes32"],
            [int(round_id), to_checksum_address(station), to_checksum_address(client), params, salt],
        )
    )


class EdgeClaim(BaseModel):
    """A revealed claim; `check` verifies it against the commitment recorded before training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    round_id: Uint
    station: str
    client: str
    rule: Literal["ifedcrowd", "lceme"]
    cost_params: Annotated[list[Uint], Field(min_length=2, max_length=3)]
    salt: bytes = Field(min_length=32, max_length=32)

    @field_validator("station", "client", mode="before")
    @classmethod
    def _address(cls, v: object) -> str:
        if not isinstance(v, str):
            raise ValueError("an address must be a 0x-prefixed hex string")
        try:
            return to_checksum_address(v)
        except ValueError as exc:
            raise ValueError(f"not an address: {v!r}") from exc

    @field_validator("salt", mode="before")
    @classmethod
    def _salt(cls, v: object) -> bytes:
        """A salt is 32 raw bytes or its 0x-prefixed hex (JSON); any other string is refused."""
        if isinstance(v, str):
            if not (v.startswith("0x") and len(v) == 66):
                raise ValueError("salt must be 0x followed by 64 hex digits")
            try:
                return bytes.fromhex(v[2:])
            except ValueError as exc:
                raise ValueError("salt must be 0x followed by 64 hex digits") from exc
        return v  # type: ignore[return-value]

    def commitment(self) -> bytes:
        return edge_claim_commitment(self.round_id, self.station, self.client, self.cost_params, self.salt)

    def check(self, committed: bytes) -> None:
        if len(self.cost_params) != PARAM_COUNT[self.rule]:
            raise ValueError(f"{self.rule} claims carry {PARAM_COUNT[self.rule]} cost parameters, got {len(self.cost_params)}")
        if self.commitment() != committed:
            raise ValueError(f"client {self.client}: revealed claim does not match its commitment")


def _checked(claims: Sequence[EdgeClaim], commitments: Sequence[bytes], rule: str) -> None:
    if len(claims) != len(commitments):
        raise ValueError("one commitment per claim")
    seen = set()
    for c, h in zip(claims, commitments):
        if c.rule != rule:
            raise ValueError(f"client {c.client}: a {c.rule} claim in a {rule} round")
        key = to_checksum_address(c.client)
        if key in seen:
            raise ValueError(f"client {c.client} revealed twice")
        seen.add(key)
        c.check(h)


def ifedcrowd_costs(claims: Sequence[EdgeClaim], commitments: Sequence[bytes]) -> list[ClientCost]:
    """Verified claims -> the Stackelberg leader's (gamma, delta, t_min) per client, claim order."""
    _checked(claims, commitments, "ifedcrowd")
    out = []
    for c in claims:
        if any(v == 0 for v in c.cost_params):
            raise ValueError(f"client {c.client}: gamma, delta and t_min must be > 0")
        out.append(ClientCost(*(from_fixed(v) for v in c.cost_params)))
    return out


def lceme_clients(
    claims: Sequence[EdgeClaim],
    commitments: Sequence[bytes],
    weights: Sequence[float],
    sigma2: Sequence[float],
    heterogeneity: Sequence[float] | None = None,
) -> list[LcemeClient]:
    """Verified claims -> LCEME clients. p_i (global aggregation weights), sigma_i^2 and d_i are the
    station's own measurements, not claims."""
    _checked(claims, commitments, "lceme")
    if not (len(weights) == len(sigma2) == len(claims)):
        raise ValueError("weights and sigma2 need one entry per claim")
    d = heterogeneity or [0.0] * len(claims)
    out = []
    for c, p, s2, di in zip(claims, weights, sigma2, d):
        c_p, c_l = (from_fixed(v) for v in c.cost_params)
        if c_p <= 0:
            raise ValueError(f"client {c.client}: c_p must be > 0")
        out.append(LcemeClient(p=p, sigma2=s2, c_p=c_p, c_l=c_l, d=di))
    return out

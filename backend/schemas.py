"""Request and response models of the coordinator's HTTP API (docs/protocol.md).

Amounts of wei and other uint256 values travel as decimal strings (browsers lose precision above
2^53); small integers (phases, bps, counts, indices) stay JSON numbers.
"""
from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fl_worker.models import ARCHITECTURES, ModelSpec
from fl_worker.plan import TrainingPlan  # noqa: F401  (re-exported: the coordinator's API model)
from hcfl.protocol import SQLITE_INT_LIMIT, Phase

Hex32 = str  # "0x" + 64 hex digits
MAX_PARAMETERS = 20_000_000  # a spec whose model is larger is refused (memory on a 2-core box)

DATASET_SHAPES: dict[str, tuple[tuple[int, int, int] | None, int]] = {
    # dataset -> (input shape, number of classes); synthetic accepts any (C, H, W)
    "digits": ((1, 8, 8), 10),
    "mnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
    "synthetic": ((1, 8, 8), 10),
}


def model_parameters(spec: ModelSpec) -> int:
    """Parameter count without allocating the weights (built on torch's meta device)."""
    with torch.device("meta"):
        model = ARCHITECTURES[spec.arch](spec)
    return sum(p.numel() for p in model.parameters())


class SpecIn(BaseModel):
    """`POST /api/specs` body."""

    model_config = ConfigDict(extra="forbid")

    spec: ModelSpec
    training: TrainingPlan = TrainingPlan()

    @field_validator("spec")
    @classmethod
    def _bounded(cls, spec: ModelSpec) -> ModelSpec:
        if max(spec.input_shape) > 512 or spec.num_classes > 1000 or len(spec.hidden) > 16 or max(spec.hidden) > 8192:
            raise ValueError("spec too large (dims <= 512, classes <= 1000, <= 16 layers of width <= 8192)")
        if spec.init_seed >= SQLITE_INT_LIMIT:
            raise ValueError("init_seed must be < 2^63")
        if spec.arch == "resnet" and spec.input_shape[1] * spec.input_shape[2] > 64 * 64:
            raise ValueError("resnet inputs are limited to 64x64")
        n = model_parameters(spec)
        if n > MAX_PARAMETERS:
            raise ValueError(f"model has {n} parameters, more than the {MAX_PARAMETERS} allowed")
        return spec

    @model_validator(mode="after")
    def _fits_dataset(self) -> "SpecIn":
        shape, classes = DATASET_SHAPES[self.training.dataset]
        if self.training.dataset != "synthetic" and tuple(self.spec.input_shape) != shape:
            raise ValueError(f"dataset {self.training.dataset} has inputs {shape}, the spec says {self.spec.input_shape}")
        if self.training.dataset == "synthetic" and tuple(self.spec.input_shape) != shape:
            raise ValueError(f"the synthetic dataset has inputs {shape}")
        if self.spec.num_classes < classes:
            raise ValueError(f"dataset {self.training.dataset} has {classes} classes; the model outputs {self.spec.num_classes}")
        return self


class SpecCreated(BaseModel):
    omega: Hex32
    uri: str


class SpecOut(BaseModel):
    omega: Hex32
    spec: ModelSpec
    training: TrainingPlan


# ------------------------------------------------------------------ chain views
class RoundConfigOut(BaseModel):
    """The round's campaign config (IHCFL.Config of contract v2); amounts as decimal strings."""

    join_duration: int
    propose_duration: int
    commit_duration: int
    reveal_duration: int
    train_duration: int
    vote_commit_duration: int
    vote_reveal_duration: int
    non_reveal_penalty_bps: int
    non_reveal_penalty_floor: str
    punish_threshold_bps: int
    pool_draw_bps: int
    max_proposals_per_owner: int
    payment_rule: Literal["posted", "paper-random"]
    owner_share_rule: Literal["equal", "stake", "proportional", "contribution"]
    station_share_rule: Literal["equal", "stake", "proportional", "contribution"]
    min_owner_deposit: str
    min_station_deposit: str
    min_bond: str
    max_price: str
    vote_deposit: str


class RoundSummary(BaseModel):
    """One round of contract v2, read from the event ledger (hcfl.ledger) plus its phase (`state(roundId)`)."""

    round_id: int
    campaign_id: int
    creator: str = Field(description="the campaign's creator (only it opens rounds)")
    phase: str = Field(description="the phase's name (hcfl.protocol.Phase): " + ", ".join(p.title for p in Phase))
    phase_id: int
    phase_end: int = Field(description="unix time the current phase ends (0: none, e.g. AwaitingSettlement)")
    join_end: int
    propose_end: int
    commit_end: int
    reveal_end: int
    owner_count: int
    station_count: int
    revealed_owners: int
    revealed_stations: int
    proposal_count: int
    settled: bool
    selected_some: bool
    selected: int | None
    unfunded: bool
    total_payment: str = Field(description="C")
    owner_discount: str = Field(description="D_o, drawn from the campaign's owner pool")
    station_bonus: str = Field(description="D_s, drawn from the campaign's station pool")
    escrow: str = Field(description="E = C + D_s, the stations' money")
    seed: str
    finalized: bool
    global_model_hash: Hex32
    achieved_acc_bps: int
    scores_root: Hex32
    scores_total: str
    validation_hash: Hex32
    training_closed_at: int
    objections: int
    punished: bool
    winner_failed: bool
    punish_votes: int
    keep_votes: int
    punish_weight: str
    keep_weight: str
    owner_pool: str
    station_pool: str
    cfg: RoundConfigOut


class ProposalOut(BaseModel):
    index: int
    proposer: str
    spec_hash: Hex32
    uri: str
    arch_id: int
    promised_acc_bps: int
    global_rounds: int
    label_mask: int
    bond: str
    price: str
    spec_known: bool = Field(description="the coordinator holds the ModelSpec and TrainingPlan for spec_hash")


class ParticipantOut(BaseModel):
    address: str
    role: str
    status: Literal["joined", "committed", "revealed"]
    committed: bool
    revealed: bool
    deposit: str
    reported_rounds: int
    claims: list[str] = Field(description="capped claims (deposit - 1 at most), once revealed")
    claimed: bool = Field(description="its deposit part was settled lazily (claim)")
    payment: str | None
    tax: str | None
    penalty: str | None
    refund: str | None
    reward: str | None = Field(description="station reward, once claimed")
    credited: str = Field(description="everything credited to it in this round so far")


class RoundDetail(RoundSummary):
    proposals: list[ProposalOut]
    owners: list[ParticipantOut]
    stations: list[ParticipantOut]
    surplus: list[str] = Field(description="S(m) per proposal from the revealed capped claims")


class EventOut(BaseModel):
    name: str
    args: dict[str, Any]
    block: int
    tx_hash: Hex32
    log_index: int


class FundsRow(BaseModel):
    """One account's money flows, from the event ledger; credit_balance is the contract's credits(address)."""

    address: str
    deposits: str = "0"
    bonds: str = "0"
    vote_deposits: str = "0"
    payments: str = "0"
    taxes: str = "0"
    penalties: str = "0"
    rewards: str = "0"
    credits: str = "0"
    withdrawn: str = "0"
    credit_balance: str = "0"
    credits_by_reason: dict[str, str] = {}


class CampaignFunds(BaseModel):
    campaign_id: int
    creator: str
    rounds: list[int]
    owner_pool: str
    station_pool: str
    swept: str


class FundsOut(BaseModel):
    contract: str
    balance: str
    accounting: dict[str, str]
    solvent: bool = Field(description="balance >= everything owed (deposits, credits, bonds, escrow, pools, vote deposits)")
    surplus: str = Field(description="balance - owed: ether nobody is owed (e.g. forced in)")
    campaigns: list[CampaignFunds]
    accounts: list[FundsRow]


class HealthOut(BaseModel):
    ok: bool
    chain_id: int
    contract: str
    block: int


class ChainOut(BaseModel):
    chain_id: int
    contract: str
    rpc: str
    kind: str
    abi: list[dict[str, Any]]


# ------------------------------------------------------------------ training
class TaskOut(BaseModel):
    status: Literal["train", "wait", "done"]
    round_id: int | None = None
    global_round: int | None = None
    global_model_hash: Hex32 | None = None
    spec: ModelSpec | None = None
    training: TrainingPlan | None = None
    label_mask: int | None = None
    station_index: int | None = None
    num_stations: int | None = None
    global_rounds: int | None = Field(default=None, description="t")
    reason: str | None = None


class StationUpload(BaseModel):
    address: str
    samples: int
    accuracy_bps: int
    update_hash: Hex32


class HistoryEntry(BaseModel):
    global_round: int
    accuracy: float | None
    global_model_hash: Hex32 = Field(description="hash of the global model produced by this round (starts round g+1)")
    stations: list[StationUpload]


class ScoreLeaf(BaseModel):
    station: str
    score: int
    prefix_before: int
    proof: list[Hex32] = Field(description="Merkle proof of (station, score, prefix_before) for claimWithScore")


class TrainingResult(BaseModel):
    """What the winner finalizes with: finalizeTraining(rid, global_model_hash, achieved_acc_bps, scores_root,
    scores_total, validation_hash); the validation split is GET /api/rounds/{rid}/validation."""

    global_model_hash: Hex32
    achieved_acc_bps: int
    scores: list[int]
    stations: list[str]
    scores_root: Hex32
    scores_total: int
    score_leaves: list[ScoreLeaf]
    validation_hash: Hex32
    # rewards only for included work (hcfl/inclusion.py): the winner calls recordInclusion(rid, inclusion_root,
    # manifests_root) before finalizeTraining; each station proves its leaf with proveInclusion before claiming
    inclusion_root: Hex32 | None = None
    manifests_root: Hex32 | None = None
    inclusion_leaves: list[dict[str, Any]] = []


class TrainingOut(BaseModel):
    round_id: int
    global_round: int
    t: int
    status: Literal["waiting", "training", "done"]
    stations: list[str] = []
    uploaded: list[str] = Field(default=[], description="stations that uploaded for the current global round")
    pending: list[StationUpload] = Field(default=[], description="the current global round's uploads")
    initial_model_hash: Hex32 | None = None
    history: list[HistoryEntry] = []
    result: TrainingResult | None = None
    note: str | None = None
    stations_seen: dict[str, float] = Field(
        default={}, description="station -> unix time of its daemon's last task request since this coordinator started")


class ManifestEntry(BaseModel):
    address: str
    update_hash: Hex32
    weight: int = Field(description="aggregation weight: declared samples clipped to the station's cap")
    declared_samples: int
    edge_root: dict[str, Any] | None = Field(default=None, description="the station's signed edge-clients root, if any")


class ManifestOut(BaseModel):
    """A closed global round's inclusion manifest: a Merkle root (hcfl.protocol.leaves.MANIFEST_LEAF_TYPES) over
    the included updates, who was absent, and the screening evidence."""

    model_config = ConfigDict(extra="allow")

    round_id: int
    global_round: int
    leaf_types: list[str]
    root: Hex32 | None
    global_model_hash: Hex32
    included: list[ManifestEntry]
    absent: list[str]
    evidence: list[dict[str, Any]]


class UploadAccepted(BaseModel):
    accepted: bool
    update_hash: Hex32
    global_round: int


class AuditOut(BaseModel):
    """The v2 auditor's report (backend.audit_v2.AuditReportV2) plus `ok`."""

    model_config = ConfigDict(extra="allow")

    ok: bool | None = None
    kind: str | None = None


# ------------------------------------------------------------------ JSON-RPC
class RpcRequest(BaseModel):
    """One JSON-RPC 2.0 request (the pass-through also takes a JSON array of up to 50)."""

    model_config = ConfigDict(extra="forbid")

    jsonrpc: Literal["2.0"] = "2.0"
    id: int | str | None = None
    method: str = Field(..., max_length=64)
    params: list[Any] | dict[str, Any] = []


class HealthDown(BaseModel):
    """/api/health while something is down (503): `down` maps each failing component (node, database, model store,
    deployment, lease) to what is wrong."""
    ok: bool
    chain_id: int
    contract: str
    block: int | None
    down: dict[str, str]

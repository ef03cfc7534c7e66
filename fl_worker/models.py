"""Model architectures a proposal can name by id, and the `ModelSpec` that ω commits to together with the
training plan (fl_worker.plan.omega, hcfl.protocol.model_commitment).

Plain torch only. Normalization layers are GroupNorm rather than BatchNorm: BatchNorm's running
statistics are not model weights (averaging them across non-IID clients is ill-defined) and would
put integer buffers into the state dict; GroupNorm keeps every entry a float parameter.
"""
from __future__ import annotations

from typing import Callable, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from hcfl.protocol import canonical_json

Arch = Literal["mlp", "cnn", "resnet"]

# Default widths per architecture; filled into the spec so that equal models hash equally.
DEFAULT_HIDDEN: dict[str, tuple[int, ...]] = {
    "mlp": (128,),  # hidden layer sizes
    "cnn": (16, 32),  # conv channels
    "resnet": (16, 32, 64),  # stage widths (one basic block per stage)
}


class ModelSpec(BaseModel):
    """Everything needed to rebuild a proposal's initial model bit for bit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arch: Arch
    input_shape: tuple[int, int, int] = Field(description="(channels, height, width)")
    num_classes: int = Field(default=10, ge=2)
    hidden: tuple[int, ...] = Field(default=(), description="layer widths; empty means the arch default")
    init_seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fill_defaults(self) -> "ModelSpec":
        if not self.hidden:
            object.__setattr__(self, "hidden", DEFAULT_HIDDEN[self.arch])
        if any(h < 1 for h in self.hidden) or any(d < 1 for d in self.input_shape):
            raise ValueError("widths and input dimensions must be positive")
        return self

    def canonical_json(self) -> bytes:
        """Sorted keys, no whitespace, tuples as lists (hcfl.protocol.canonical_json of the JSON object)."""
        return canonical_json(self.model_dump(mode="json"))


class MLP(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        c, h, w = spec.input_shape
        layers: list[nn.Module] = [nn.Flatten()]
        width = c * h * w
        for size in spec.hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, spec.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """conv-relu-maxpool blocks, then adaptive pooling to 4x4 so any input size >= 1 works."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        channels = spec.input_shape[0]
        blocks: list[nn.Module] = []
        for i, width in enumerate(spec.hidden):
            blocks += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            if i < len(spec.hidden) - 1:
                blocks.append(nn.MaxPool2d(2, ceil_mode=True))
            channels = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = nn.Linear(channels * 16, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1))


def _groups(channels: int) -> int:
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.GroupNorm(_groups(cout), cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """ResNet-style: 3x3 stem, one basic block per stage (stride 2 after the first), global
    average pooling -- sized for 32x32 and fine on 8x8 or 28x28."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        first = spec.hidden[0]
        self.stem = nn.Sequential(
            nn.Conv2d(spec.input_shape[0], first, 3, padding=1, bias=False), nn.GroupNorm(_groups(first), first), nn.ReLU()
        )
        stages, cin = [], first
        for i, width in enumerate(spec.hidden):
            stages.append(BasicBlock(cin, width, stride=1 if i == 0 else 2))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


ARCHITECTURES: dict[str, Callable[[ModelSpec], nn.Module]] = {
    "mlp": MLP,
    "cnn": SmallCNN,
    "resnet": SmallResNet,
}


def build_model(spec: ModelSpec) -> nn.Module:
    """The spec's model with its initial weights: a pure function of the spec (for a given torch
    version). The global RNG is forked so callers' random streams are untouched."""
    with torch.random.fork_rng(devices=[]):
        # the CPU generator only: torch.manual_seed also queues a CUDA seeding with a formatted stack trace on
        # every call (milliseconds in a deep daemon thread); CPU initialisation draws the same stream either way
        torch.default_generator.manual_seed(spec.init_seed)
        model = ARCHITECTURES[spec.arch](spec)
    return model


def state_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached, contiguous copy of the model's state dict (safe to keep across training)."""
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

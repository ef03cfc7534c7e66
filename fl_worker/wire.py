"""Models on the wire: safetensors bytes, checked against an expected hash and template.

safetensors is a JSON header plus raw little-endian buffers; nothing is ever unpickled, so bytes
from another party cannot execute code. `decode_state` checks, in order: size, hash, format,
keys, shapes, dtypes and (by default) finiteness, and raises `WireFormatError` naming the problem.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import torch
from eth_utils import keccak
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save
from torch import Tensor

from fl_worker.models import ModelSpec, build_model, state_of

StateDict = dict[str, Tensor]


class WireFormatError(ValueError):
    """Received model bytes do not match what was expected."""


def encode_state(state: Mapping[str, Tensor]) -> bytes:
    """Serialize a state dict to safetensors bytes (deterministic for equal tensors)."""
    return _st_save({k: v.detach().cpu().contiguous().clone() for k, v in state.items()})


def state_hash(data: bytes) -> str:
    """keccak256 of the encoded bytes, 0x-prefixed hex: the update hash reported on chain."""
    return "0x" + keccak(data).hex()


def _normalize_hash(value: str) -> str:
    text = value.lower()
    return text if text.startswith("0x") else "0x" + text


Layout = dict[str, tuple[tuple[int, ...], torch.dtype]]


@lru_cache(maxsize=16)
def _spec_layout(spec: ModelSpec) -> Layout:
    return {k: (tuple(v.shape), v.dtype) for k, v in state_of(build_model(spec)).items()}


def expected_layout(expected: ModelSpec | Mapping[str, Tensor]) -> Layout:
    """Key -> (shape, dtype) that a state dict for `expected` must have."""
    if isinstance(expected, ModelSpec):
        return _spec_layout(expected)
    return {k: (tuple(v.shape), v.dtype) for k, v in expected.items()}


def decode_state(
    data: bytes,
    expected: ModelSpec | Mapping[str, Tensor],
    expected_hash: str | None = None,
    *,
    max_bytes: int | None = None,
    allow_nonfinite: bool = False,
) -> StateDict:
    """Parse and validate model bytes against `expected` (a spec, or a template state dict)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise WireFormatError(f"model is {len(data)} bytes, more than the {max_bytes} allowed")
    if expected_hash is not None:
        actual = state_hash(data)
        if actual != _normalize_hash(expected_hash):
            raise WireFormatError(f"hash mismatch: expected {_normalize_hash(expected_hash)}, got {actual}")
    try:
        state = _st_load(bytes(data))
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise WireFormatError(f"not a valid safetensors payload: {exc}") from exc

    layout = expected_layout(expected)
    missing = sorted(set(layout) - set(state))
    extra = sorted(set(state) - set(layout))
    if missing or extra:
        parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
        raise WireFormatError("; ".join(parts))
    for key, (shape, dtype) in layout.items():
        got = state[key]
        if tuple(got.shape) != shape:
            raise WireFormatError(f"{key}: shape {tuple(got.shape)}, expected {shape}")
        if got.dtype != dtype:
            raise WireFormatError(f"{key}: dtype {got.dtype}, expected {dtype}")
        if not allow_nonfinite and got.dtype.is_floating_point and not bool(torch.isfinite(got).all()):
            raise WireFormatError(f"{key}: contains NaN or infinite values")
    return state

from __future__ import annotations

import json

import pytest
import torch

from fl_worker.models import ModelSpec, build_model, state_of
from fl_worker.wire import WireFormatError, decode_state, encode_state, state_hash


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_architectures_accept_input_sizes(arch, shape):
    model = build_model(ModelSpec(arch=arch, input_shape=shape))
    assert model(torch.zeros(2, *shape)).shape == (2, 10)


def test_omega_is_canonical_keccak_of_spec_and_plan():
    from eth_utils import keccak

    from fl_worker.plan import TrainingPlan, omega

    a = ModelSpec(arch="cnn", input_shape=(1, 8, 8))
    b = ModelSpec(arch="cnn", input_shape=[1, 8, 8], hidden=[16, 32], num_classes=10, init_seed=0)
    plan = TrainingPlan()
    assert a == b and omega(a, plan) == omega(b, plan)
    assert omega(a, plan).startswith("0x") and len(omega(a, plan)) == 66
    assert a.canonical_json() == b'{"arch":"cnn","hidden":[16,32],"init_seed":0,"input_shape":[1,8,8],"num_classes":10}'
    plan_json = json.dumps(plan.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert omega(a, plan) == "0x" + keccak(f'{{"spec":{a.canonical_json().decode()},"training":{plan_json}}}'.encode()).hex()
    assert omega(ModelSpec(arch="cnn", input_shape=(1, 8, 8), init_seed=1), plan) != omega(a, plan)
    assert omega(a, TrainingPlan(lr=10)) != omega(a, plan)
    with pytest.raises(ValueError):
        ModelSpec(arch="vit", input_shape=(1, 8, 8))


def test_build_model_deterministic_and_leaves_global_rng_alone():
    spec = ModelSpec(arch="resnet", input_shape=(3, 32, 32), init_seed=4)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    s1 = state_of(build_model(spec))
    assert torch.equal(torch.rand(1), expected_next)
    s2 = state_of(build_model(spec))
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    s3 = state_of(build_model(spec.model_copy(update={"init_seed": 5})))
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)


@pytest.fixture()
def spec() -> ModelSpec:
    return ModelSpec(arch="cnn", input_shape=(1, 8, 8))


def test_round_trip_and_deterministic_bytes(spec):
    state = state_of(build_model(spec))
    data = encode_state(state)
    assert encode_state(state) == data
    decoded = decode_state(data, spec, expected_hash=state_hash(data))
    assert all(torch.equal(decoded[k], state[k]) for k in state)
    # the template may also be a state dict, and the hash may omit 0x / use upper case
    decode_state(data, state, expected_hash=state_hash(data)[2:].upper())


def test_rejects_wrong_hash(spec):
    data = encode_state(state_of(build_model(spec)))
    with pytest.raises(WireFormatError, match="hash mismatch"):
        decode_state(data, spec, expected_hash="0x" + "00" * 32)


def test_rejects_wrong_shape(spec):
    state = state_of(build_model(spec))
    state["head.bias"] = torch.zeros(11)
    with pytest.raises(WireFormatError, match=r"head.bias: shape \(11,\), expected \(10,\)"):
        decode_state(encode_state(state), spec)


def test_rejects_wrong_dtype(spec):
    state = state_of(build_model(spec))
    state["head.bias"] = state["head.bias"].double()
    with pytest.raises(WireFormatError, match="head.bias: dtype torch.float64, expected torch.float32"):
        decode_state(encode_state(state), spec)


def test_rejects_extra_and_missing_keys(spec):
    state = state_of(build_model(spec))
    state["backdoor"] = torch.zeros(1)
    with pytest.raises(WireFormatError, match="unexpected keys \\['backdoor'\\]"):
        decode_state(encode_state(state), spec)
    del state["backdoor"], state["head.weight"]
    with pytest.raises(WireFormatError, match="missing keys \\['head.weight'\\]"):
        decode_state(encode_state(state), spec)


def test_rejects_garbage_nonfinite_and_oversize(spec):
    with pytest.raises(WireFormatError, match="safetensors"):
        decode_state(b"\x80\x04definitely not safetensors", spec)
    state = state_of(build_model(spec))
    state["head.bias"][0] = float("nan")
    data = encode_state(state)
    with pytest.raises(WireFormatError, match="NaN"):
        decode_state(data, spec)
    assert torch.isnan(decode_state(data, spec, allow_nonfinite=True)["head.bias"][0])
    with pytest.raises(WireFormatError, match="allowed"):
        decode_state(data, spec, max_bytes=100)

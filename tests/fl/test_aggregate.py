from __future__ import annotations

import pytest
import torch

from fl_worker.aggregate import weighted_average


def test_weighted_average_exact_on_hand_made_tensors():
    a = {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([[5.0, 6.0], [7.0, 8.0]]), "b": torch.tensor([3.0])}
    out = weighted_average([(a, 1), (b, 3)])
    assert torch.equal(out["w"], torch.tensor([[4.0, 5.0], [6.0, 7.0]]))
    assert torch.equal(out["b"], torch.tensor([2.25]))
    assert out["w"].dtype == torch.float32


def test_weighted_average_is_float64_accumulated():
    # 1e8 + 1 is not representable in float32 accumulation order-independently; float64 is exact.
    items = [({"x": torch.tensor([1e8], dtype=torch.float32)}, 1)] + [
        ({"x": torch.tensor([1.0], dtype=torch.float32)}, 1) for _ in range(3)
    ]
    expected = torch.tensor([(1e8 + 3.0) / 4], dtype=torch.float64).to(torch.float32)
    assert torch.equal(weighted_average(items)["x"], expected)


def test_weight_zero_is_ignored_and_single_item_is_identity():
    a = {"x": torch.tensor([1.5, -2.0])}
    b = {"x": torch.tensor([100.0, 100.0])}
    assert torch.equal(weighted_average([(a, 7), (b, 0)])["x"], a["x"])
    assert torch.equal(weighted_average([(a, 5)])["x"], a["x"])


def test_integer_entries_rounded():
    a = {"n": torch.tensor([1], dtype=torch.int64)}
    b = {"n": torch.tensor([4], dtype=torch.int64)}
    out = weighted_average([(a, 1), (b, 1)])
    assert out["n"].dtype == torch.int64 and out["n"].item() == 2  # round(2.5) to even


def test_hierarchical_average_equals_flat_average():
    g = torch.Generator().manual_seed(0)
    states = [({"x": torch.randn(3, generator=g, dtype=torch.float64)}, n) for n in (3, 5, 2, 7)]
    flat = weighted_average(states)["x"]
    s1 = weighted_average(states[:2])["x"]
    s2 = weighted_average(states[2:])["x"]
    nested = weighted_average([({"x": s1}, 8), ({"x": s2}, 9)])["x"]
    assert torch.allclose(flat, nested, atol=1e-12)


@pytest.mark.parametrize(
    "items, message",
    [
        ([], "nothing"),
        ([({"x": torch.zeros(1)}, 0)], "zero"),
        ([({"x": torch.zeros(1)}, -1)], "non-negative"),
        ([({"x": torch.zeros(1)}, 1), ({"y": torch.zeros(1)}, 1)], "keys"),
        ([({"x": torch.zeros(1)}, 1), ({"x": torch.zeros(2)}, 1)], "x"),
        ([({"x": torch.zeros(1)}, 1), ({"x": torch.zeros(1, dtype=torch.float64)}, 1)], "float64"),
    ],
)
def test_weighted_average_rejects_bad_input(items, message):
    with pytest.raises(ValueError, match=message):
        weighted_average(items)

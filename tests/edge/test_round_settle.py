"""hcfl.edge.round_settle: published inputs -> wei per client for every rule; absent and unrevealed clients
earn nothing; the budget is conserved to the wei; the audit recomputation flags tampered amounts and inputs."""
from __future__ import annotations

import pytest

from hcfl.edge.claims import to_fixed
from hcfl.edge.round_settle import ClientInputs, EdgeSettlement, audit_settlement, compute
from hcfl.edge.rule import EdgeRewardRule

A, B, C, D = ("0x" + f"{i:02x}" * 20 for i in (0x11, 0x22, 0x33, 0x44))
BUDGET = 10**15 + 7


def _settlement(rule: str, **extra) -> EdgeSettlement:
    clients = [
        ClientInputs(address=A, included=True, samples=300, accuracy=0.9, completion_time=2.0, upload_time=1000,
                     newest_sample_time=990),
        ClientInputs(address=B, included=True, samples=100, accuracy=0.6, completion_time=1.0, upload_time=1000,
                     newest_sample_time=900),
        ClientInputs(address=C, included=True, samples=50, accuracy=0.5, completion_time=1.0, upload_time=1000,
                     newest_sample_time=999),
        ClientInputs(address=D, included=False),  # absent from every global round
    ]
    return EdgeSettlement(station="0x" + "aa" * 20, round_key="0x" + "bb" * 32, round_id=3,
                          rule=EdgeRewardRule(name=rule), budget=BUDGET, clients=clients, **extra)


IFED = {A: [to_fixed(1), to_fixed("0.5"), to_fixed(1)], B: [to_fixed(2), to_fixed(1), to_fixed(1)],
        D: [to_fixed(1), to_fixed(1), to_fixed(1)]}  # C revealed nothing
LCEME = {A: [to_fixed("0.01"), to_fixed("0.5")], B: [to_fixed("0.02"), 0], D: [to_fixed("0.01"), 0], C: [0, 5]}  # C: c_p = 0 is malformed


@pytest.mark.parametrize("rule,extra", [
    ("equal", {}), ("samples", {}), ("ifedcrowd", {"claims": IFED}),
    ("lceme", {"claims": LCEME, "lceme_loss": 0.4, "lceme_seed_block": 5}),
    ("shapley", {"shapley_utility": [0.0, 0.5, 0.3, 0.6, 0.2, 0.55, 0.35, 0.7]}),
])
def test_every_rule_conserves_and_pays_no_absent_client(rule, extra) -> None:
    s = _settlement(rule, **extra)
    amounts, returned, _ = compute(s)
    assert sum(amounts.values()) + returned == BUDGET
    assert amounts[D] == 0  # absent: nothing, even with a revealed claim
    if rule in ("ifedcrowd", "lceme"):
        assert amounts[C] == 0  # no revealed claim: excluded
        assert amounts[A] > 0 and amounts[B] > 0
    else:
        assert all(amounts[x] > 0 for x in (A, B, C))
    if rule == "samples":
        assert amounts[A] > amounts[B] > amounts[C]
    published = s.model_copy(update={"amounts": amounts, "returned": returned})
    assert audit_settlement(published) == []


def test_audit_flags_a_tampered_amount_and_tampered_inputs() -> None:
    s = _settlement("samples")
    amounts, returned, _ = compute(s)
    honest = s.model_copy(update={"amounts": amounts, "returned": returned})
    moved = dict(amounts)
    moved[A] -= 5
    moved[B] += 5
    problems = audit_settlement(honest.model_copy(update={"amounts": moved}))
    assert len(problems) == 2 and A in problems[0] and B in problems[1]
    # inputs changed after the fact give different amounts than the published ones
    clients = [c.model_copy(update={"samples": 1}) if c.address == A else c for c in honest.clients]
    assert audit_settlement(honest.model_copy(update={"clients": clients}))
    # the absent client cannot be slipped a payment
    sneaky = dict(amounts)
    sneaky[D], sneaky[A] = 1, amounts[A] - 1
    assert any(D in p for p in audit_settlement(honest.model_copy(update={"amounts": sneaky})))


def test_shapley_needs_every_coalition_and_lceme_its_loss() -> None:
    assert audit_settlement(_settlement("shapley", shapley_utility=[0.0, 1.0]))[0].startswith("settlement inputs")
    assert audit_settlement(_settlement("lceme", claims=LCEME))[0].startswith("settlement inputs")


def test_nobody_earning_returns_the_budget() -> None:
    s = _settlement("ifedcrowd")  # no claim revealed at all
    amounts, returned, _ = compute(s)
    assert returned == BUDGET and not any(amounts.values())

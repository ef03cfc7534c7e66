from __future__ import annotations

import pytest
from pydantic import ValidationError

from hcfl.mechanism import Instance, settle
from hcfl.mechanism.models import describe_validation_error

OWNER_A = {"id": "a", "values": [1, 2]}
S = {"id": "s", "costs": [0, 1]}


def test_station_share_rule_defaults_to_owner_rule():
    inst = Instance.model_validate({"owners": [OWNER_A], "stations": [S], "share_rule": "capability"})
    assert inst.effective_station_share_rule == "capability"
    inst = Instance.model_validate({"owners": [OWNER_A], "stations": [S], "station_share_rule": "contribution"})
    assert inst.effective_station_share_rule == "contribution"


def test_non_revealed_participants_need_no_claims():
    inst = Instance.model_validate(
        {"owners": [OWNER_A, {"id": "b", "status": "joined", "deposit": 5}], "stations": [S]}
    )
    assert inst.k == 2 and [o.id for o in inst.revealed_owners] == ["a"]
    assert settle(inst).credits == {"b": 5}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"owners": [OWNER_A], "stations": [{"id": "t", "status": "committed"}]}, "deposit is needed"),
        ({"owners": [OWNER_A], "stations": [S], "proposals": [{"proposer": "s"}, {"proposer": "a"}]}, "not an owner"),
        ({"owners": [OWNER_A], "stations": [S], "proposals": [{"proposer": "a"}]}, "K=1"),
        ({"owners": [{"id": "a", "values": [0] * 21}]}, "at most 20 proposals"),
        ({"owners": [{"id": f"o{i}", "values": [0]} for i in range(201)]}, "at most 200"),
        ({"owners": [OWNER_A], "stations": [S], "non_reveal_penalty_bps": 10001}, "non_reveal_penalty_bps"),
        ({"owners": [{"id": "", "values": [1, 2]}]}, "owners.0.id"),
        ({"owners": [{"id": "a", "values": [1, True]}]}, "owners.0.values.1"),
        ({"owners": [{"id": "a", "values": [1, "2"]}]}, "owners.0.values.1"),
        ({"owners": [{"id": "a", "costs": [1, 2]}]}, "costs"),
    ],
)
def test_validation_messages(data, fragment):
    with pytest.raises(ValidationError) as info:
        Instance.model_validate(data)
    line = describe_validation_error(info.value)
    assert fragment in line and "\n" not in line

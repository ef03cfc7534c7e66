"""EdgeRewardRule's hash, sealed edge cost claims, and settling each rule into wei."""
from __future__ import annotations

import json

import numpy as np
import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hcfl.edge import claims, settle
from hcfl.edge.ifedcrowd import ClientCost, Rates
from hcfl.edge.lceme import LcemeClient
from hcfl.edge.rule import RULES, EdgeRewardRule

STATION = "0x" + "11" * 20
CLIENTS = ["0x" + f"{k:02x}" * 20 for k in range(0x21, 0x25)]
SALT = bytes(range(32))


def test_rule_hash_is_keccak_of_canonical_json():
    r = EdgeRewardRule(name="ifedcrowd", params={"alpha": 80, "beta": 50})
    canon = b'{"name":"ifedcrowd","params":{"alpha":80.0,"beta":50.0,"unit_wei":null},"version":1}'
    assert r.canonical_json() == canon and r.hash() == keccak(canon)
    # the same rule written differently hashes the same; any change of a parameter changes it
    same = EdgeRewardRule.model_validate(json.loads('{"params": {"beta": 50.0, "alpha": 80}, "name": "ifedcrowd"}'))
    assert same.hash() == r.hash()
    assert EdgeRewardRule(name="ifedcrowd", params={"alpha": 80.0000001}).hash() != r.hash()
    assert len({EdgeRewardRule(name=n).hash() for n in RULES}) == len(RULES)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "vcg"},
        {"name": "equal", "params": {"alpha": 1}},
        {"name": "ifedcrowd", "params": {"alpha": float("nan")}},
        {"name": "ifedcrowd", "params": {"alpha": -1}},
        {"name": "ifedcrowd", "params": {"unit_wei": 0}},
        {"name": "shapley", "params": {"exact_limit": 9}},
        {"name": "lceme", "params": {"system": {"rounds": 0}}},
        {"name": "equal", "extra": 1},
    ],
)
def test_bad_rules_rejected(bad):
    with pytest.raises(ValidationError):
        EdgeRewardRule.model_validate(bad)


def test_commitment_matches_abi_encoding():
    params = [claims.to_fixed("1.5"), claims.to_fixed(2), claims.to_fixed("0.25")]
    assert params == [1_500_000_000_000_000_000, 2 * 10**18, 250_000_000_000_000_000]
    h = claims.edge_claim_commitment(7, STATION, CLIENTS[0], params, SALT)
    expect = keccak(encode(["uint256", "address", "address", "uint256[]", "bytes32"],
                           [7, to_checksum_address(STATION), to_checksum_address(CLIENTS[0]), params, SALT]))
    assert h == expect
    # bound to round, station and client: a claim cannot be replayed elsewhere
    assert h != claims.edge_claim_commitment(8, STATION, CLIENTS[0], params, SALT)
    assert h != claims.edge_claim_commitment(7, CLIENTS[1], CLIENTS[0], params, SALT)
    assert h != claims.edge_claim_commitment(7, STATION, CLIENTS[1], params, SALT)
    for bad in ((7, STATION, CLIENTS[0], params, b"x"), (7, STATION, CLIENTS[0], [-1], SALT), (-1, STATION, CLIENTS[0], params, SALT)):
        with pytest.raises(ValueError):
            claims.edge_claim_commitment(*bad)


def _claim(k, rule, values):
    return claims.EdgeClaim(round_id=3, station=STATION, client=CLIENTS[k], rule=rule,
                            cost_params=[claims.to_fixed(v) for v in values], salt=SALT)


def test_revealed_claims_become_leader_parameters():
    cs = [_claim(k, "ifedcrowd", (4 + k, "3", 1)) for k in range(3)]
    costs = claims.ifedcrowd_costs(cs, [c.commitment() for c in cs])
    assert costs == [ClientCost(4, 3, 1), ClientCost(5, 3, 1), ClientCost(6, 3, 1)]
    ls = [_claim(k, "lceme", ("0.000001", "0.01")) for k in range(2)]
    lc = claims.lceme_clients(ls, [c.commitment() for c in ls], [0.5, 0.5], [64, 64])
    assert lc[0] == LcemeClient(p=0.5, sigma2=64, c_p=1e-6, c_l=0.01)


def test_claim_boundary_validation():
    ok = _claim(0, "lceme", (1e-6, 0.01))
    from_json = claims.EdgeClaim.model_validate(
        {**ok.model_dump(exclude={"salt"}), "salt": "0x" + SALT.hex(), "client": CLIENTS[0].lower()}
    )
    assert from_json.commitment() == ok.commitment()
    for bad in ({"salt": "x" * 32}, {"salt": "0x" + "zz" * 32}, {"salt": b"short"}, {"client": "0x1234"},
                {"station": 5}, {"cost_params": [-1, 2]}, {"cost_params": [1]}, {"round_id": 2**256}):
        with pytest.raises(ValidationError):
            claims.EdgeClaim.model_validate({**ok.model_dump(), **bad})


def test_bad_reveals_rejected():
    cs = [_claim(k, "ifedcrowd", (4, 3, 1)) for k in range(2)]
    hs = [c.commitment() for c in cs]
    with pytest.raises(ValueError, match="does not match"):
        claims.ifedcrowd_costs(cs, hs[::-1])
    with pytest.raises(ValueError, match="twice"):
        claims.ifedcrowd_costs([cs[0], cs[0]], [hs[0], hs[0]])
    z = _claim(0, "ifedcrowd", (0, 3, 1))
    with pytest.raises(ValueError, match="> 0"):
        claims.ifedcrowd_costs([z], [z.commitment()])
    wrong_len = _claim(0, "ifedcrowd", (4, 3))
    with pytest.raises(ValueError, match="3 cost parameters"):
        claims.ifedcrowd_costs([wrong_len], [wrong_len.commitment()])
    lc = _claim(0, "lceme", (1e-6, 0.01))
    with pytest.raises(ValueError, match="lceme claim in a ifedcrowd round"):
        claims.ifedcrowd_costs([lc], [lc.commitment()])
    with pytest.raises(ValueError):
        claims.to_fixed(-1)


def test_settle_each_rule_conserves_the_budget():
    B = 10**18 + 7
    r = EdgeRewardRule(name="ifedcrowd")
    costs = [ClientCost(4, 3, 1)] * 3
    rates = settle.announce_ifedcrowd(r, costs)
    p = settle.pay_ifedcrowd(r, B, rates, [0.8, 0.7, 0.0], [1.0, 2.0, 1.0], [100, 100, 100], [[99], [50], [0]])
    assert sum(p.amounts) + p.returned == B and p.returned == 0 and p.amounts[0] > p.amounts[1] > p.amounts[2] > 0
    with pytest.raises(ValueError, match="later than the upload"):
        settle.pay_ifedcrowd(r, B, rates, [0.8], [1.0], [100], [[101]])
    # absolute mode: 1 unit = 1e15 wei; the station gets the rest back
    ra = EdgeRewardRule(name="ifedcrowd", params={"unit_wei": 10**15})
    pa = settle.pay_ifedcrowd(ra, B, Rates(6, 4), [0.5], [1.0], [10], [[8]])
    assert pa.amounts == [(3 + 2) * 10**15] and pa.returned == B - 5 * 10**15

    lr = EdgeRewardRule(name="lceme", params={"max_loss": 5})
    clients = [LcemeClient(p=0.1, sigma2=64, c_p=1e-6, c_l=0.01)] * 10
    D = settle.announce_lceme(lr, clients)
    pl = settle.pay_lceme(lr, B, clients, D, 1.0)
    assert sum(pl.amounts) == B and len(set(pl.amounts)) <= 2
    # a loss so bad that every reward is negative: clamped to 0, the whole budget goes back
    worst = settle.pay_lceme(lr, B, clients, D, 1e9)
    assert worst.amounts == [0] * 10 and worst.returned == B

    sr = EdgeRewardRule(name="shapley")
    ps, res = settle.pay_shapley(sr, B, 3, lambda s: 0.2 * len(s & {0, 1}))
    assert ps.amounts == [B // 2, B - B // 2, 0] and res.method == "exact"

    assert settle.pay_equal(EdgeRewardRule(name="equal"), 10, 3).amounts == [3, 3, 4]
    assert settle.pay_samples(EdgeRewardRule(name="samples"), 10, [1, 0, 4]).amounts == [2, 0, 8]
    with pytest.raises(ValueError, match="committed 'equal'"):
        settle.pay_samples(EdgeRewardRule(name="equal"), 10, [1])


unit = st.one_of(st.none(), st.integers(1, 10**18))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**256 - 1), st.integers(1, 8), unit, st.integers(0, 2**32 - 1))
def test_every_rule_conserves_the_budget(budget, n, unit_wei, seed):
    rng = np.random.default_rng(seed)
    ir = EdgeRewardRule(name="ifedcrowd", params={"unit_wei": unit_wei})
    costs = [ClientCost(float(g), float(d), 1.0) for g, d in zip(rng.uniform(1, 5, n), rng.uniform(1, 2, n))]
    rates = settle.announce_ifedcrowd(ir, costs)
    up = [int(t) for t in rng.integers(10, 1000, n)]
    pays = [
        settle.pay_ifedcrowd(ir, budget, rates, rng.uniform(0, 1, n).tolist(), rng.uniform(0.5, 3, n).tolist(), up,
                             [[int(rng.integers(0, t + 1))] for t in up]),
    ]
    lr = EdgeRewardRule(name="lceme", params={"unit_wei": unit_wei})
    lc = [LcemeClient(p=1 / n, sigma2=float(s2), c_p=1e-6, c_l=0.01) for s2 in rng.uniform(10, 100, n)]
    pays.append(settle.pay_lceme(lr, budget, lc, settle.announce_lceme(lr, lc), float(rng.uniform(0, 20))))
    pays.append(settle.pay_shapley(EdgeRewardRule(name="shapley"), budget, n, lambda s: float(len(s)) / n * rng.uniform())[0])
    pays.append(settle.pay_equal(EdgeRewardRule(name="equal"), budget, n))
    pays.append(settle.pay_samples(EdgeRewardRule(name="samples"), budget, [int(x) for x in rng.integers(0, 500, n)]))
    for p in pays:
        assert sum(p.amounts) + p.returned == budget and min(p.amounts) >= 0 and p.returned >= 0

"""Worked examples, computed by hand (the arithmetic is in the comments)."""
from __future__ import annotations

from hcfl.mechanism import Instance, settle


def make(**kw) -> Instance:
    return Instance.model_validate(kw)


def test_tie_lower_index_wins_and_pivot_owner_pays():
    # S = [5-2, 5-2] = [3, 3]: a tie, so proposal 0 (lower index) wins.
    # Without a: S_-a = [-2, -2] -> "none", tax_a = 0 - (-2) = 2.  Without s: S_-s = [5, 5] -> 0 = m*, tax 0.
    # C = Σk + seed % (Cmax - Σk + 1) = 2 + 10 % (5 - 2 + 1) = 4; a pays 4, s is owed 4.
    st = settle(make(owners=[{"id": "a", "values": [5, 5]}], stations=[{"id": "s", "costs": [2, 2]}], seed=10))
    assert st.surplus == [3, 3]
    assert st.selected == 0
    assert st.m_minus == {"a": None, "s": 0}
    assert st.taxes == {"a": 2, "s": 0}
    assert (st.c_max, st.total_payment) == (5, 4)
    assert st.owner_payments == {"a": 4} and st.station_rewards == {"s": 4}
    assert st.pools_after == {"owner_pool": 2, "station_pool": 0}
    assert st.credits is None


def test_tie_with_deposits_affordability_binds():
    # Same claims, a's deposit 6 (claims stay 5), s's deposit 3 (costs stay 2). tax_a = 2 ->
    # a_a = 6 - 2 = 4, A = floor((4 - 1) * 1 / 1) = 3, Cmax = min(5, 3 + 0) = 3 >= Σk = 2.
    # C = 2 + 10 % 2 = 2. Credits: a = 6 - 2 - 2 = 2, s = 3 - 0 = 3.
    st = settle(
        make(
            owners=[{"id": "a", "values": [5, 5], "deposit": 6}],
            stations=[{"id": "s", "costs": [2, 2], "deposit": 3}],
            seed=10,
        )
    )
    assert (st.c_max, st.total_payment) == (3, 2)
    assert st.credits == {"a": 2, "s": 3}


def test_all_negative_surplus_selects_none_and_taxes_the_pivot_station():
    # S = [1-5, 2-5] = [-4, -3] -> none.  S_-a = [-5, -5] -> none, tax 0.
    # S_-s = [1, 2] -> m_-s = 1, tax_s = S_-s(1) - S_-s(none) = 2 - 0 = 2 (s made "none" win).
    st = settle(make(owners=[{"id": "a", "values": [1, 2]}], stations=[{"id": "s", "costs": [5, 5]}], seed=0))
    assert st.surplus == [-4, -3]
    assert st.selected is None and st.argmax is None and not st.unfunded
    assert st.taxes == {"a": 0, "s": 2}
    assert st.total_payment is None
    assert st.owner_payments == {"a": 0} and st.station_rewards == {"s": 0}
    assert st.pools_after == {"owner_pool": 0, "station_pool": 2}


def test_k1_single_participant_is_unfunded():
    # K = 1, one owner: S = [7] -> proposal 0 (S_-a = [0], a tie the proposal wins, so tax 0).
    # With no revealed station nobody can be paid: treated as unfunded (selected None, no taxes).
    st = settle(make(owners=[{"id": "a", "values": [7], "deposit": 9}]))
    assert st.surplus == [7] and st.argmax == 0
    assert st.selected is None and st.unfunded
    assert st.taxes == {"a": 0} and st.m_minus == {"a": 0}
    assert st.credits == {"a": 9}


def test_k1_one_owner_one_station():
    # S = [10 - 4] = [6] -> 0. tax_a: S_-a = [-4] -> none, tax = 0 - (-4) = 4. tax_s: S_-s = [10] -> 0, tax 0.
    # C = 4 + 123 % (10 - 4 + 1) = 4 + 4 = 8.
    st = settle(make(owners=[{"id": "a", "values": [10]}], stations=[{"id": "s", "costs": [4]}], seed=123))
    assert st.selected == 0 and st.taxes == {"a": 4, "s": 0}
    assert st.total_payment == 8 and st.owner_payments == {"a": 8} and st.station_rewards == {"s": 8}


def test_unfunded_then_funded_by_the_owner_pool():
    # a, b claim 10 but their deposits 3 cap the claims to 3. S = [3 + 3 - 5] = [1] -> 0.
    # S_-a = [3 - 5] = [-2] -> none, tax_a = 2; same for b.  a_p = 3 - 2 = 1 -> A_p = floor(0 * 2 / 1) = 0.
    # Cmax = min(6, 0 + 0) = 0 < Σk = 5 -> unfunded: no taxes, credits = deposits.
    base = dict(
        owners=[{"id": "a", "values": [10], "deposit": 3}, {"id": "b", "values": [10], "deposit": 3}],
        stations=[{"id": "s", "costs": [5], "deposit": 100}],
        seed=99,
    )
    st = settle(make(**base))
    assert st.capped_claims == {"a": [3], "b": [3], "s": [5]}
    assert st.argmax == 0 and st.selected is None and st.unfunded
    assert st.taxes == {"a": 0, "b": 0, "s": 0} and st.c_max == 0
    assert st.credits == {"a": 3, "b": 3, "s": 100}
    assert st.pools_after == {"owner_pool": 0, "station_pool": 0}
    # With ownerPool = 5: Cmax = min(6, 0 + 5) = 5 >= 5, C = 5 + 99 % 1 = 5, D_o = 5, owners pay split(0) = 0.
    # Station pool 7 is the bonus: s is owed 5 + 7 = 12. Pools: owner 5 - 5 + (2 + 2) = 4, station 0.
    st = settle(make(**base, owner_pool=5, station_pool=7))
    assert st.selected == 0 and not st.unfunded
    assert st.taxes == {"a": 2, "b": 2, "s": 0}
    assert (st.total_payment, st.owner_discount, st.station_bonus) == (5, 5, 7)
    assert st.owner_payments == {"a": 0, "b": 0} and st.station_rewards == {"s": 12}
    assert st.pools_after == {"owner_pool": 4, "station_pool": 0}
    assert st.credits == {"a": 1, "b": 1, "s": 100}


def test_posted_rule_taxes_net_of_shares():
    # Prices [20, 11]. Equal shares: split(20, 2) = [10, 10], split(11, 2) = [6, 5] on both sides.
    # x_a = [30-10, 10-6] = [20, 4]; x_b = [0-10, 25-5] = [-10, 20]
    # x_s = [10-10, 6-10] = [0, -4];  x_t = [10-5, 5-0] = [5, 5];  S = [15, 25] = Σb - Σk -> m* = 1.
    # S_-b = [25, 5] -> m_-b = 0, tax_b = 25 - 5 = 20; everyone else keeps m* = 1, tax 0.
    st = settle(
        make(
            owners=[{"id": "a", "values": [30, 10]}, {"id": "b", "values": [0, 25]}],
            stations=[{"id": "s", "costs": [10, 10]}, {"id": "t", "costs": [5, 0]}],
            payment_rule="posted",
            posted_prices=[20, 11],
        )
    )
    assert st.surplus == [15, 25] and st.selected == 1
    assert st.taxes == {"a": 0, "b": 20, "s": 0, "t": 0}
    assert st.m_minus == {"a": 1, "b": 0, "s": 1, "t": 1}
    assert st.total_payment == 11
    assert st.owner_payments == {"a": 6, "b": 5} and st.station_rewards == {"s": 6, "t": 5}
    assert st.c_max is None


def test_posted_claims_capped_to_deposit_minus_max_price_minus_one():
    # maxPrice = 20, deposit 25 -> claim limit 25 - 20 - 1 = 4.
    st = settle(
        make(
            owners=[{"id": "a", "values": [30, 3], "deposit": 25}],
            stations=[{"id": "s", "costs": [10, 0], "deposit": 21}],
            payment_rule="posted",
            posted_prices=[20, 11],
        )
    )
    assert st.capped_claims == {"a": [4, 3], "s": [0, 0]}


def test_capability_shares_and_remainder_order():
    # C = 3 + 0 % ... : seed 0 -> C = Σk = 3. Owners by capability [2, 1, 2]: W = 5,
    # base = [6/5, 3/5, 6/5] -> [1, 0, 1], r = 1 -> first positive weight (o0) gets it: [2, 0, 1].
    st = settle(
        make(
            owners=[
                {"id": "o0", "values": [5], "capability": 2},
                {"id": "o1", "values": [5], "capability": 1},
                {"id": "o2", "values": [5], "capability": 2},
            ],
            stations=[{"id": "s", "costs": [3]}],
            share_rule="capability",
            seed=0,
        )
    )
    assert st.total_payment == 3
    assert st.owner_payments == {"o0": 2, "o1": 0, "o2": 1}


def test_non_reveal_penalty_and_joined_refund():
    # o1 committed without revealing: penalty floor(55 * 1000 / 10000) = 5 to the owner pool.
    # s1 only joined: full refund, no penalty. Both are left out of selection.
    st = settle(
        make(
            owners=[
                {"id": "o0", "values": [10], "deposit": 50},
                {"id": "o1", "status": "committed", "deposit": 55},
            ],
            stations=[{"id": "s0", "costs": [4], "deposit": 9}, {"id": "s1", "status": "joined", "deposit": 7}],
            seed=0,
        )
    )
    assert st.penalties == {"o1": 5}
    assert set(st.taxes) == {"o0", "s0"}
    # tax_o0 = 0 - (-4) = 4; C = 4 + 0 = 4.
    assert st.taxes == {"o0": 4, "s0": 0} and st.total_payment == 4
    assert st.pools_after == {"owner_pool": 4 + 5, "station_pool": 0}
    assert st.credits == {"o0": 50 - 4 - 4, "o1": 50, "s0": 9, "s1": 7}


def test_bonds_returned_except_the_winners():
    inst = make(
        owners=[{"id": "a", "values": [1, 9]}, {"id": "b", "values": [2, 0]}],
        stations=[{"id": "s", "costs": [0, 0]}],
        proposals=[{"proposer": "b", "bond": 3}, {"proposer": "a", "bond": 4}],
        seed=1,
    )
    st = settle(inst)
    assert st.selected == 1 and st.winner == "a" and st.bond_held == 4
    assert st.bond_credits == {"b": 3}


def test_default_seed_is_sha256_of_canonical_json_and_ignores_defaults():
    import hashlib

    from hcfl.mechanism.settle import canonical_json, default_seed

    a = make(owners=[{"id": "a", "values": [5]}], stations=[{"id": "s", "costs": [1]}])
    b = make(owners=[{"id": "a", "values": [5], "capability": 1}], stations=[{"id": "s", "costs": [1]}], owner_pool=0)
    assert default_seed(a) == default_seed(b)
    assert default_seed(a) == int.from_bytes(hashlib.sha256(canonical_json(a).encode()).digest(), "big")
    assert settle(a).seed == default_seed(a)
    assert '"seed"' not in canonical_json(a)

"""Hypothesis property on a real chain (embedded and anvil): for any payout set, any subset of clients
claiming (some too late) and the station reclaiming, every client that claimed in time gets exactly its
amount, the station gets exactly the rest, Σ claims + reclaimed == funded, and the contract ends empty."""
from __future__ import annotations

from ep_helpers import CLIENTS, KEY, Env, paid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcfl.chain.edge_payouts import allocate

payout_sets = st.dictionaries(st.sampled_from(CLIENTS), st.integers(0, 10**18), min_size=1, max_size=len(CLIENTS))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(weights=payout_sets, total=st.integers(1, 10**19), data=st.data())
def test_random_payout_sets_conserve(e: Env, weights: dict[str, int], total: int, data: st.DataObject) -> None:
    snap = e.chain.snapshot()
    try:
        by_addr = {e.p[n].address: w for n, w in weights.items()}
        amounts = allocate(total, by_addr)
        names = {e.p[n].address: n for n in weights}
        payable = [a for a, v in amounts.items() if v > 0]
        on_time = data.draw(st.lists(st.sampled_from(payable), unique=True), label="claim in time") if payable else []
        late = [a for a in payable if a not in on_time]
        tree = e.post(e.s1, {names[a]: v for a, v in amounts.items()})
        assert tree.total == total and e.c.balance() == total
        got = 0
        for a in on_time:
            party = e.p[names[a]]
            got += paid(e, party, lambda: party.claim(e.s1.address, KEY, tree))  # noqa: B023 - called within this iteration
        assert got == sum(amounts[a] for a in on_time)
        e.chain.wait_until(e.c.payout(e.s1.address, KEY).deadline)
        for a in late[:1]:
            try:
                e.p[names[a]].claim(e.s1.address, KEY, tree)
                raise AssertionError("a claim after the deadline went through")
            except Exception as exc:  # noqa: BLE001 - checked below
                assert getattr(exc, "error", None) == "ClaimWindowClosed", exc
        rest = total - got
        if rest:
            assert paid(e, e.s1, lambda: e.s1.reclaim(KEY)) == rest
        pv = e.c.payout(e.s1.address, KEY)
        assert pv.claimed + pv.reclaimed == pv.funded == total
        assert e.c.balance() == 0
    finally:
        e.chain.revert(snap)
        e.c.nonces._next.clear()

"""withdraw, reentrancy, solvency over whole lifecycles, and the recycle pools across rounds."""
from __future__ import annotations

from eth_utils import keccak

from ct_helpers import assert_reverts, assert_solvent, events_named, one_event, scenario
from hcfl.chain.compile import artifact
from hcfl.chain.types import Phase, Role

HASH = b"\x33" * 32


def _refund_round(d):
    """o1 (1000) and s1 (300) joined a round that finished without proposals: both credited."""
    rid = d.new_round()
    d.join(rid, d.o1, Role.OWNER, 1000)
    d.join(rid, d.s1, Role.STATION, 300)
    d.next_phase(rid)
    d.next_phase(rid)
    assert d.client.round(rid).phase == Phase.FINISHED
    return rid


refunded_state, refunded = scenario("refunded", _refund_round)


def _withdraw_exact(d, p, expected):
    c, w3 = d.client, d.chain.w3
    bal0, cbal0, acc0 = w3.eth.get_balance(p.address), c.balance(), c.accounting()
    r = p.withdraw()
    gas = r["gasUsed"] * r["effectiveGasPrice"]
    assert w3.eth.get_balance(p.address) == bal0 + expected - gas
    assert c.balance() == cbal0 - expected
    assert one_event(c, r, "Withdrawn") == {"account": p.address, "amount": expected}
    assert c.credit_of(p.address) == 0
    assert c.accounting().credits == acc0.credits - expected
    assert_solvent(d)


def test_withdraw_pays_exact_credit(d, refunded):
    assert d.client.credit_of(d.o1.address) == 1000
    _withdraw_exact(d, d.o1, 1000)
    _withdraw_exact(d, d.s1, 300)
    assert d.client.accounting().total == 0 == d.client.balance()


def test_nothing_to_withdraw(d, refunded):
    assert_reverts(d, lambda: d.x.withdraw(), "NothingToWithdraw")
    d.o1.withdraw()
    assert_reverts(d, lambda: d.o1.withdraw(), "NothingToWithdraw")  # double withdraw
    assert d.client.credit_of(d.s1.address) == 300


def test_credits_accumulate_across_rounds(d, refunded):
    rid = _refund_round(d)
    assert d.client.credit_of(d.o1.address) == 2000
    _withdraw_exact(d, d.o1, 2000)


# ============================================================================ reentrancy
def test_reentrant_withdraw_blocked(d):
    c, w3, funder = d.client, d.chain.w3, d.chain.funder
    art = artifact("ReentrantWithdrawer")
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    nonce = w3.eth.get_transaction_count(funder.address)
    tx = factory.constructor(c.address).build_transaction(
        {"from": funder.address, "nonce": nonce, "gas": 3_000_000, "gasPrice": w3.eth.gas_price})
    rcpt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    attacker = w3.eth.contract(address=rcpt["contractAddress"], abi=art["abi"])
    assert attacker.functions.target().call() == c.address

    def via(fn_call, value=0):
        nonlocal nonce
        nonce += 1
        t = fn_call.build_transaction({"from": funder.address, "nonce": nonce, "gas": 3_000_000,
                                       "gasPrice": w3.eth.gas_price, "value": value})
        r = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(t).raw_transaction))
        assert r["status"] == 1
        return r

    # the attacker joins another victim's round as an owner; the round ends without proposals
    rid = d.new_round()
    d.join(rid, d.o1, Role.OWNER, 10**18)
    data = c.contract.encode_abi("join", args=[rid, int(Role.OWNER), 1])
    via(attacker.functions.forward(data), value=5 * 10**17)
    assert c.participant(rid, attacker.address).deposit == 5 * 10**17
    d.next_phase(rid)
    d.next_phase(rid)
    credit = c.credit_of(attacker.address)
    assert credit == 5 * 10**17
    cbal0 = c.balance()
    r = via(attacker.functions.attack())
    assert attacker.functions.reentryAttempts().call() == 1
    assert attacker.functions.reentrySucceeded().call() is False
    assert bytes(attacker.functions.lastRevert().call()) == keccak(text="ReentrantCall()")[:4]
    assert w3.eth.get_balance(attacker.address) == credit  # paid exactly once
    assert c.balance() == cbal0 - credit
    assert [e["amount"] for e in events_named(c, r, "Withdrawn")] == [credit]
    assert c.credit_of(attacker.address) == 0 and c.credit_of(d.o1.address) == 10**18
    assert_solvent(d)


# ============================================================================ lifecycle + pools across rounds
def _full_round(d, claims, proposals, votes=None, reports=None):
    """Round with o1, o2, s1, s2 (deposit 1000), run to Finished (winner finalizes, optional votes)."""
    rid = d.new_round()
    d.run_to_reveal_end(rid, [("o1", 1000), ("o2", 1000)], [("s1", 1000), ("s2", 1000)], proposals, claims)
    exp, _ = d.settle_and_check(rid)
    assert_solvent(d)
    rv = d.client.round(rid)
    if rv.phase != Phase.TRAINING:
        return rid, exp
    t = d.client.proposals(rid)[rv.selected].global_rounds
    for n in ("s1", "s2"):
        for g in range((reports or {}).get(n, t)):
            d.send(d.acct[n], "reportTraining", rid, g, HASH, 1, 1)
            assert_solvent(d)
    winner = next(p for p in d.acct.values() if p.address == d.client.proposals(rid)[rv.selected].proposer)
    d.send(winner, "finalizeTraining", rid, HASH, 9000, [1, 1])
    for n, v in (votes or {}).items():
        d.commit_vote(rid, d.acct[n], v)
    d.next_phase(rid)
    assert_solvent(d)
    for n in (votes or {}):
        d.reveal_vote(rid, d.acct[n])
    d.next_phase(rid)
    assert d.client.round(rid).phase == Phase.FINISHED
    assert_solvent(d)
    return rid, exp


def test_pools_recycled_in_next_round(d):
    """Round A's taxes (owner 50, station 10) and forfeits fill the pools; round B, on the same contract,
    discounts the owners' payment by min(ownerPool, C) and adds the whole stationPool to station rewards."""
    c = d.client
    claims = {"o1": [100, 20], "o2": [30, 90], "s1": [40, 30], "s2": [50, 30]}
    props = [dict(by="o1", bond=100), dict(by="o2", bond=100)]
    rid_a, exp_a = _full_round(d, claims, props, reports={"s1": 2, "s2": 1})
    acc = c.accounting()
    assert acc.owner_pool == 50 and acc.station_pool > 10  # taxes + s2's forfeited half share
    pools = (acc.owner_pool, acc.station_pool)
    # round B: the pools act now
    rid_b, exp_b = _full_round(d, claims, props)
    assert exp_b.selected_some
    assert exp_b.discount == min(pools[0], exp_b.payment) and exp_b.bonus == pools[1]
    assert exp_b.escrow == exp_b.payment + pools[1]
    total_rewards = 0
    for e in c.events(round_id=rid_b):
        if e.name == "StationRewarded":
            total_rewards += e.args["reward"]
    assert total_rewards == exp_b.escrow  # both stations reported every round: all of C + bonus paid
    assert sum(exp_b.pays.values()) == exp_b.payment - exp_b.discount
    assert_solvent(d)


def test_everyone_withdraws_after_full_lifecycle(d):
    claims = {"o1": [100, 20], "o2": [30, 90], "s1": [40, 30], "s2": [50, 30]}
    rid, exp = _full_round(d, claims, [dict(by="o1", bond=100), dict(by="o2", bond=100)], votes={"o1": True})
    c = d.client
    assert c.round(rid).punished  # the only other revealed owner voted to punish
    for n in ("o1", "o2", "s1", "s2"):
        amount = c.credit_of(d.acct[n].address)
        if amount:
            _withdraw_exact(d, d.acct[n], amount)
    acc = c.accounting()
    assert acc.credits == acc.deposits == acc.bonds == acc.escrow == 0
    assert c.balance() == acc.owner_pool + acc.station_pool

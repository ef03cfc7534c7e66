"""EdgePayouts on the embedded chain and on anvil: conservation, double claims, wrong proofs, deadlines,
rule commitments, a root that over-promises, extreme values, reentrancy and a client that rejects ether."""
from __future__ import annotations

from typing import Any

import pytest
from ep_helpers import KEY, KEY2, RULE, WINDOW, Env, assert_reverts, fee, paid
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3.exceptions import Web3Exception

from hcfl.chain.client import TxFailed
from hcfl.chain.compile import artifact

YEAR = 365 * 24 * 3600


def _events(e: Env, receipt: Any, name: str) -> list[dict[str, Any]]:
    return [dict(ev["args"]) for ev in getattr(e.c.contract.events, name)().process_receipt(receipt)]


# ============================================================================ conservation
def test_claims_plus_reclaim_equal_funding(e: Env) -> None:
    amounts = {"c1": 100, "c2": 250, "c3": 7, "c4": 10**18}
    tree = e.post(e.s1, amounts)
    assert e.c.balance() == tree.total == sum(amounts.values())
    pv = e.c.payout(e.s1.address, KEY)
    assert (pv.root, pv.funded, pv.claimed, pv.reclaimed) == (tree.root, tree.total, 0, 0)
    assert pv.deadline == pv.posted_at + WINDOW
    claimed = 0
    for name in ("c1", "c2", "c4"):
        party = e.p[name]
        receipt = None

        def go() -> Any:
            nonlocal receipt
            receipt = party.claim(e.s1.address, KEY, tree)  # noqa: B023 - called within this iteration
            return receipt

        assert paid(e, party, go) == amounts[name]
        claimed += amounts[name]
        assert _events(e, receipt, "Claimed") == [
            {"station": e.s1.address, "roundKey": KEY, "client": party.address, "amount": amounts[name]}]
        assert e.c.is_claimed(e.s1.address, KEY, party.address)
        assert e.c.payout(e.s1.address, KEY).claimed == claimed
        assert e.c.balance() == tree.total - claimed
    assert not e.c.is_claimed(e.s1.address, KEY, e.c3.address)
    e.chain.wait_until(pv.deadline)
    assert_reverts(e, lambda: e.c3.claim(e.s1.address, KEY, tree), "ClaimWindowClosed", (pv.deadline,))
    receipt = None

    def back() -> Any:
        nonlocal receipt
        receipt = e.s1.reclaim(KEY)
        return receipt

    assert paid(e, e.s1, back) == 7
    assert _events(e, receipt, "Reclaimed") == [{"station": e.s1.address, "roundKey": KEY, "amount": 7}]
    pv = e.c.payout(e.s1.address, KEY)
    assert pv.claimed + pv.reclaimed == pv.funded == tree.total and pv.held == 0
    assert e.c.balance() == 0


def test_double_claim_reverts(e: Env) -> None:
    tree = e.post(e.s1, {"c1": 40, "c2": 60})
    e.c1.claim(e.s1.address, KEY, tree)
    assert_reverts(e, lambda: e.c1.claim(e.s1.address, KEY, tree), "AlreadyClaimed", (e.c1.address,))
    e.c2.claim(e.s1.address, KEY, tree)
    assert e.c.balance() == 0


def test_same_client_in_two_postings_is_paid_by_each(e: Env) -> None:
    t1 = e.post(e.s1, {"c1": 40, "c2": 60})
    t2 = e.post(e.s2, {"c1": 5, "c3": 1})
    t3 = e.post(e.s1, {"c1": 9}, key=KEY2)
    assert paid(e, e.c1, lambda: e.c1.claim(e.s1.address, KEY, t1)) == 40
    assert paid(e, e.c1, lambda: e.c1.claim(e.s2.address, KEY, t2)) == 5
    assert paid(e, e.c1, lambda: e.c1.claim(e.s1.address, KEY2, t3)) == 9
    assert e.c.balance() == 60 + 1


# ============================================================================ wrong proofs
def test_wrong_proofs_revert(e: Env) -> None:
    tree = e.post(e.s1, {"c1": 40, "c2": 60, "c3": 1, "c4": 2, "c5": 3})
    other = e.post(e.s2, {"c1": 41, "c2": 60})
    s1 = e.s1.address
    proof = tree.proof(e.c1.address)
    for who, amount, pr in [
        (e.c1, 41, proof),                      # wrong amount
        (e.c1, 10**6, proof),                   # more than the leaf
        (e.c1, 39, proof),                      # less than the leaf
        (e.c1, 60, tree.proof(e.c2.address)),   # someone else's leaf and proof
        (e.x, 40, proof),                       # not in the tree, with c1's proof
        (e.c1, 41, other.proof(e.c1.address)),  # a proof from another station's tree
        (e.c1, 40, []),                         # no proof
        (e.c1, 40, proof[:-1]),                 # truncated proof
        (e.c1, 40, proof + [bytes(32)]),        # padded proof
        (e.c1, 40, [bytes(32)] + proof[1:]),    # one sibling replaced
    ]:
        assert_reverts(e, lambda: who.claim_with(s1, KEY, amount, pr), "InvalidProof")  # noqa: B023 - called within this iteration
    # an inner node of the tree cannot be claimed as a leaf (leaves are double-hashed from msg.sender)
    assert_reverts(e, lambda: e.c1.claim_with(s1, KEY, int.from_bytes(tree.tree.nodes[1], "big"), proof[1:]),
                   "InvalidProof")
    assert_reverts(e, lambda: e.c1.claim_with(s1, KEY, 0, proof), "ZeroAmount")
    assert_reverts(e, lambda: e.c1.claim(s1, KEY2, tree), "NoPayouts", (s1, KEY2))
    assert_reverts(e, lambda: e.c1.claim(e.x.address, KEY, tree), "NoPayouts", (e.x.address, KEY))
    assert paid(e, e.c1, lambda: e.c1.claim(s1, KEY, tree)) == 40  # the right one still works


def test_zero_amount_leaf_is_in_the_tree_but_not_claimable(e: Env) -> None:
    tree = e.post(e.s1, {"c1": 0, "c2": 5})
    assert tree.amount(e.c1.address) == 0
    assert_reverts(e, lambda: e.c1.claim(e.s1.address, KEY, tree), "ZeroAmount")


# ============================================================================ deadlines
def test_claim_window_boundary(e: Env) -> None:
    """Claims are open while block.timestamp < deadline; reclaiming from block.timestamp >= deadline."""
    tree = e.post(e.s1, {"c1": 40, "c2": 60, "c3": 9})
    deadline = e.c.payout(e.s1.address, KEY).deadline
    assert_reverts(e, lambda: e.s1.reclaim(KEY), "ClaimWindowOpen", (deadline,))
    e.chain.increase_time(deadline - e.chain.now() - 30)
    assert paid(e, e.c1, lambda: e.c1.claim(e.s1.address, KEY, tree)) == 40  # ~30 s before the deadline
    assert_reverts(e, lambda: e.s1.reclaim(KEY), "ClaimWindowOpen", (deadline,))
    e.chain.wait_until(deadline)
    assert_reverts(e, lambda: e.c2.claim(e.s1.address, KEY, tree), "ClaimWindowClosed", (deadline,))
    assert paid(e, e.s1, lambda: e.s1.reclaim(KEY)) == 69


def _next_block_at(chain, ts: int) -> None:
    if chain.kind == "embedded":
        chain._tester.time_travel(ts)  # the pending block gets timestamp ts
    else:
        chain.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])


def test_exact_deadline_second(e: Env, chain) -> None:
    tree = e.post(e.s1, {"c1": 40, "c2": 60})
    deadline = e.c.payout(e.s1.address, KEY).deadline
    _next_block_at(chain, deadline - 1)
    r = e.c1.transact("claim", e.s1.address, KEY, 40, tree.proof(e.c1.address), gas=300_000)  # no estimate
    assert chain.w3.eth.get_block(r["blockNumber"])["timestamp"] == deadline - 1
    _next_block_at(chain, deadline)
    with pytest.raises(TxFailed):
        e.c2.transact("claim", e.s1.address, KEY, 60, tree.proof(e.c2.address), gas=300_000)
    assert e.chain.now() == deadline
    assert not e.c.is_claimed(e.s1.address, KEY, e.c2.address)
    assert paid(e, e.s1, lambda: e.s1.reclaim(KEY)) == 60


def test_reclaim_errors(e: Env) -> None:
    tree = e.post(e.s1, {"c1": 40, "c2": 60})
    all_claimed = e.post(e.s2, {"c1": 3})
    e.c1.claim(e.s2.address, KEY, all_claimed)
    assert_reverts(e, lambda: e.s1.reclaim(KEY2), "NoPayouts", (e.s1.address, KEY2))
    assert_reverts(e, lambda: e.x.reclaim(KEY), "NoPayouts", (e.x.address, KEY))  # only the station reclaims
    e.chain.wait_until(max(e.c.payout(e.s1.address, KEY).deadline, e.c.payout(e.s2.address, KEY).deadline))
    assert_reverts(e, lambda: e.s2.reclaim(KEY), "NothingToReclaim")
    assert paid(e, e.s1, lambda: e.s1.reclaim(KEY)) == tree.total
    assert_reverts(e, lambda: e.s1.reclaim(KEY), "NothingToReclaim")
    assert e.c.balance() == 0


# ============================================================================ rule commitment and posting
def test_rule_is_committed_once_and_precedes_posting(e: Env) -> None:
    assert_reverts(e, lambda: e.s1.announce_rule(KEY, bytes(32)), "ZeroRuleHash")
    tree = e.tree({"c1": 1})
    assert_reverts(e, lambda: e.s1.post_payouts(KEY, tree, WINDOW), "RuleNotAnnounced", (e.s1.address, KEY))
    r = e.s1.announce_rule(KEY, RULE)
    ts = e.chain.w3.eth.get_block(r["blockNumber"])["timestamp"]
    assert _events(e, r, "RuleAnnounced") == [
        {"station": e.s1.address, "roundKey": KEY, "ruleHash": RULE, "announcedAt": ts}]
    assert e.c.rule(e.s1.address, KEY).rule_hash == RULE and e.c.rule(e.s1.address, KEY).announced_at == ts
    assert_reverts(e, lambda: e.s1.announce_rule(KEY, keccak(text="other")), "RuleAlreadyAnnounced",
                   (e.s1.address, KEY))
    # another station's rule does not count for s2
    e.reward(e.s2, 1)
    assert_reverts(e, lambda: e.s2.post_payouts(KEY, tree, WINDOW), "RuleNotAnnounced", (e.s2.address, KEY))
    e.reward(e.s1, 1)
    r = e.s1.post_payouts(KEY, tree, WINDOW)
    ev = _events(e, r, "PayoutsPosted")[0]
    assert ev["root"] == tree.root and ev["total"] == 1 and ev["deadline"] == ev["postedAt"] + WINDOW
    assert ev["postedAt"] >= ts
    # announce after post: rejected, the rule stays what was posted against
    assert_reverts(e, lambda: e.s1.announce_rule(KEY, keccak(text="other")), "RuleAlreadyAnnounced",
                   (e.s1.address, KEY))
    assert e.c.rule(e.s1.address, KEY).rule_hash == RULE
    assert_reverts(e, lambda: e.s1.post_payouts(KEY, e.tree({"c2": 5}), WINDOW), "PayoutsAlreadyPosted",
                   (e.s1.address, KEY))


def test_posting_input_errors(e: Env) -> None:
    e.s1.announce_rule(KEY, RULE)
    root = e.tree({"c1": 1}).root
    s1 = e.s1
    assert_reverts(e, lambda: s1.transact("postPayouts", KEY, bytes(32), WINDOW, value=1), "ZeroRoot")
    assert_reverts(e, lambda: s1.transact("postPayouts", KEY, root, WINDOW, value=0), "RewardNotFinal",
                   (s1.address, int.from_bytes(KEY, "big")))
    e.reward(s1, 1)
    assert int(e.c.call("MAX_CLAIM_WINDOW")) == YEAR
    for window in (0, YEAR + 1, 2**63, 2**64 - 1):
        assert_reverts(e, lambda: s1.transact("postPayouts", KEY, root, window, value=1), "BadClaimWindow", (window,))  # noqa: B023 - called within this iteration
    r = s1.transact("postPayouts", KEY, root, YEAR, value=1)
    ev = _events(e, r, "PayoutsPosted")[0]
    assert ev["deadline"] == ev["postedAt"] + YEAR


# ============================================================================ bad roots and extreme values
def test_overpromising_root_cannot_take_other_stations_money(e: Env) -> None:
    """s1 posts leaves worth 2000 but funds 1500: its clients are paid first come, first served up to 1500,
    and s2's posting (and its clients) are untouched."""
    honest = e.post(e.s2, {"c1": 300, "c2": 200})
    greedy = e.tree({"c3": 1000, "c4": 1000})
    e.s1.announce_rule(KEY, RULE)
    e.reward(e.s1, 1500)
    e.s1.transact("postPayouts", KEY, greedy.root, WINDOW, value=1500)
    assert paid(e, e.c3, lambda: e.c3.claim(e.s1.address, KEY, greedy)) == 1000
    assert_reverts(e, lambda: e.c4.claim(e.s1.address, KEY, greedy), "ExceedsFunding", (1000, 500))
    assert e.c.balance() == 500 + honest.total
    assert paid(e, e.c1, lambda: e.c1.claim(e.s2.address, KEY, honest)) == 300
    assert paid(e, e.c2, lambda: e.c2.claim(e.s2.address, KEY, honest)) == 200
    e.chain.wait_until(e.c.payout(e.s1.address, KEY).deadline)
    assert paid(e, e.s1, lambda: e.s1.reclaim(KEY)) == 500
    assert e.c.balance() == 0


def test_extreme_amounts(e: Env) -> None:
    """Leaves of 2^128 and 2^256 - 1 wei in a tree funded with 5 wei: clean errors, no overflow."""
    tree = e.tree({"c1": 2**128, "c2": 2**256 - 1, "c3": 5})
    e.s1.announce_rule(KEY, RULE)
    e.reward(e.s1, 5)
    e.s1.transact("postPayouts", KEY, tree.root, WINDOW, value=5)
    assert_reverts(e, lambda: e.c1.claim(e.s1.address, KEY, tree), "ExceedsFunding", (2**128, 5))
    assert_reverts(e, lambda: e.c2.claim(e.s1.address, KEY, tree), "ExceedsFunding", (2**256 - 1, 5))
    assert paid(e, e.c3, lambda: e.c3.claim(e.s1.address, KEY, tree)) == 5
    assert_reverts(e, lambda: e.c2.claim(e.s1.address, KEY, tree), "ExceedsFunding", (2**256 - 1, 0))
    with pytest.raises(ValueError):  # the Python side refuses what abi.encode cannot hold
        e.tree({"c1": 2**256})


def test_funding_above_uint96_rejected(e: Env, chain) -> None:
    if chain.kind != "anvil":
        pytest.skip("needs anvil_setBalance to hold 2^96 wei")
    chain.w3.provider.make_request("anvil_setBalance", [e.s1.address, hex(2**97)])
    e.s1.announce_rule(KEY, RULE)
    root = e.tree({"c1": 1}).root
    e.reward(e.s1, 2**96)
    assert_reverts(e, lambda: e.s1.transact("postPayouts", KEY, root, WINDOW, value=2**96), "FundingTooLarge", (2**96,))
    e.reward(e.s1, 2**96 - 1)
    e.s1.transact("postPayouts", KEY, root, WINDOW, value=2**96 - 1)
    assert e.c.payout(e.s1.address, KEY).funded == 2**96 - 1


# ============================================================================ reentrancy and odd receivers
class Attacker:
    """A deployed ReentrantReceiver, driven by party x."""

    def __init__(self, e: Env) -> None:
        w3, self.e = e.chain.w3, e
        art = artifact("ReentrantReceiver")
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        r = self._send(factory.constructor(e.c.address))
        self.contract = w3.eth.contract(address=r["contractAddress"], abi=art["abi"])
        self.address = r["contractAddress"]

    def _send(self, fn_call: Any, value: int = 0) -> Any:
        w3, x = self.e.chain.w3, self.e.x
        tx = fn_call.build_transaction({"from": x.address, "nonce": w3.eth.get_transaction_count(x.address),
                                        "gas": 3_000_000, "gasPrice": w3.eth.gas_price, "value": value,
                                        "chainId": w3.eth.chain_id})
        r = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(x.account.sign_transaction(tx).raw_transaction))
        return r

    def edge_call(self, fn: str, *args: Any) -> bytes:
        return bytes.fromhex(self.e.c.contract.encode_abi(fn, args=list(args))[2:])

    def forward(self, fn: str, *args: Any, value: int = 0) -> Any:
        r = self._send(self.contract.functions.forward(self.edge_call(fn, *args)), value)
        assert r["status"] == 1, f"forward {fn} failed"
        return r

    def set_reentry(self, fn: str, *args: Any) -> None:
        assert self._send(self.contract.functions.setReentry(self.edge_call(fn, *args)))["status"] == 1

    def view(self, name: str) -> Any:
        return getattr(self.contract.functions, name)().call()

    def balance(self) -> int:
        return int(self.e.chain.w3.eth.get_balance(self.address))


REENTRANT = keccak(text="ReentrantCall()")[:4]


@pytest.mark.parametrize("replay", ["same", "other-posting"])
def test_reentrant_claim_blocked(e: Env, replay: str) -> None:
    a = Attacker(e)
    tree = e.post(e.s1, {a.address: 500, "c1": 40})
    other = e.post(e.s2, {a.address: 70, "c2": 1})
    if replay == "same":
        a.set_reentry("claim", e.s1.address, KEY, 500, tree.proof(a.address))
    else:
        a.set_reentry("claim", e.s2.address, KEY, 70, other.proof(a.address))
    r = a.forward("claim", e.s1.address, KEY, 500, tree.proof(a.address))
    assert a.view("reentryAttempts") == 1 and a.view("reentrySucceeded") is False
    assert bytes(a.view("lastRevert")) == REENTRANT
    assert a.balance() == 500  # paid exactly once
    assert [ev["amount"] for ev in _events(e, r, "Claimed")] == [500]
    assert e.c.payout(e.s1.address, KEY).claimed == 500 and e.c.payout(e.s2.address, KEY).claimed == 0
    assert not e.c.is_claimed(e.s2.address, KEY, a.address)
    assert e.c.balance() == 40 + 71


def test_reentrant_reclaim_blocked(e: Env) -> None:
    a = Attacker(e)
    tree = e.tree({"c1": 400, "c2": 600})
    a.forward("announceRule", KEY, RULE, False)
    e.reward(a.address, tree.total)
    a.forward("postPayouts", KEY, tree.root, WINDOW, value=tree.total)
    e.c1.claim(a.address, KEY, tree)
    e.chain.wait_until(e.c.payout(a.address, KEY).deadline)
    a.set_reentry("reclaim", KEY)
    bal0 = a.balance()
    a.forward("reclaim", KEY)
    assert a.view("reentryAttempts") == 1 and a.view("reentrySucceeded") is False
    assert bytes(a.view("lastRevert")) == REENTRANT
    assert a.balance() == bal0 + 600
    assert e.c.payout(a.address, KEY).reclaimed == 600 and e.c.balance() == 0


def test_client_rejecting_ether_keeps_its_claim(e: Env) -> None:
    a = Attacker(e)
    tree = e.post(e.s1, {a.address: 500, "c1": 40})
    assert a._send(a.contract.functions.setRejecting(True))["status"] == 1
    data = a.edge_call("claim", e.s1.address, KEY, 500, tree.proof(a.address))
    assert a._send(a.contract.functions.forward(data), 0)["status"] == 0  # TransferFailed: nothing changes
    assert not e.c.is_claimed(e.s1.address, KEY, a.address) and e.c.balance() == 540
    with pytest.raises((Web3Exception, TransactionFailed)):  # the call reverts (TransferFailed), anvil / eth-tester
        a.contract.functions.forward(data).call({"from": e.x.address})
    assert a._send(a.contract.functions.setRejecting(False))["status"] == 1
    a.forward("claim", e.s1.address, KEY, 500, tree.proof(a.address))
    assert a.balance() == 500


def test_transfer_failed_error_decodes(e: Env) -> None:
    a = Attacker(e)
    tree = e.post(e.s1, {a.address: 500})
    a._send(a.contract.functions.setRejecting(True))
    from hcfl.chain.client import _REVERTS, _revert_data
    data = a.edge_call("claim", e.s1.address, KEY, 500, tree.proof(a.address))
    with pytest.raises(_REVERTS) as exc:
        a.contract.functions.forward(data).estimate_gas({"from": e.x.address})
    err = e.c.errors.decode(_revert_data(exc.value))
    assert err.error == "TransferFailed" and (err.error_args[0].lower(), err.error_args[1]) == (a.address.lower(), 500)


# ============================================================================ size and docs
def test_deployed_size_and_natspec() -> None:
    art = artifact("EdgePayouts")
    assert len(bytes.fromhex(art["deployedBytecode"][2:])) < 16 * 1024
    functions = [f for f in art["abi"] if f["type"] == "function"]
    sigs = {f"{f['name']}({','.join(i['type'] for i in f['inputs'])})" for f in functions}
    assert sigs <= set(art["userdoc"]["methods"]), sigs - set(art["userdoc"]["methods"])
    for item in art["abi"]:
        if item["type"] in ("event", "error"):
            docs = art["userdoc"]["events" if item["type"] == "event" else "errors"]
            assert any(k.startswith(item["name"] + "(") for k in docs), item["name"]


def test_gas_fee_helper_matches_balance(e: Env) -> None:
    """The balance checks above are exact: a claim moves the client's balance by amount - fee, no more."""
    tree = e.post(e.s1, {"c1": 12345})
    before = e.balance(e.c1)
    r = e.c1.claim(e.s1.address, KEY, tree)
    assert e.balance(e.c1) == before + 12345 - fee(r)


# ============================================================================ audit of a posting
def test_audit_posting_agrees_and_flags_differences(e: Env) -> None:
    from hcfl.chain.edge_payouts import audit_posting

    tree = e.post(e.s1, {"c1": 40, "c2": 60})
    e.c1.claim(e.s1.address, KEY, tree)
    m = tree.manifest(e.s1.address, KEY)
    announced = e.c.rule(e.s1.address, KEY).announced_at
    assert audit_posting(e.c, m, rule_hash=RULE, training_start=announced + 1) == []
    assert audit_posting(e.c, m, rule_hash=keccak(text="other"))[0].startswith("announced rule")
    assert "not before training" in audit_posting(e.c, m, training_start=announced)[0]
    # a manifest that is not what was posted (c2 promised more than the root holds)
    lie = e.tree({"c1": 40, "c2": 61}).manifest(e.s1.address, KEY)
    found = audit_posting(e.c, lie)
    assert any("posted root" in p for p in found) and any("funded 100" in p for p in found)
    assert audit_posting(e.c, m.model_copy(update={"root": "0x" + "00" * 32}))[0].startswith("manifest:")
    # an underfunded posting and a station that never posted
    greedy = e.tree({"c3": 1000, "c4": 1000})
    e.s2.announce_rule(KEY, RULE)
    e.reward(e.s2, 1500)
    e.s2.transact("postPayouts", KEY, greedy.root, WINDOW, value=1500)
    assert audit_posting(e.c, greedy.manifest(e.s2.address, KEY)) == [
        "funded 1500 wei but the leaves sum to 2000", "the leaves sum to 2000 wei, the station's HCFLCore reward is 1500"]
    assert audit_posting(e.c, tree.manifest(e.x.address, KEY)) == ["no rule announced", "no payouts posted"]

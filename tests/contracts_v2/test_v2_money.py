"""Money: reentrancy, refused payments, conservation per campaign (pools carried across rounds), and the
on-chain commitment helpers equal hcfl/protocol/commitments.py."""
from __future__ import annotations

from eth_utils import keccak
from v2_helpers import ETH, V2, cfg, salt_of

from hcfl.chain.compile import artifact
from hcfl.protocol import Phase, Role, commitments

MIN = 10**15


def _deploy_claimer(v: V2):
    w3, funder = v.chain.w3, v.chain.funder
    art = artifact("ReentrantClaimer")
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(v.core.address).build_transaction(
        {"from": funder.address, "nonce": w3.eth.get_transaction_count(funder.address), "gas": 3_000_000,
         "gasPrice": w3.eth.gas_price})
    rcpt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    attacker = w3.eth.contract(address=rcpt["contractAddress"], abi=art["abi"])

    def via(call, value=0, ok=True):
        t = call.build_transaction({"from": funder.address, "nonce": w3.eth.get_transaction_count(funder.address),
                                    "gas": 3_000_000, "gasPrice": w3.eth.gas_price, "value": value})
        r = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(t).raw_transaction))
        assert (r["status"] == 1) is ok
        return r

    return attacker, via


def _attacker_in_empty_round(v: V2):
    attacker, via = _deploy_claimer(v)
    cid = v.campaign(cfg())
    rid = v.open(cid)
    v["o1"].join(rid, Role.OWNER, ETH)
    via(attacker.functions.forward(v.core.contract.encode_abi("join", args=[rid, int(Role.OWNER)])), value=ETH // 2)
    v.chain.wait_until(v.core.round(rid).propose_end)
    assert v.core.state(rid) == Phase.FINISHED  # no proposal: refunds
    return attacker, via, rid


def test_reentrant_withdraw_and_claim_blocked(v: V2) -> None:
    attacker, via, rid = _attacker_in_empty_round(v)
    via(attacker.functions.configure(False, rid))
    bal0 = v.core.balance()
    via(attacker.functions.attackClaim(rid))  # claim + pay; the hook tries both entries again
    assert attacker.functions.reentryAttempts().call() == 1
    assert not attacker.functions.withdrawReentered().call() and not attacker.functions.claimReentered().call()
    assert bytes(attacker.functions.lastRevert().call()) == keccak(text="ReentrantCall()")[:4]
    assert v.chain.w3.eth.get_balance(attacker.address) == ETH // 2  # paid exactly once
    assert v.core.balance() == bal0 - ETH // 2
    v.assert_solvent()


def test_refused_payment_reverts_with_transfer_failed(v: V2) -> None:
    attacker, via, rid = _attacker_in_empty_round(v)
    v["x"].claim(rid, attacker.address)
    via(attacker.functions.configure(True, rid))
    before = v.core.accounting()
    try:
        attacker.functions.attack().call({"from": v.chain.funder.address})
        raise AssertionError("should revert")
    except Exception as exc:  # noqa: BLE001 - decode the custom error below
        from hcfl.chain.client import _revert_data

        assert v.core.errors.decode(_revert_data(exc)).error == "TransferFailed"
    via(attacker.functions.attack(), ok=False)
    assert v.core.accounting() == before and v.core.credit_of(attacker.address) == ETH // 2


def test_commitment_helpers_match_python(v: V2) -> None:
    for rid, claims in ((0, []), (3, [0]), (2**200, [1, 2**255, 7]), (5, list(range(20)))):
        salt = salt_of(f"h{rid}")
        assert v.core.claim_commitment(rid, v.addr("o1"), claims, salt) == commitments.claims_commitment(
            rid, v.addr("o1"), claims, salt)
    for punish in (True, False):
        assert v.core.vote_commitment(9, v.addr("o2"), punish, b"\7" * 32) == commitments.vote_commitment(
            9, v.addr("o2"), punish, b"\7" * 32)


def _in_amounts(v: V2, cid: int) -> int:
    vd = v.core.campaign(cid).cfg.vote_deposit
    total = 0
    for ev in v.core.events():
        if ev.name == "Joined":
            total += ev.args["deposit"]
        elif ev.name == "Proposed":
            total += ev.args["bond"]
        elif ev.name == "VoteCommitted":
            total += vd
    return total


def test_campaign_conservation_across_rounds(v: V2) -> None:
    """Three rounds of one campaign (non-revealers, pool draws, a punished winner, a forfeited vote deposit):
    after every step balance >= accounting; every withdraw pays exactly the credit; at the end
    sum(paid out) + pools == deposits + bonds + vote deposits in."""
    cid = v.campaign(cfg())
    for i, punish in enumerate((False, True, False)):
        deposits = {"o1": 2 * ETH, "o2": 3 * ETH, "o3": ETH, "s1": ETH, "s2": 2 * ETH}
        claims = {"o1": [ETH, ETH // 3], "o2": [2 * ETH, 0], "o3": [ETH // 2, ETH // 2], "s1": [ETH // 10, 0],
                  "s2": [ETH // 5, ETH // 10]}
        reveal = [n for n in claims if not (i == 1 and n == "o3")]  # o3 withholds in round 2
        rid = v.round_to_reveal(cid, deposits, [("o1", ETH), ("o2", ETH // 2)], claims, reveal=reveal)
        v.assert_solvent()
        v.settle(rid)
        v.assert_solvent()
        v.claim_all(rid)  # deposits settle lazily: before the round ends
        v.assert_solvent()
        r = v.core.round(rid)
        winner = next(n for n in ("o1", "o2") if v.addr(n) == r.proposals[r.star].proposer)
        for s in ("s1", "s2"):
            for g in range(2 if s == "s2" else 1):
                v[s].report_training(rid, g, b"\1" * 32, 1, 1)
        v[winner].finalize_training(rid, b"\2" * 32, 9000)
        assert v.core.state(rid) == Phase.TRAINING  # s1 has not reported round 2: reporting stays open
        v.goto(rid, Phase.VOTE_COMMITTING)
        voters = [n for n in ("o1", "o2", "o3") if n != winner and v.core.vote_weight(rid, v.addr(n)) > 0]
        for n in voters:
            v[n].commit_vote(rid, punish, salt_of(f"{rid}{n}"))
        v.goto(rid, Phase.VOTE_REVEALING)
        for n in voters[:1]:  # the others withhold their vote
            v[n].reveal_vote(rid, punish, salt_of(f"{rid}{n}"))
        v.goto(rid, Phase.FINISHED)
        v.claim_all(rid)
        v.assert_solvent()
        acc = v.core.accounting()
        assert acc.deposits == acc.escrow == acc.bonds == acc.vote_deposits == 0, acc
    paid = v.withdraw_all()
    acc = v.core.accounting()
    camp = v.core.campaign(cid)
    assert acc.credits == 0 and acc.balance == acc.pools == camp.owner_pool + camp.station_pool
    assert sum(paid.values()) + acc.pools == _in_amounts(v, cid)

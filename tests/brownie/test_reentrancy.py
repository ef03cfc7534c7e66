"""A contract that re-enters `withdraw` from its receive hook gets nothing extra."""
import brownie
from brownie import ReentrantWithdrawer, chain
from eth_utils import keccak


def test_reentrant_withdraw_fails(crowdfund, accounts):
    attacker = ReentrantWithdrawer.deploy(crowdfund.address, {"from": accounts[1]})
    cfg = (10, 10, 10, 10, 10, 10, 10, 1000, 5000, 0, 0, 0, 0)
    rid = crowdfund.createRound(cfg, {"from": accounts[0]}).events["RoundCreated"]["roundId"]
    join = crowdfund.join.encode_input(rid, 1, 1)
    attacker.forward(join, {"from": accounts[1], "value": 10**18})
    chain.sleep(11)
    crowdfund.advance(rid, {"from": accounts[0]})
    chain.sleep(11)
    crowdfund.advance(rid, {"from": accounts[0]})  # no proposal: round finishes, deposit credited
    assert crowdfund.credits(attacker) == 10**18
    tx = attacker.attack({"from": accounts[1]})
    assert attacker.reentryAttempts() == 1
    assert attacker.reentrySucceeded() is False
    assert attacker.lastRevert()[:4] == keccak(text="ReentrantCall()")[:4]
    assert attacker.balance() == 10**18
    assert crowdfund.credits(attacker) == 0
    assert len(tx.events["Withdrawn"]) == 1
    c, d, b, e, op, sp = crowdfund.accounting()
    assert crowdfund.balance() == c + d + b + e + op + sp
    with brownie.reverts():
        attacker.attack({"from": accounts[1]})

"""Contract v2: a receiver that re-enters `withdraw`, `claimAndWithdraw` or `claim` from its receive hook is
paid exactly what it was credited, once; a receiver that refuses ether keeps its credit."""
import brownie
from brownie import ReentrantReceiver, chain
from eth_utils import keccak
from hexbytes import HexBytes

OWNER, STATION = 1, 2
DEPOSIT = 10**18
# Config: 7 durations, penalty bps, punish threshold, pool draw, max proposals per owner, payment rule,
# owner rule, station rule, penalty floor, min owner/station deposit, min bond, max price, vote deposit
CFG = (10, 10, 10, 10, 10, 10, 10, 10_000, 5000, 2500, 2, 0, 0, 0, 1, 10**15, 10**15, 10**15, 10**19, 10**15)


def _error(exc):
    return str(getattr(exc, "revert_msg", "") or "").split(":")[0].strip()


def _assert_solvent(core):
    balance, deposits, credited, bonds, escrow, pools, votes, surplus = core.accounting()
    assert balance == core.balance()
    assert balance == deposits + credited + bonds + escrow + pools + votes
    assert surplus == 0


def _refund_rounds(core, accounts, attacker, n):
    """n rounds in which the attacker joined and nobody proposed: each finishes with a full refund."""
    cid = core.createCampaign(CFG, {"from": accounts[0]}).events["CampaignCreated"]["campaignId"]
    rids = []
    for i in range(n):
        rid = core.openRound(cid, {"from": accounts[0]}).events["RoundOpened"]["roundId"]
        attacker.forward(core.join.encode_input(rid, OWNER if i % 2 == 0 else STATION),
                         {"from": accounts[1], "value": DEPOSIT})
        rids.append(rid)
    chain.sleep(21)  # past join and propose: no proposal, so the rounds are finished
    chain.mine()
    for rid in rids:
        assert core.state(rid) == 9  # Finished
    return rids


def test_reentrant_withdraw_is_paid_once(core_v2, accounts):
    core = core_v2
    attacker = ReentrantReceiver.deploy(core.address, {"from": accounts[1]})
    (rid,) = _refund_rounds(core, accounts, attacker, 1)
    core.claim(rid, attacker.address, {"from": accounts[2]})  # anyone may claim for it
    assert core.credits(attacker) == DEPOSIT
    attacker.setReentry(core.withdraw.encode_input(), {"from": accounts[1]})
    tx = attacker.forward(core.withdraw.encode_input(), {"from": accounts[1]})
    assert attacker.reentryAttempts() == 1
    assert attacker.reentrySucceeded() is False
    assert HexBytes(attacker.lastRevert())[:4] == keccak(text="ReentrantCall()")[:4]
    assert attacker.balance() == DEPOSIT
    assert core.credits(attacker) == 0
    assert len(tx.events["Withdrawn"]) == 1 and tx.events["Withdrawn"]["amount"] == DEPOSIT
    _assert_solvent(core)
    try:
        attacker.forward(core.withdraw.encode_input(), {"from": accounts[1]})
        raise AssertionError("a second withdraw paid")
    except brownie.exceptions.VirtualMachineError as exc:
        assert _error(exc) == "NothingToWithdraw"


def test_reentrant_claim_and_withdraw_is_blocked_and_loses_nothing(core_v2, accounts):
    core = core_v2
    attacker = ReentrantReceiver.deploy(core.address, {"from": accounts[1]})
    r1, r2 = _refund_rounds(core, accounts, attacker, 2)
    attacker.setReentry(core.claimAndWithdraw.encode_input(r2), {"from": accounts[1]})
    attacker.forward(core.claimAndWithdraw.encode_input(r1), {"from": accounts[1]})
    assert attacker.reentryAttempts() == 1 and attacker.reentrySucceeded() is False
    assert HexBytes(attacker.lastRevert())[:4] == keccak(text="ReentrantCall()")[:4]
    assert attacker.balance() == DEPOSIT
    assert core.getParticipant(r2, attacker)[3] is False  # round 2's deposit is still unclaimed, not lost
    _assert_solvent(core)
    attacker.forward(core.claimAndWithdraw.encode_input(r2), {"from": accounts[1]})  # no re-entry the 2nd time
    assert attacker.balance() == 2 * DEPOSIT
    assert core.credits(attacker) == 0
    _assert_solvent(core)


def test_claim_reentered_from_withdraw_credits_but_never_pays_twice(core_v2, accounts):
    """`claim` has no lock (anyone may claim for anyone): re-entered from the payment of `withdraw`, it only
    credits the next round's refund, because the credit was zeroed before the ether left."""
    core = core_v2
    attacker = ReentrantReceiver.deploy(core.address, {"from": accounts[1]})
    r1, r2 = _refund_rounds(core, accounts, attacker, 2)
    core.claim(r1, attacker.address, {"from": accounts[2]})
    attacker.setReentry(core.claim.encode_input(r2, attacker.address), {"from": accounts[1]})
    tx = attacker.forward(core.withdraw.encode_input(), {"from": accounts[1]})
    assert attacker.reentrySucceeded() is True
    assert tx.events["Withdrawn"]["amount"] == DEPOSIT
    assert attacker.balance() == DEPOSIT
    assert core.credits(attacker) == DEPOSIT  # round 2's refund, credited by the re-entered claim
    _assert_solvent(core)
    attacker.forward(core.withdraw.encode_input(), {"from": accounts[1]})
    assert attacker.balance() == 2 * DEPOSIT and core.credits(attacker) == 0
    _assert_solvent(core)


def test_receiver_that_refuses_ether_keeps_its_credit(core_v2, accounts):
    core = core_v2
    attacker = ReentrantReceiver.deploy(core.address, {"from": accounts[1]})
    (rid,) = _refund_rounds(core, accounts, attacker, 1)
    attacker.setRejecting(True, {"from": accounts[1]})
    try:
        attacker.forward(core.claimAndWithdraw.encode_input(rid), {"from": accounts[1]})
        raise AssertionError("paid a receiver that refuses ether")
    except brownie.exceptions.VirtualMachineError as exc:
        assert _error(exc) == "TransferFailed"
    assert core.credits(attacker) == 0 and core.getParticipant(rid, attacker)[3] is False  # all rolled back
    core.claim(rid, attacker.address, {"from": accounts[2]})
    assert core.credits(attacker) == DEPOSIT
    attacker.setRejecting(False, {"from": accounts[1]})
    attacker.forward(core.withdraw.encode_input(), {"from": accounts[1]})
    assert attacker.balance() == DEPOSIT and core.credits(attacker) == 0
    _assert_solvent(core)

"""Stateful (hypothesis) solvency test of contract v2 (HCFLCore + linked modules) on Brownie's network (anvil).

Brownie 1.22.2 is mypyc-compiled, so the machine is hypothesis's own
RuleBasedStateMachine over Brownie contract objects, and every example starts from one chain snapshot.

The snapshot is a "world" built once with real transactions: four campaigns with different configs (payment
rule, share rules, pool draw, penalties, minimums, price caps, vote deposits), pools funded by a forced-in and
swept surplus and by penalties of an earlier round, and one round of each campaign parked in a different phase
(joining, revealing, training, vote committing). A short random walk from there reaches settlement, training,
the vote tally, claims and withdrawals; the walks also create campaigns with random (valid, extreme and
invalid) configs, open rounds (creator only), join with deposits at and below the minimums, propose at and
above the price cap, commit/reveal/withhold, report/finalize (also early), object, vote/withhold, claim for
participants in random order (lazy accounting), withdraw, force ether in by SELFDESTRUCT, sweep it and travel
in time across deadlines (up to 365 days).

A ledger rebuilt only from the events of the transactions (never from the contract's own totals) is checked
after every step against one batched read of the chain:
- balance == deposits + credits + bonds + escrow + pools + vote deposits + ether forced in and not swept
  (so balance >= the sum, with == unless ether was forced in), and each of the contract's totals equals the
  ledger's;
- nobody withdrew more than it was credited; its open credit is exactly the difference; a withdrawal moves
  exactly that much ether;
- per campaign, both pools equal the sum of that campaign's PoolChanged events, and a transaction in a round of
  one campaign leaves every other campaign's pools untouched;
- when everybody of a round has been claimed for, the round's deposits, escrow, bonds and vote deposits are
  paid out to the wei (the remainder rule conserves every wei).

Sizes: `make test` runs 2,000 examples (derandomized); HCFL_LONG_FUZZ=1 runs 20,000 random ones (or
HCFL_FUZZ_EXAMPLES=N). Numbers are in docs/security.md.
"""
from __future__ import annotations

import collections
import copy
import gc
import inspect
import os
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Any

import brownie
import pytest
from brownie import chain, web3
from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from hcfl.merkle import MerkleTree

# ------------------------------------------------------------------ constants (as in the v2 rules)
BPS = 10_000
MAX_DURATION = 365 * 24 * 3600
MAX_AMOUNT = 2**96 - 1
U128 = 2**128 - 1
NONE, OWNER, STATION = 0, 1, 2
JOINING, PROPOSING, COMMITTING, REVEALING, AWAITING, TRAINING, VOTE_COMMIT, VOTE_REVEAL, FINISHED = range(1, 10)
POSTED, PAPER_RANDOM = 0, 1
EQUAL, STAKE, PROPORTIONAL, CONTRIBUTION = 0, 1, 2, 3
BOND_RETURN = 1
OWNER_POOL, STATION_POOL = 0, 1
SWEEP_ROUND = 2**256 - 1
NO_CAMPAIGN = -1  # a step that may change no campaign's pools (withdraw, forced ether, time travel)
LEAF_TYPES = ["address", "uint256", "uint256"]

FIELDS = [
    "joinDuration", "proposeDuration", "commitDuration", "revealDuration", "trainDuration",
    "voteCommitDuration", "voteRevealDuration", "nonRevealPenaltyBps", "punishThresholdBps", "poolDrawBps",
    "maxProposalsPerOwner", "paymentRule", "ownerShareRule", "stationShareRule", "nonRevealPenaltyFloor",
    "minOwnerDeposit", "minStationDeposit", "minBond", "maxPrice", "voteDeposit",
]

LONG = os.environ.get("HCFL_LONG_FUZZ", "") not in ("", "0")
EXAMPLES = int(os.environ.get("HCFL_FUZZ_EXAMPLES", "20000" if LONG else "2000"))
STEPS = int(os.environ.get("HCFL_FUZZ_STEPS", "3"))

CALLS: collections.Counter = collections.Counter()  # (function, outcome) over the whole run
EVENTS: collections.Counter = collections.Counter()  # events seen in successful transactions
REACHED: collections.Counter = collections.Counter()  # milestones (settled rounds, residual checks, ...)


def cfg_tuple(c: dict[str, int]) -> tuple[int, ...]:
    return tuple(c[f] for f in FIELDS)


def make_cfg(**kw: int) -> dict[str, int]:
    c = dict(
        joinDuration=100, proposeDuration=100, commitDuration=100, revealDuration=100, trainDuration=100,
        voteCommitDuration=100, voteRevealDuration=100, nonRevealPenaltyBps=BPS, punishThresholdBps=5000,
        poolDrawBps=2500, maxProposalsPerOwner=2, paymentRule=POSTED, ownerShareRule=EQUAL, stationShareRule=EQUAL,
        nonRevealPenaltyFloor=1, minOwnerDeposit=10**15, minStationDeposit=10**15, minBond=10**15,
        maxPrice=10**19, voteDeposit=10**15,
    )
    c.update(kw)
    return c


def expected_cfg_error(c: dict[str, int]) -> str | None:
    """The named error createCampaign must revert with (None: valid), in the contract's order of checks."""
    for f in FIELDS[:7]:
        if c[f] == 0 or c[f] > MAX_DURATION:
            return "DurationOutOfRange"
    for f in ("nonRevealPenaltyBps", "punishThresholdBps", "poolDrawBps"):
        if c[f] > BPS:
            return "BpsOutOfRange"
    if c["nonRevealPenaltyFloor"] == 0:
        return "PenaltyFloorZero"
    if c["minOwnerDeposit"] == 0 or c["minStationDeposit"] == 0:
        return "MinDepositZero"
    if c["minBond"] == 0:
        return "MinBondZero"
    if c["maxPrice"] == 0 or c["maxPrice"] > U128:
        return "MaxPriceOutOfRange"
    if c["maxProposalsPerOwner"] == 0 or c["maxProposalsPerOwner"] > 20:
        return "MaxProposalsPerOwnerOutOfRange"
    if c["ownerShareRule"] == CONTRIBUTION:
        return "OwnersCannotShareByContribution"
    for f in ("minOwnerDeposit", "minStationDeposit", "minBond", "voteDeposit", "nonRevealPenaltyFloor"):
        if c[f] > MAX_AMOUNT:
            return "AmountTooLarge"
    return None


def claim_commitment(rid: int, sender: str, claims: list[int], salt: bytes) -> bytes:
    return keccak(encode(["uint256", "address", "uint256[]", "bytes32"], [rid, sender, claims, salt]))


def vote_commitment(rid: int, voter: str, punish: bool, salt: bytes) -> bytes:
    return keccak(encode(["uint256", "address", "bool", "bytes32"], [rid, voter, punish, salt]))


# ------------------------------------------------------------------ strategies
duration = st.sampled_from([1, 2, 30, 100, 3600, 86400, MAX_DURATION])
bad_duration = st.sampled_from([0, MAX_DURATION + 1, 2**64 - 1])
bps = st.sampled_from([0, 1, 2500, 5000, 9999, BPS])
amount_min = st.sampled_from([1, 2, 10**12, 10**15, 10**18, MAX_AMOUNT])
price_cap = st.sampled_from([1, 10**15, 10**18, 10**19, U128])


@st.composite
def configs(draw: Any) -> dict[str, int]:
    c = {f: draw(duration) for f in FIELDS[:7]}
    c.update(
        nonRevealPenaltyBps=draw(bps), punishThresholdBps=draw(bps), poolDrawBps=draw(bps),
        maxProposalsPerOwner=draw(st.sampled_from([1, 2, 20])), paymentRule=draw(st.integers(0, 1)),
        ownerShareRule=draw(st.integers(0, 2)), stationShareRule=draw(st.integers(0, 3)),
        nonRevealPenaltyFloor=draw(amount_min), minOwnerDeposit=draw(amount_min), minStationDeposit=draw(amount_min),
        minBond=draw(amount_min), maxPrice=draw(price_cap),
        voteDeposit=draw(st.sampled_from([0, 1, 10**15, MAX_AMOUNT])),
    )
    broken = draw(st.integers(0, 3))  # about half of the configs break one rule
    if broken >= 2:
        f = draw(st.sampled_from(FIELDS[:10] + FIELDS[14:] + ["maxProposalsPerOwner", "ownerShareRule"]))
        if f in FIELDS[:7]:
            c[f] = draw(bad_duration)
        elif f in ("nonRevealPenaltyBps", "punishThresholdBps", "poolDrawBps"):
            c[f] = draw(st.sampled_from([BPS + 1, 2**16 - 1]))
        elif f == "maxProposalsPerOwner":
            c[f] = draw(st.sampled_from([0, 21, 255]))
        elif f == "ownerShareRule":
            c[f] = CONTRIBUTION
        elif f == "maxPrice":
            c[f] = draw(st.sampled_from([0, U128 + 1, 2**256 - 1]))
        else:
            c[f] = draw(st.sampled_from([0, MAX_AMOUNT + 1]))
    return c


# ------------------------------------------------------------------ the model (Python's view of the chain)
@dataclass
class Part:
    role: int
    deposit: int
    committed: bool = False
    revealed: bool = False
    claims: list[int] | None = None
    salt: bytes = b""
    settled: bool = False  # ParticipantSettled seen
    rewarded: bool = False  # StationRewarded seen
    final: bool = False  # claimed for after the round finished (bond, vote deposit, reward)
    reported: set[int] = field(default_factory=set)
    vote: tuple[bool, bytes] | None = None
    vote_revealed: bool = False


@dataclass
class RoundM:
    rid: int
    cid: int
    ends: tuple[int, int, int, int]
    k: int = 0
    proposals: list[tuple[str, int, int, int]] = field(default_factory=list)  # proposer, price, bond, t
    parts: dict[str, Part] = field(default_factory=dict)
    settled: bool = False
    settled_at: int = 0
    selected: bool = False
    star: int = 0
    closed_at: int = 0
    finalized: bool = False
    objected: bool = False
    tree: MerkleTree | None = None  # a valid scores tree, when the winner posted one
    scores_total: int = 0
    bad_scores: bool = False  # the winner posted a root nobody can prove against
    incl: MerkleTree | None = None  # the winner's inclusion tree (station, includedRounds), when it recorded one
    phase: int = JOINING
    # what the round still holds, from its events only
    r_dep: int = 0
    r_escrow: int = 0
    r_bond: int = 0
    r_vd: int = 0

    def winner(self) -> str | None:
        return self.proposals[self.star][0] if self.selected else None


@dataclass
class World:
    campaigns: dict[int, tuple[str, dict[str, int]]] = field(default_factory=dict)  # cid -> (creator, cfg)
    rounds: dict[int, RoundM] = field(default_factory=dict)
    deposits: int = 0
    credits: int = 0
    bonds: int = 0
    escrow: int = 0
    pools: int = 0
    vote_deposits: int = 0
    forced: int = 0
    pool: dict[tuple[int, int], int] = field(default_factory=dict)
    credited: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    withdrawn: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    salt_counter: int = 0
    read_pools: dict[int, tuple[int, int]] = field(default_factory=dict)


class Chain:
    """Contract objects and the actions (real transactions) every caller of the machine shares."""

    def __init__(self, core: Any, accounts: Any) -> None:
        self.core = core
        self.accounts = list(accounts)
        self.addr = [a.address for a in self.accounts]
        self.by_addr = {a.address: a for a in self.accounts}
        self.w: World = World()
        self.now = 0
        self._sel: dict[str, bytes] = {}

    # ---------------------------------------------------------- sending and the event ledger
    def send(self, fn: Any, *args: Any, sender: Any, value: int = 0, expect: str | set[str] | None = None,
             must: bool = False) -> Any:
        """Send a transaction; returns it, or None when it reverted, and the ledger is left as it is (the
        invariants then prove that nothing changed). `expect`: the error names a revert may carry, "" in it
        allows success as well; `must`: it has to succeed. Neither: anything goes (random, mostly wrong)."""
        name = fn._name
        rid = args[0] if args and name not in ("createCampaign", "openRound", "sweepSurplus") else None
        try:
            tx = fn(*args, {"from": sender, "value": value, "silent": True})
        except brownie.exceptions.VirtualMachineError as exc:
            err = str(getattr(exc, "revert_msg", "") or "").split(":")[0].strip()
            CALLS[(name, "revert:" + err)] += 1
            assert not must, f"{name}{args} reverted with {err!r}"
            if expect is not None:
                allowed = {expect} if isinstance(expect, str) else expect
                assert err in allowed, f"{name}{args}: reverted with {err!r}, expected one of {sorted(allowed)}"
            return None
        CALLS[(name, "ok")] += 1
        if expect is not None and not (isinstance(expect, set) and "" in expect):
            raise AssertionError(f"{name}{args} succeeded but had to revert with {expect}")
        self.apply(tx, rid)
        return tx

    def apply(self, tx: Any, rid: int | None) -> None:
        """Applies a successful transaction's events to the ledger and the model."""
        w = self.w
        ts = None
        touched_campaign = w.rounds[rid].cid if rid is not None and rid in w.rounds else None
        for ev in tx.events:
            n = ev.name
            EVENTS[n] += 1
            if n == "CampaignCreated":
                cfg = dict(zip(FIELDS, ev["cfg"]))
                w.campaigns[ev["campaignId"]] = (ev["creator"], cfg)
                w.pool[(ev["campaignId"], OWNER_POOL)] = 0
                w.pool[(ev["campaignId"], STATION_POOL)] = 0
            elif n == "RoundOpened":
                r = RoundM(ev["roundId"], ev["campaignId"],
                           (ev["joinEnd"], ev["proposeEnd"], ev["commitEnd"], ev["revealEnd"]))
                w.rounds[r.rid] = r
            elif n == "Joined":
                r = w.rounds[ev["roundId"]]
                r.parts[ev["account"]] = Part(ev["role"], ev["deposit"])
                w.deposits += ev["deposit"]
                r.r_dep += ev["deposit"]
            elif n == "Proposed":
                r = w.rounds[ev["roundId"]]
                assert ev["proposalId"] == r.k
                r.proposals.append((ev["proposer"], ev["price"], ev["bond"], ev["globalRounds"]))
                r.k += 1
                w.bonds += ev["bond"]
                r.r_bond += ev["bond"]
            elif n == "ClaimsRevealed":
                r = w.rounds[ev["roundId"]]
                p = r.parts[ev["account"]]
                p.revealed = True
                assert all(c <= p.deposit - 1 for c in ev["cappedClaims"]), "a claim above deposit - 1 counted"
            elif n == "RoundSettled":
                r = w.rounds[ev["roundId"]]
                r.settled = True
                ts = ts or tx.timestamp
                r.settled_at = ts
                r.selected, r.star = ev["selected"], ev["star"]
                if ev["selected"]:
                    pay, d_o, d_s = ev["payment"], ev["ownerDiscount"], ev["stationBonus"]
                    assert d_o <= pay and d_s <= pay
                    w.deposits -= pay - d_o
                    r.r_dep -= pay - d_o
                    w.escrow += pay + d_s
                    r.r_escrow += pay + d_s
                    REACHED["selected"] += 1
                else:
                    REACHED["unselected" if not ev["unfunded"] else "unfunded"] += 1
            elif n == "PoolChanged":
                cid, kind, delta = ev["campaignId"], ev["pool"], ev["delta"]
                if ev["roundId"] != SWEEP_ROUND:
                    assert w.rounds[ev["roundId"]].cid == cid, "a round moved another campaign's pool"
                    assert touched_campaign is None or cid == touched_campaign, "pool of another campaign changed"
                w.pool[(cid, kind)] += delta
                assert w.pool[(cid, kind)] >= 0
                assert w.pool[(cid, kind)] == ev["newBalance"], "PoolChanged newBalance disagrees with the events"
                w.pools += delta
            elif n == "ParticipantSettled":
                r = w.rounds[ev["roundId"]]
                p = r.parts[ev["account"]]
                assert not p.settled
                p.settled = True
                out = ev["refund"] + ev["tax"] + ev["penalty"]
                assert out + ev["payment"] == p.deposit, "payment + tax + penalty + refund != deposit"
                w.deposits -= out
                r.r_dep -= out
                w.credits += ev["refund"]  # the refund is the credit (no Credited event repeats it)
                w.credited[ev["account"]] += ev["refund"]
            elif n == "StationRewarded":
                r = w.rounds[ev["roundId"]]
                assert ev["reward"] + ev["forfeited"] == ev["share"]
                r.parts[ev["station"]].rewarded = True
                w.credits += ev["reward"]  # the reward is the credit (no Credited event repeats it)
                w.credited[ev["station"]] += ev["reward"]
                w.escrow -= ev["share"]
                r.r_escrow -= ev["share"]
            elif n == "EscrowReturned":  # escrow no station can claim goes back to the station pool
                r = w.rounds[ev["roundId"]]
                w.escrow -= ev["amount"]
                r.r_escrow -= ev["amount"]
            elif n == "VoteCommitted":
                r = w.rounds[ev["roundId"]]
                vd = w.campaigns[r.cid][1]["voteDeposit"]
                w.vote_deposits += vd
                r.r_vd += vd
            elif n == "VoteRevealed":
                r = w.rounds[ev["roundId"]]
                r.parts[ev["voter"]].vote_revealed = True
                vd = w.campaigns[r.cid][1]["voteDeposit"]
                w.vote_deposits -= vd
                r.r_vd -= vd
            elif n == "VoteDepositForfeited":
                r = w.rounds[ev["roundId"]]
                w.vote_deposits -= ev["amount"]
                r.r_vd -= ev["amount"]
            elif n == "Credited":
                acct, amt = ev["account"], ev["amount"]
                w.credits += amt
                w.credited[acct] += amt
                if ev["reason"] == BOND_RETURN:
                    w.bonds -= amt
                    w.rounds[ev["roundId"]].r_bond -= amt
            elif n == "BondSlashShare":
                w.bonds -= ev["amount"]
                w.rounds[ev["roundId"]].r_bond -= ev["amount"]
            elif n == "Withdrawn":
                w.credits -= ev["amount"]
                w.withdrawn[ev["account"]] += ev["amount"]
            elif n == "SurplusSwept":
                w.forced -= ev["amount"]
            elif n == "TrainingReported":
                w.rounds[ev["roundId"]].parts[ev["station"]].reported.add(ev["globalRound"])
            elif n == "TrainingFinalized":
                w.rounds[ev["roundId"]].finalized = True
            elif n == "TrainingClosed":
                w.rounds[ev["roundId"]].closed_at = ev["closedAt"]
            elif n == "ScoresObjected":
                w.rounds[ev["roundId"]].objected = True
            elif n == "BondReleased":
                REACHED["tally:" + ("failed" if ev["failed"] else "punished" if ev["punished"] else "kept")] += 1
        for key in ("deposits", "credits", "bonds", "escrow", "pools", "vote_deposits"):
            assert getattr(w, key) >= 0, key

    # ---------------------------------------------------------- reading the chain in one batch
    def read(self) -> dict[str, Any]:
        w = self.w
        core = self.core.address
        cids = sorted(w.campaigns)
        rids = sorted(w.rounds)

        def call(sig: str, *types_values: tuple[str, Any]) -> tuple[str, list[Any]]:
            sel = self._sel.setdefault(sig, keccak(text=sig)[:4])
            data = sel + (encode([t for t, _ in types_values], [v for _, v in types_values]) if types_values else b"")
            return ("eth_call", [{"to": core, "data": "0x" + data.hex()}, "latest"])

        reqs = [("eth_getBalance", [core, "latest"]), ("eth_getBlockByNumber", ["latest", False]),
                call("accounting()")]
        reqs += [call("getCampaign(uint256)", ("uint256", c)) for c in cids]
        reqs += [call("credits(address)", ("address", a)) for a in self.addr]
        reqs += [call("state(uint256)", ("uint256", r)) for r in rids]
        out = web3.provider.make_batch_request(reqs)
        for o in out:
            assert "error" not in o, o

        def words(h: str) -> list[int]:
            b = bytes.fromhex(h[2:])
            return [int.from_bytes(b[i:i + 32], "big") for i in range(0, len(b), 32)]

        res: dict[str, Any] = {"balance": int(out[0]["result"], 16), "time": int(out[1]["result"]["timestamp"], 16)}
        res["accounting"] = words(out[2]["result"])
        i = 3
        res["pools"] = {}
        for c in cids:
            ws = words(out[i]["result"])
            res["pools"][c] = (ws[2], ws[3])
            i += 1
        res["credits"] = {}
        for a in self.addr:
            res["credits"][a] = words(out[i]["result"])[0]
            i += 1
        res["phase"] = {}
        for r in rids:
            res["phase"][r] = words(out[i]["result"])[0]
            i += 1
        return res

    def check(self, touched_cid: int | None = None) -> dict[str, Any]:
        """Every invariant, against one batched read."""
        w = self.w
        s = self.read()
        bal, deposits, credited, bonds, escrow, pools, vdeps, surplus = s["accounting"]
        assert bal == s["balance"]
        assert (deposits, credited, bonds, escrow, pools, vdeps) == (
            w.deposits, w.credits, w.bonds, w.escrow, w.pools, w.vote_deposits
        ), "the contract's totals disagree with its events"
        owed = w.deposits + w.credits + w.bonds + w.escrow + w.pools + w.vote_deposits
        assert bal >= owed, "insolvent"
        assert bal == owed + w.forced, "balance != accounting + forced ether"
        assert surplus == w.forced
        for c, (op, sp) in s["pools"].items():
            assert (op, sp) == (w.pool[(c, OWNER_POOL)], w.pool[(c, STATION_POOL)]), f"campaign {c} pools != events"
            if touched_cid is not None and c != touched_cid and c in w.read_pools:
                assert w.read_pools[c] == (op, sp), f"an action in campaign {touched_cid} changed campaign {c}'s pools"
        w.read_pools = dict(s["pools"])
        for a, cr in s["credits"].items():
            assert w.withdrawn[a] <= w.credited[a], "withdrew more than credited"
            assert cr == w.credited[a] - w.withdrawn[a]
        for r, ph in s["phase"].items():
            w.rounds[r].phase = ph
        self.now = s["time"]
        return s

    # ---------------------------------------------------------- helpers for the rules
    def salt(self) -> bytes:
        self.w.salt_counter += 1
        return keccak(b"salt" + self.w.salt_counter.to_bytes(8, "big"))

    def deadlines(self, r: RoundM) -> list[int]:
        cfg = self.w.campaigns[r.cid][1]
        ds = list(r.ends)
        if r.settled and r.selected:
            closed = r.closed_at or r.settled_at + cfg["trainDuration"]
            ds += [closed, closed + cfg["voteCommitDuration"], closed + cfg["voteCommitDuration"] + cfg["voteRevealDuration"]]
        return ds

    def sleep_past_next_deadline(self, r: RoundM) -> None:
        for d in self.deadlines(r):
            if d >= self.now:
                chain.sleep(d - self.now + 1)
                chain.mine()
                CALLS[("sleep", "deadline")] += 1
                return

    def commit(self, r: RoundM, a: str, claims: list[int], count_ok: bool = True) -> None:
        salt = self.salt()
        if self.send(self.core.commit, r.rid, claim_commitment(r.rid, a, claims, salt), sender=self.by_addr[a]):
            p = r.parts[a]
            p.committed, p.claims, p.salt = True, claims, salt

    def claim(self, r: RoundM, a: str, caller: Any, and_withdraw: bool = False) -> Any:
        p = r.parts.get(a)
        if p is not None and p.role == STATION and r.incl is not None and r.phase == FINISHED:
            names = [v[0] for v in r.incl.values]
            if a in names:  # rewards only for included work: prove the leaf first (anyone may)
                idx = names.index(a)
                self.send(self.core.proveInclusion, r.rid, a, r.incl.values[idx][1], r.incl.proof(idx), sender=caller,
                          expect={"", "InclusionAlreadyProven"})
        if p is not None and p.role == STATION and r.tree is not None and not r.objected and r.phase == FINISHED:
            idx = [v[0] for v in r.tree.values].index(a) if a in [v[0] for v in r.tree.values] else None
            if idx is not None:
                _, score, prefix = r.tree.values[idx]
                return self.send(self.core.claimWithScore, r.rid, a, score, prefix, r.tree.proof(idx), sender=caller,
                                 expect={"", "NothingToClaim", "NotJoined"})
        if and_withdraw:
            before = web3.eth.get_balance(a)
            tx = self.send(self.core.claimAndWithdraw, r.rid, sender=self.by_addr[a],
                           expect={"", "NothingToClaim", "NotJoined", "ProofRequired", "NothingToWithdraw"})
            if tx is not None:
                paid = tx.events["Withdrawn"]["amount"] if "Withdrawn" in tx.events else 0
                assert web3.eth.get_balance(a) - before + tx.gas_used * tx.gas_price == paid
            return tx
        tx = self.send(self.core.claim, r.rid, a, sender=caller,
                       expect={"", "NothingToClaim", "NotJoined", "ProofRequired"})
        if tx is not None and r.phase == FINISHED:
            r.parts[a].final = True
        return tx

    def withdraw(self, acct: Any) -> None:
        before_credit = self.w.credited[acct.address] - self.w.withdrawn[acct.address]
        before = web3.eth.get_balance(acct.address)
        tx = self.send(self.core.withdraw, sender=acct, expect={"", "NothingToWithdraw"})
        if tx is None:
            assert before_credit == 0
            return
        paid = tx.events["Withdrawn"]["amount"]
        assert paid == before_credit
        assert web3.eth.get_balance(acct.address) - before + tx.gas_used * tx.gas_price == paid, "ether moved != credit"

    def finalize(self, r: RoundM, caller: Any, mode: int, scores: list[int], incl: list[int] | None = None) -> None:
        """mode 0: a valid scores tree over the revealed stations; 1: a root nobody can prove; 2: no root.
        `incl`: first record an inclusion tree over the revealed stations (includedRounds from it, mod t + 1)."""
        stations = [a for a, p in r.parts.items() if p.role == STATION and p.revealed]
        if incl and stations and r.incl is None and r.selected:
            t = r.proposals[r.star][3]
            tree = MerkleTree.build(["address", "uint256"], [(a, incl[i % len(incl)] % (t + 1))
                                                             for i, a in enumerate(stations)])
            if self.send(self.core.recordInclusion, r.rid, tree.root, keccak(b"manifests"), sender=caller,
                         expect={"", "NotWinner", "WrongPhase", "InclusionAlreadyRecorded"}):
                r.incl = tree
                REACHED["inclusion"] += 1
        tree, total, root = None, 0, b"\0" * 32
        if mode == 0 and stations:
            leaves, prefix = [], 0
            for i, a in enumerate(stations):
                sc = scores[i % len(scores)]
                leaves.append((a, sc, prefix))
                prefix += sc
            tree, total, root = MerkleTree.build(LEAF_TYPES, leaves), prefix, None
            root = tree.root
        elif mode == 1:
            total, root = 1 + sum(scores), keccak(b"garbage")
        tx = self.send(self.core.finalizeTraining, r.rid, keccak(b"model"), 7000, root, total, keccak(b"validation"),
                       sender=caller)
        if tx is not None:
            r.tree = tree if total else None
            r.scores_total = total
            r.bad_scores = mode == 1
            REACHED["finalized"] += 1

    def residual_check(self, r: RoundM) -> None:
        """After everybody of `r` was claimed for: the round holds nothing any more (to the wei)."""
        if not (r.settled or (r.k == 0 and r.phase == FINISHED)):
            return
        assert all(p.settled for p in r.parts.values()), "a participant could not be settled"
        assert r.r_dep == 0, f"round {r.rid}: {r.r_dep} wei of deposits left after everybody was settled"
        REACHED["residual:deposits"] += 1
        if r.phase != FINISHED:
            return
        cfg = self.w.campaigns[r.cid][1]
        stuck = (cfg["stationShareRule"] == CONTRIBUTION and r.finalized and not r.objected and r.bad_scores)
        if not stuck:
            assert r.r_escrow == 0, f"round {r.rid}: {r.r_escrow} wei of escrow left"
        assert r.r_bond == 0, f"round {r.rid}: {r.r_bond} wei of bonds left"
        assert r.r_vd == 0, f"round {r.rid}: {r.r_vd} wei of vote deposits left"
        REACHED["residual:finished"] += 1


# ------------------------------------------------------------------ the state machine
actor = st.integers(0, 9)
pick = st.integers(0, 2**16 - 1)


class SolvencyV2(RuleBasedStateMachine):
    env: Chain
    world: World
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        chain.revert()  # back to the world snapshot
        env = self.env
        env.w = copy.deepcopy(self.world)
        env.now = self.world_now
        self.new_objects = 0
        SolvencyV2.examples += 1
        self.touched: int | None = None

    # ---------------------------------------------------------- helpers
    @property
    def w(self) -> World:
        return self.env.w

    def round_(self, i: int) -> RoundM:
        rids = sorted(self.w.rounds)
        return self.w.rounds[rids[i % len(rids)]]

    def acct(self, i: int) -> Any:
        return self.env.accounts[i % len(self.env.accounts)]

    def member(self, r: RoundM, i: int, pred: Any = lambda p: True) -> str | None:
        cands = [a for a, p in r.parts.items() if pred(p)]
        return cands[i % len(cands)] if cands else None

    def cfg(self, r: RoundM) -> dict[str, int]:
        return self.w.campaigns[r.cid][1]

    # ---------------------------------------------------------- campaigns and rounds
    @rule(c=configs(), who=actor)
    def create_campaign(self, c: dict[str, int], who: int) -> None:
        self.touched = NO_CAMPAIGN  # a new campaign starts with empty pools; no existing pool may change
        err = expected_cfg_error(c)
        if err is None and self.new_objects >= 2:
            return  # keep the number of campaigns (and the per-step read) small
        tx = self.env.send(self.env.core.createCampaign, cfg_tuple(c), sender=self.acct(who), expect=err,
                           must=err is None)
        if tx is not None:
            self.new_objects += 1
            REACHED["campaign:new"] += 1
        else:
            REACHED["campaign:refused"] += 1

    @rule(i=pick, who=actor)
    def open_round(self, i: int, who: int) -> None:
        cids = sorted(self.w.campaigns)
        cid = cids[i % len(cids)]
        creator = self.w.campaigns[cid][0]
        sender = self.acct(who)
        if sender.address != creator:
            self.env.send(self.env.core.openRound, cid, sender=sender, expect="NotCampaignCreator")
            REACHED["openRound:not-creator"] += 1
        elif self.new_objects < 3:
            self.touched = cid
            if self.env.send(self.env.core.openRound, cid, sender=sender, must=True):
                self.new_objects += 1

    # ---------------------------------------------------------- joining and proposing
    @rule(i=pick, who=actor, owner=st.booleans(),
          dep=st.sampled_from(["min-1", "min", "min+1", "x3", "big", "max", "max+1"]))
    def join(self, i: int, who: int, owner: bool, dep: str) -> None:
        r = self.round_(i)
        cfg = self.cfg(r)
        role = OWNER if owner else STATION
        m = cfg["minOwnerDeposit"] if owner else cfg["minStationDeposit"]
        value = {"min-1": m - 1, "min": m, "min+1": m + 1, "x3": 3 * m, "big": max(m, 10**20),
                 "max": MAX_AMOUNT, "max+1": MAX_AMOUNT + 1}[dep]
        value = min(value, MAX_AMOUNT + 1)
        expect: set[str] | None = {"WrongPhase", "AlreadyJoined", ""}
        if value < m:
            expect = {"WrongPhase", "DepositTooSmall"}
        elif value > MAX_AMOUNT:
            expect = {"WrongPhase", "AmountTooLarge"}
        self.touched = r.cid
        self.env.send(self.env.core.join, r.rid, role, sender=self.acct(who), value=value, expect=expect)

    @rule(i=pick, who=pick, price=st.sampled_from(["cap", "cap+1", "zero", "low", "mid"]),
          bond=st.sampled_from(["min-1", "min", "more"]), t=st.integers(1, 3))
    def propose(self, i: int, who: int, price: str, bond: str, t: int) -> None:
        r = self.round_(i)
        a = self.member(r, who, lambda p: p.role == OWNER) or self.acct(who).address
        self._propose(r, a, price, bond, t)

    def _propose(self, r: RoundM, a: str, price: str, bond: str, t: int) -> None:
        cfg = self.cfg(r)
        cap = cfg["maxPrice"]
        deps = sorted(p.deposit for p in r.parts.values() if p.role == OWNER) or [cfg["minOwnerDeposit"]]
        value = {"cap": cap, "cap+1": cap + 1, "zero": 0, "low": min(cap, deps[0] // 3 + 1),
                 "mid": min(cap, deps[0] * max(1, len(deps)) // 2)}[price]
        b = {"min-1": cfg["minBond"] - 1, "min": cfg["minBond"], "more": cfg["minBond"] + 10**15}[bond]
        errs = {"", "WrongPhase", "WrongRole", "TooManyProposals", "TooManyProposalsByOwner", "AmountTooLarge"}
        if b < cfg["minBond"]:
            errs = {"WrongPhase", "WrongRole", "BondTooSmall"}
        elif value > cap:
            errs = {"WrongPhase", "WrongRole", "PriceTooLarge", "AmountTooLarge"}
        self.touched = r.cid
        self.env.send(self.env.core.propose, r.rid, keccak(b"spec"), "ipfs://spec", 1, 8000, t, 0b1011, value,
                      sender=self.env.by_addr[a], value=b, expect=errs)

    # ---------------------------------------------------------- sealed claims
    def _claims(self, r: RoundM, p: Part, kind: int, seed: int) -> list[int]:
        k = r.k
        d = p.deposit
        if kind == 0:  # honest-ish: owners value, stations ask little
            base = [(d - 1) * ((seed >> m) % 7 + 1) // 8 for m in range(k)]
            return base if p.role == OWNER else [x // 8 for x in base]
        vals = [0, 1, d - 1, d, 2**128, 2**200, (seed * 7919) % (2 * d + 1)]
        return [vals[(seed + 3 * m) % len(vals)] for m in range(k)]

    @rule(i=pick, j=pick, kind=st.integers(0, 1), seed=pick, wrong_len=st.booleans())
    def commit(self, i: int, j: int, kind: int, seed: int, wrong_len: bool) -> None:
        r = self.round_(i)
        a = self.member(r, j, lambda p: not p.committed)
        if a is None:
            a = self.acct(j).address
            self.env.send(self.env.core.commit, r.rid, keccak(b"x"), sender=self.env.by_addr[a],
                          expect={"", "WrongPhase", "NotJoined", "AlreadyCommitted"})
            return
        claims = self._claims(r, r.parts[a], kind, seed)
        if wrong_len and seed % 4 == 0:
            claims = claims + [1]  # a commitment whose reveal can never match the proposal count
        self.touched = r.cid
        self.env.commit(r, a, claims)

    @rule(i=pick, j=pick, tamper=st.integers(0, 3))
    def reveal(self, i: int, j: int, tamper: int) -> None:
        r = self.round_(i)
        a = self.member(r, j, lambda p: p.committed and not p.revealed)
        if a is None:
            return
        p = r.parts[a]
        claims, salt = list(p.claims or []), p.salt
        if tamper == 1 and claims:
            claims[0] += 1
        elif tamper == 2:
            salt = keccak(salt)
        self.touched = r.cid
        if tamper in (1, 2):
            self.env.send(self.env.core.reveal, r.rid, claims, salt, sender=self.env.by_addr[a],
                          expect={"WrongPhase", "CommitmentMismatch", "ClaimCountMismatch"})
        else:
            self.env.send(self.env.core.reveal, r.rid, claims, salt, sender=self.env.by_addr[a],
                          expect={"", "WrongPhase", "ClaimCountMismatch"})

    # ---------------------------------------------------------- settlement and claims
    @rule(i=pick, who=actor)
    def settle(self, i: int, who: int) -> None:
        r = self.round_(i)
        self.touched = r.cid
        self.env.send(self.env.core.settle, r.rid, sender=self.acct(who), expect={"", "WrongPhase"})

    @rule(i=pick, j=pick, who=actor, self_call=st.integers(0, 3))
    def claim(self, i: int, j: int, who: int, self_call: int) -> None:
        r = self.round_(i)
        a = self.member(r, j) or self.acct(j).address
        self.touched = r.cid
        if self_call == 0 and a in self.env.by_addr:
            self.env.claim(r, a, None, and_withdraw=True)
        else:
            self.env.claim(r, a, self.acct(who))

    @rule(i=pick, who=actor)
    def claim_everybody(self, i: int, who: int) -> None:
        """Claims (settles) every participant of a round in a random rotation, then checks that the round
        holds nothing any more (deposits, escrow, bonds and vote deposits paid out to the wei)."""
        r = self.round_(i)
        if r.phase < AWAITING:
            return
        self.touched = r.cid
        if r.phase == AWAITING:
            self.env.send(self.env.core.settle, r.rid, sender=self.acct(who), expect={"", "WrongPhase"})
        members = list(r.parts)
        rot = who % max(1, len(members))
        for a in members[rot:] + members[:rot]:
            p = r.parts[a]
            if not p.settled or (r.phase == FINISHED and r.selected and not p.final):
                self.env.claim(r, a, self.acct(who))
        self.env.check(self.touched)
        self.env.residual_check(r)

    # ---------------------------------------------------------- training
    @rule(i=pick, j=pick, g=st.integers(0, 3))
    def report(self, i: int, j: int, g: int) -> None:
        r = self.round_(i)
        a = self.member(r, j, lambda p: p.role == STATION) or self.acct(j).address
        self.touched = r.cid
        self.env.send(self.env.core.reportTraining, r.rid, g, keccak(b"update"), 100, 5000, keccak(b"clients"),
                      sender=self.env.by_addr[a])

    @rule(i=pick, by_winner=st.integers(0, 3), mode=st.integers(0, 2), scores=st.lists(st.integers(0, 5), min_size=1, max_size=4))
    def finalize(self, i: int, by_winner: int, mode: int, scores: list[int]) -> None:
        r = self.round_(i)
        win = r.winner()
        caller = self.env.by_addr[win] if (win and by_winner) else self.acct(by_winner + i)
        self.touched = r.cid
        self.env.finalize(r, caller, mode, scores)

    @rule(i=pick, j=pick)
    def object_scores(self, i: int, j: int) -> None:
        r = self.round_(i)
        a = self.member(r, j, lambda p: p.role == STATION) or self.acct(j).address
        self.touched = r.cid
        self.env.send(self.env.core.objectScores, r.rid, sender=self.env.by_addr[a])

    # ---------------------------------------------------------- vote
    @rule(i=pick, j=pick, punish=st.booleans(), wrong=st.integers(0, 5))
    def vote(self, i: int, j: int, punish: bool, wrong: int) -> None:
        r = self.round_(i)
        a = self.member(r, j, lambda p: p.role == OWNER) or self.acct(j).address
        self.touched = r.cid
        self._vote(r, a, punish, wrong)

    def _vote(self, r: RoundM, a: str, punish: bool, wrong: int) -> None:
        p = r.parts.get(a)
        sender = self.env.by_addr[a]
        if p is not None and p.vote is not None and not p.vote_revealed:
            vp, salt = p.vote
            if wrong == 0:
                self.env.send(self.env.core.revealVote, r.rid, not vp, salt, sender=sender,
                              expect={"WrongPhase", "CommitmentMismatch"})
            else:
                self.env.send(self.env.core.revealVote, r.rid, vp, salt, sender=sender)
            return
        vd = self.cfg(r)["voteDeposit"]
        salt = self.env.salt()
        value = vd + 1 if wrong == 0 else vd
        tx = self.env.send(self.env.core.commitVote, r.rid, vote_commitment(r.rid, a, punish, salt), sender=sender,
                           value=value, expect={"WrongPhase", "NotEligibleVoter", "WrongVoteDeposit"} if wrong == 0 else None)
        if tx is not None and p is not None:
            p.vote = (punish, salt)

    # ---------------------------------------------------------- money
    @rule(who=actor)
    def withdraw(self, who: int) -> None:
        self.touched = NO_CAMPAIGN
        self.env.withdraw(self.acct(who))

    @rule(who=actor, amount=st.sampled_from([1, 7, 10**18]))
    def force_ether(self, who: int, amount: int) -> None:
        """SELFDESTRUCT from a contract's init code: ether arrives without any function being called."""
        self.touched = NO_CAMPAIGN
        init = "0x73" + self.env.core.address[2:].lower() + "ff"
        self.acct(who).transfer(None, amount, data=init, silent=True)
        self.w.forced += amount
        REACHED["forced"] += 1

    @rule(i=pick, who=actor)
    def sweep(self, i: int, who: int) -> None:
        cids = sorted(self.w.campaigns)
        cid = cids[i % len(cids)]
        self.touched = cid
        self.env.send(self.env.core.sweepSurplus, cid, sender=self.acct(who),
                      expect="NoSurplus" if self.w.forced == 0 else None, must=self.w.forced > 0)

    # ---------------------------------------------------------- time
    @rule(i=pick, how=st.integers(0, 3))
    def travel(self, i: int, how: int) -> None:
        self.touched = NO_CAMPAIGN
        if how == 0:
            chain.sleep(1 + i % 50)
            chain.mine()
        elif how == 1 and i % 8 == 0:
            chain.sleep(MAX_DURATION)
            chain.mine()
        else:
            self.env.sleep_past_next_deadline(self.round_(i))

    # ---------------------------------------------------------- the action that fits a round's phase
    def _live(self, r: RoundM) -> bool:
        if r.phase != FINISHED:
            return True
        return any(not p.settled or (p.role == STATION and p.revealed and r.selected and not p.rewarded)
                   for p in r.parts.values())

    def _progress(self, i: int, j: int, seed: int) -> None:
        """Moves one round through its current phase with the actions that fit it, by participants they fit
        (bits of `seed` decide who joins, withholds a reveal, skips a report or a vote), then jumps the clock
        past the round's next deadline; so that short walks get through whole rounds while the other rules
        throw random, mostly wrong, actions in between."""
        live = [r for r in self.w.rounds.values() if self._live(r)] or list(self.w.rounds.values())
        r = live[i % len(live)]
        ph = r.phase
        env = self.env
        self.touched = r.cid
        bit = lambda n: (seed >> n) & 1  # noqa: E731
        jump = True
        if ph == JOINING:
            cfg = self.cfg(r)
            free = [a for a in env.addr[2:] if a not in r.parts]
            for n in range(min(len(free), 1 + seed % 3)):
                a = free[(j + n) % len(free)]
                owner = bit(n) == 0
                m = cfg["minOwnerDeposit"] if owner else cfg["minStationDeposit"]
                value = m if bit(n + 4) else m + (seed * 10**13 + n) % (10**17)  # the minimum half of the time
                if value <= MAX_AMOUNT:
                    env.send(env.core.join, r.rid, OWNER if owner else STATION, sender=env.by_addr[a], value=value,
                             expect={"", "WrongPhase"})
            jump = len(r.parts) >= 3 and bit(8) == 0
        elif ph == PROPOSING:
            owners = [a for a, p in r.parts.items() if p.role == OWNER]
            for n in range(min(len(owners), 1 + seed % 2)):
                self._propose(r, owners[(j + n) % len(owners)], ["low", "mid", "cap", "low"][(seed >> (2 * n)) % 4],
                              "min", 1 + bit(n + 6))
        elif ph == COMMITTING:
            for n, a in enumerate([a for a, p in r.parts.items() if not p.committed][:5]):
                if bit(n) == 0 or n == 0:
                    env.commit(r, a, self._claims(r, r.parts[a], 0 if (seed >> (n + 8)) % 5 else 1, seed >> n))
        elif ph == REVEALING:
            for n, a in enumerate([a for a, p in r.parts.items() if p.committed and not p.revealed][:5]):
                if (seed >> n) % 5:  # about one in five withholds its reveal
                    p = r.parts[a]
                    env.send(env.core.reveal, r.rid, p.claims, p.salt, sender=env.by_addr[a],
                             expect={"", "WrongPhase", "ClaimCountMismatch"})
        elif ph == AWAITING:
            env.send(env.core.settle, r.rid, sender=self.acct(j), expect={"", "WrongPhase"})
            jump = False
        elif ph == TRAINING:
            t = r.proposals[r.star][3]
            todo = [(a, g) for a, p in r.parts.items() if p.role == STATION and p.revealed
                    for g in range(t) if g not in p.reported]
            early = bit(0) and not r.finalized  # the winner finalizes first (v1's early-finalize attack)
            if early or (not todo and not r.finalized):
                env.finalize(r, env.by_addr[r.winner()], [0, 0, 1, 2][(seed >> 1) % 4], [1 + seed % 3, bit(3), 2],
                             [seed % 4, bit(5) + 1, 3] if bit(13) else None)
            for n, (a, g) in enumerate(todo[:4]):
                if (seed >> (n + 4)) % 6:  # now and then a station skips a report (and forfeits that part)
                    env.send(env.core.reportTraining, r.rid, g, keccak(b"update"), 100, 5000, keccak(b"clients"),
                             sender=env.by_addr[a], expect={"", "WrongPhase"})
            if not r.finalized and bit(9) == 0 and not early:
                env.finalize(r, env.by_addr[r.winner()], [0, 0, 1, 2][(seed >> 1) % 4], [1 + seed % 3, bit(3), 2])
            if r.finalized and r.tree is not None and bit(12):  # a station disputes the scores
                a = self.member(r, j, lambda p: p.role == STATION and p.revealed)
                if a:
                    env.send(env.core.objectScores, r.rid, sender=env.by_addr[a], expect={"", "AlreadyObjected", "WrongPhase"})
            jump = bit(10) == 1 and bit(11) == 1  # mostly training closes by itself (or the round fails)
        elif ph == VOTE_COMMIT:
            if bit(2) and bit(3):  # a station contests the inclusion root (the vote decides)
                a = self.member(r, j, lambda p: p.role == STATION and p.revealed)
                if a:
                    env.send(env.core.contestInclusion, r.rid, sender=env.by_addr[a],
                             expect={"", "AlreadyContested", "NoInclusionRoot", "WrongPhase"})
            if bit(0) and bit(1):
                a = self.member(r, j, lambda p: p.role == STATION and p.revealed)
                if a:
                    env.send(env.core.objectScores, r.rid, sender=env.by_addr[a],
                             expect={"", "AlreadyObjected", "WrongPhase"})
            win = r.winner()
            for n, a in enumerate([a for a, p in r.parts.items() if p.role == OWNER and p.revealed and p.vote is None
                                   and a != win][:4]):
                if (seed >> (n + 2)) % 4:
                    self._vote(r, a, bit(n + 8) == 1, 1)
        elif ph == VOTE_REVEAL:
            for n, a in enumerate([a for a, p in r.parts.items() if p.vote is not None and not p.vote_revealed][:4]):
                if (seed >> n) % 4:  # about one in four withholds its vote (and forfeits the vote deposit)
                    self._vote(r, a, False, 1)
        elif ph == FINISHED:
            todo = [a for a, p in r.parts.items()
                    if not p.settled or (r.selected and not p.final and not (p.role == STATION and p.rewarded))]
            for n, _a in enumerate(todo[:3]):
                env.claim(r, todo[(j + n) % len(todo)], self.acct(seed + n))
            env.withdraw(self.acct(seed))
            jump = False
        if jump:
            env.check(self.touched)  # the chain's clock, after the actions
            env.sleep_past_next_deadline(r)

    @rule(i=pick, j=pick, seed=pick)
    def progress_a(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_b(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_c(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_d(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_e(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_f(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_g(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_i(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_j(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_k(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_l(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    @rule(i=pick, j=pick, seed=pick)
    def progress_h(self, i: int, j: int, seed: int) -> None:
        self._progress(i, j, seed)

    # ---------------------------------------------------------- invariants (one batched read per step)
    @invariant()
    def every_invariant(self) -> None:
        self.env.check(self.touched)
        self.touched = None


# ------------------------------------------------------------------ the world (built once, then snapshotted)
def build_world(env: Chain) -> None:
    a = env.accounts
    core = env.core
    for acct in a:  # enough ether for deposits up to 2^96 - 1 (gas is free on this chain)
        web3.provider.make_request("anvil_setBalance", [acct.address, hex(2**120)])
    env.now = env.read()["time"]

    def ok(fn: Any, *args: Any, sender: Any, value: int = 0) -> Any:
        tx = env.send(fn, *args, sender=sender, value=value, must=True)
        env.check()
        return tx

    def mine() -> None:
        chain.mine()
        env.check()

    def goto(rid: int, phase: int) -> None:
        for _ in range(8):
            if env.w.rounds[rid].phase == phase:
                return
            env.sleep_past_next_deadline(env.w.rounds[rid])
            env.check()
        assert env.w.rounds[rid].phase == phase, (rid, env.w.rounds[rid].phase, phase)

    def round_to(cid: int, creator: Any, owners: dict[int, int], stations: dict[int, int], prices: list[tuple[int, int]],
                 reveal: set[int], t: int = 1) -> RoundM:
        rid = ok(core.openRound, cid, sender=creator).events["RoundOpened"]["roundId"]
        r = env.w.rounds[rid]
        for i, d in owners.items():
            ok(core.join, rid, OWNER, sender=a[i], value=d)
        for i, d in stations.items():
            ok(core.join, rid, STATION, sender=a[i], value=d)
        env.sleep_past_next_deadline(r)
        env.check()
        for i, price in prices:
            ok(core.propose, rid, keccak(b"spec"), "ipfs://spec", 1, 8000, t, 0b1011, price, sender=a[i],
               value=env.w.campaigns[cid][1]["minBond"])
        env.sleep_past_next_deadline(r)
        env.check()
        for i in list(owners) + list(stations):
            p = r.parts[a[i].address]
            claims = [p.deposit * (m + 2) // 5 if p.role == OWNER else p.deposit // (10 + m) for m in range(r.k)]
            env.commit(r, a[i].address, claims)
        env.sleep_past_next_deadline(r)
        env.check()
        for i in reveal:
            p = r.parts[a[i].address]
            ok(core.reveal, rid, p.claims, p.salt, sender=a[i])
        return r

    # campaign 0: the defaults (Posted, Equal/Equal, whole-deposit penalty), long join (parked in Joining)
    c0 = make_cfg(joinDuration=300, proposeDuration=300, commitDuration=20_000, voteDeposit=10**15)
    # campaign 1: PaperRandom, Stake owners / Proportional stations, 1-wei minimums, full pool draw, weak penalty
    c1 = make_cfg(paymentRule=PAPER_RANDOM, ownerShareRule=STAKE, stationShareRule=PROPORTIONAL, poolDrawBps=BPS,
                  nonRevealPenaltyBps=1000, nonRevealPenaltyFloor=10**12, minOwnerDeposit=1, minStationDeposit=1,
                  minBond=1, maxPrice=U128, maxProposalsPerOwner=20, voteDeposit=0, revealDuration=15_000)
    # campaign 2: Posted, Proportional owners / Contribution stations, no pool draw, no penalty (floor 1)
    c2 = make_cfg(ownerShareRule=PROPORTIONAL, stationShareRule=CONTRIBUTION, poolDrawBps=0, nonRevealPenaltyBps=0,
                  maxProposalsPerOwner=1, trainDuration=12_000, voteDeposit=1)
    # campaign 3: Posted, Stake/Stake, threshold 0 (any punish vote punishes), long vote commit
    c3 = make_cfg(ownerShareRule=STAKE, stationShareRule=STAKE, punishThresholdBps=0, voteRevealDuration=10_000,
                  minBond=10**16, voteDeposit=10**16)
    for creator, c in ((a[0], c0), (a[1], c1), (a[0], c2), (a[1], c3)):
        ok(core.createCampaign, cfg_tuple(c), sender=creator)
    # forced ether, swept into campaigns 0 and 1 (pools to draw from)
    for cid, amount in ((0, 4 * 10**17), (1, 10**18)):
        a[9].transfer(None, amount, data="0x73" + core.address[2:].lower() + "ff", silent=True)
        env.w.forced += amount
        ok(core.sweepSurplus, cid, sender=a[9])
    E = 10**18
    # campaign 1, an earlier round: Sybil-small owners that never reveal feed the pools; its winner did not
    # reveal and never finalizes (the walks see it fail, punished without a vote)
    r1a = round_to(1, a[1], {2: 5 * E, 3: 10**9, 4: 1}, {6: E, 7: 7}, [(2, 10**6), (3, 3 * E)], {2, 6}, t=1)
    goto(r1a.rid, AWAITING)
    ok(core.settle, r1a.rid, sender=a[9])
    for who in (3, 4, 7):
        ok(core.claim, r1a.rid, a[who].address, sender=a[9])
    # campaign 3's round: settled, trained, finalized -> parked in VoteCommitting (one punish vote in)
    r3 = round_to(3, a[1], {2: 2 * E, 3: 3 * E, 4: E}, {6: E, 7: 2 * E}, [(2, E // 2), (3, E)], {2, 3, 4, 6, 7}, t=1)
    goto(r3.rid, AWAITING)
    ok(core.settle, r3.rid, sender=a[8])
    assert r3.selected, "world: campaign 3's round must select a proposal"
    # rewards only for included work: station 6's update was in the aggregate, station 7's was not (it reports)
    r3.incl = MerkleTree.build(["address", "uint256"], [(a[6].address, 1), (a[7].address, 0)])
    ok(core.recordInclusion, r3.rid, r3.incl.root, keccak(b"manifests"), sender=env.by_addr[r3.winner()])
    ok(core.finalizeTraining, r3.rid, keccak(b"model"), 7000, b"\0" * 32, 0, keccak(b"val"),
       sender=env.by_addr[r3.winner()])
    for i in (6, 7):
        ok(core.reportTraining, r3.rid, 0, keccak(b"u"), 100, 5000, keccak(b"c"), sender=a[i])
    mine()
    assert r3.phase == VOTE_COMMIT, r3.phase
    for voter, punish in zip([x for x in (2, 3, 4) if a[x].address != r3.winner()], (True, False)):
        salt = env.salt()
        ok(core.commitVote, r3.rid, vote_commitment(r3.rid, a[voter].address, punish, salt), sender=a[voter],
           value=c3["voteDeposit"])
        r3.parts[a[voter].address].vote = (punish, salt)
    ok(core.contestInclusion, r3.rid, sender=a[7])  # station 7 contests: the vote decides how it is paid
    goto(r3.rid, VOTE_REVEAL)
    # campaign 2's round: settled, parked in Training (one station reported one of two global rounds)
    r2 = round_to(2, a[0], {2: 2 * E, 5: E}, {6: E, 7: E, 8: E}, [(2, E // 2), (5, E // 4)], {2, 5, 6, 7, 8}, t=2)
    goto(r2.rid, AWAITING)
    ok(core.settle, r2.rid, sender=a[9])
    assert r2.selected, "world: campaign 2's round must select a proposal"
    ok(core.reportTraining, r2.rid, 0, keccak(b"u"), 100, 5000, keccak(b"c"), sender=a[6])
    # campaign 1's round parked in Revealing (two of six revealed)
    r1 = round_to(1, a[1], {2: 3 * E, 3: E, 4: 2}, {6: E // 2, 7: 3, 8: E}, [(2, E), (3, E // 3), (4, 1)], {2, 6}, t=2)
    # campaign 0: a round parked in Committing (one commitment in), then one parked in Joining
    r0 = env.w.rounds[ok(core.openRound, 0, sender=a[0]).events["RoundOpened"]["roundId"]]
    for i, role, dep in ((2, OWNER, c0["minOwnerDeposit"]), (3, OWNER, E), (6, STATION, E), (7, STATION, c0["minStationDeposit"])):
        ok(core.join, r0.rid, role, sender=a[i], value=dep)
    goto(r0.rid, PROPOSING)
    for i, price in ((2, E // 10), (3, c0["maxPrice"])):
        ok(core.propose, r0.rid, keccak(b"spec"), "ipfs://spec", 1, 8000, 1, 0b1011, price, sender=a[i],
           value=c0["minBond"])
    goto(r0.rid, COMMITTING)
    env.commit(r0, a[3].address, [E // 2, E // 3])
    r0b = env.w.rounds[ok(core.openRound, 0, sender=a[0]).events["RoundOpened"]["roundId"]]
    ok(core.join, r0b.rid, OWNER, sender=a[2], value=c0["minOwnerDeposit"])
    ok(core.join, r0b.rid, STATION, sender=a[6], value=E)
    env.check()
    phases = (r0b.phase, r0.phase, r1.phase, r2.phase, r3.phase, r1a.phase)
    assert phases == (JOINING, COMMITTING, REVEALING, TRAINING, VOTE_REVEAL, FINISHED), phases


class _CheapStack:
    """Stands in for the `inspect` module inside brownie.network.rpc. Its `internal` decorator calls
    `inspect.stack()` on every snapshot, revert, sleep and mine, only to look at the caller's `self`; building
    the whole stack with source context costs about 0.1 s per call here, more than the transaction itself.
    This returns the same two frames without reading any source file."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)

    @staticmethod
    def stack(context: int = 1) -> list[Any]:
        wrapped = sys._getframe(1)
        return [types.SimpleNamespace(frame=wrapped), types.SimpleNamespace(frame=wrapped.f_back)]


def _cpu_seconds() -> tuple[float, float]:
    """(user + sys CPU seconds of this process, of its child processes: the anvil node Brownie launched)."""
    import psutil

    me = psutil.Process()
    own = sum(me.cpu_times()[:2])
    kids = 0.0
    for child in me.children(recursive=True):
        try:
            kids += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return own, kids


@pytest.mark.slow
def test_stateful_solvency_v2(monkeypatch, accounts, HCFLCore, RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule,
                              PunishmentVoteModule) -> None:
    monkeypatch.setattr(sys.modules["brownie.network.rpc"], "inspect", _CheapStack())
    # requests scans the whole environment for proxy settings on every JSON-RPC request (a third of the
    # client's CPU here); the node is on loopback, where no proxy applies
    import requests.sessions

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", lambda url, no_proxy=None: {})
    for lib in (RoundsModule, SealedClaimsModule, SettlementModule, TrainingModule, PunishmentVoteModule):
        lib.deploy({"from": accounts[0], "silent": True})  # Brownie links HCFLCore to the latest deployments
    core = HCFLCore.deploy({"from": accounts[0], "silent": True})
    env = Chain(core, accounts)
    build_world(env)
    SolvencyV2.env = env
    SolvencyV2.world = copy.deepcopy(env.w)
    SolvencyV2.world_now = env.now
    SolvencyV2.examples = 0
    chain.snapshot()
    # Brownie's chain.revert runs gc.collect(), which walks every object Brownie and hypothesis loaded (about
    # 0.2 s per example); freezing them once makes each revert cost only the young objects.
    gc.collect()
    gc.freeze()
    started = time.time()
    cpu_before = _cpu_seconds()
    try:
        run_state_machine_as_test(
            SolvencyV2,
            settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=not LONG,
                              verbosity=Verbosity.normal, database=None, print_blob=True,
                              suppress_health_check=list(HealthCheck)),
        )
    finally:
        gc.unfreeze()
    elapsed = time.time() - started
    cpu = [after - before for after, before in zip(_cpu_seconds(), cpu_before)]
    # CPU seconds of this process and of the node: what the run costs on one otherwise idle core
    print(f"\n{SolvencyV2.examples} examples x {STEPS} steps in {elapsed:.1f} s wall, "
          f"{cpu[0]:.1f} s CPU (python) + {cpu[1]:.1f} s CPU (anvil) = {sum(cpu):.1f} s on one core")
    print("reached:", dict(sorted(REACHED.items())))
    print("events:", dict(sorted(EVENTS.items())))
    print("calls:", dict(sorted((f"{k[0]}/{k[1]}", v) for k, v in CALLS.items())))
    assert SolvencyV2.examples >= EXAMPLES
    # the random walks must reach every stage, or the invariants proved little
    for event in ("CampaignCreated", "RoundOpened", "Joined", "Proposed", "ClaimsRevealed", "RoundSettled",
                  "ParticipantSettled", "TrainingReported", "TrainingFinalized", "TrainingClosed", "ScoresObjected",
                  "StationRewarded", "VoteCommitted", "VoteRevealed", "VoteDepositForfeited", "BondReleased",
                  "BondSlashShare", "Withdrawn", "SurplusSwept", "PoolChanged", "InclusionRecorded", "InclusionProven"):
        assert EVENTS[event] > 0, f"no random sequence reached {event}"
    for milestone in ("selected", "finalized", "forced", "campaign:new", "campaign:refused", "openRound:not-creator",
                      "residual:deposits", "residual:finished"):
        assert REACHED[milestone] > 0, f"no random sequence reached {milestone}; reached {dict(REACHED)}"
    assert sum(v for k, v in REACHED.items() if k.startswith("tally:")) > 0

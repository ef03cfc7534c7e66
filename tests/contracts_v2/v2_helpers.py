"""Helpers for the contract v2 tests: a round driver, revert checks that prove nothing changed, and
conservation checks."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_utils import keccak

from hcfl.chain.client import ContractRevert
from hcfl.chain.provider import Chain
from hcfl.chain.v2.client import CoreClient, ParticipantV2
from hcfl.protocol import CampaignConfig, Phase, ProposalSpec, Role

NAMES = ["creator", "o1", "o2", "o3", "o4", "o5", "s1", "s2", "s3", "s4", "x", "y"] + [f"s{i}" for i in range(5, 11)]
# the accounts whose records a failed call must leave unchanged (the ones the error tests act with)
WATCHED = ["creator", "o1", "o2", "o3", "s1", "s2", "x", "y"]
RECORDS = ["o1", "o2", "s1", "x"]  # whose per-round records (participant, vote) are compared too
D = 10_000
ETH = 10**18
CFG = CampaignConfig(join_duration=D, propose_duration=D, commit_duration=D, reveal_duration=D, train_duration=D,
                     vote_commit_duration=D, vote_reveal_duration=D, min_owner_deposit=10**15,
                     min_station_deposit=10**15, min_bond=10**15, non_reveal_penalty_floor=10**12,
                     vote_deposit=10**15, max_proposals_per_owner=2)


def cfg(**kw: Any) -> CampaignConfig:
    return CFG.model_copy(update=kw)


def salt_of(label: str) -> bytes:
    return keccak(text=f"salt/{label}")


def spec(price: int, t: int = 2, **kw: Any) -> ProposalSpec:
    return ProposalSpec(spec_hash=b"\x11" * 32, uri="ipfs://spec", global_rounds=t, price=price, **kw)


@dataclass
class V2:
    chain: Chain
    core: CoreClient
    acct: dict[str, ParticipantV2]
    joined: dict[int, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ParticipantV2:
        return self.acct[name]

    def addr(self, name: str) -> str:
        return self.acct[name].address

    # ------------------------------------------------------------- phases
    def goto(self, round_id: int, phase: Phase) -> None:
        """Fast-forward the clock until `state(round_id) == phase` (only forward, deadline by deadline)."""
        r = self.core.round(round_id)
        ends = {Phase.PROPOSING: r.join_end, Phase.COMMITTING: r.propose_end, Phase.REVEALING: r.commit_end,
                Phase.AWAITING_SETTLEMENT: r.reveal_end}
        if phase in ends:
            self.chain.wait_until(ends[phase])
        elif phase in (Phase.VOTE_COMMITTING, Phase.VOTE_REVEALING, Phase.FINISHED):
            c = self.core.campaign(r.campaign_id).cfg
            closed = r.train_closed_at or r.train_end
            if not r.train_closed_at and self.chain.now() <= closed:
                self.chain.wait_until(closed)
            vce = closed + c.vote_commit_duration
            if phase == Phase.VOTE_REVEALING:
                self.chain.wait_until(vce)
            elif phase == Phase.FINISHED:
                self.chain.wait_until(vce + c.vote_reveal_duration)
        assert self.core.state(round_id) == phase, (self.core.state(round_id), phase)

    # ------------------------------------------------------------- a round
    def campaign(self, c: CampaignConfig = CFG, creator: str = "creator") -> int:
        return self.acct[creator].create_campaign(c)

    def open(self, campaign_id: int, creator: str = "creator") -> int:
        return self.acct[creator].open_round(campaign_id)

    def round_to_reveal(
        self,
        campaign_id: int,
        deposits: dict[str, int],
        proposals: Sequence[tuple[str, int]],
        claims: dict[str, Sequence[int]],
        bond: int = 10**15,
        t: int = 2,
        reveal: Sequence[str] | None = None,
    ) -> int:
        """Open a round, join (name -> deposit; names starting with 's' are stations), propose
        (proposer, price), commit every `claims` entry and reveal those in `reveal` (default all)."""
        rid = self.open(campaign_id)
        for name, dep in deposits.items():
            self.acct[name].join(rid, Role.STATION if name.startswith("s") else Role.OWNER, dep)
        self.goto(rid, Phase.PROPOSING)
        for proposer, price in proposals:
            self.acct[proposer].propose(rid, spec(price, t), bond)
        self.goto(rid, Phase.COMMITTING)
        for name, cl in claims.items():
            self.acct[name].commit_claims(rid, cl, salt_of(f"{rid}/{name}"))
        self.goto(rid, Phase.REVEALING)
        for name in (claims if reveal is None else reveal):
            self.acct[name].reveal(rid, claims[name], salt_of(f"{rid}/{name}"))
        self.joined[rid] = list(deposits)
        return rid

    def settle(self, rid: int, by: str = "x") -> Any:
        self.goto(rid, Phase.AWAITING_SETTLEMENT)
        return self.acct[by].settle(rid)

    def claim_all(self, rid: int, names: Sequence[str] | None = None, by: str = "x") -> None:
        for n in names or self.joined[rid]:
            try:
                self.acct[by].claim(rid, self.addr(n))
            except ContractRevert as e:
                if e.error != "NothingToClaim":
                    raise

    def withdraw_all(self) -> dict[str, int]:
        """Everybody withdraws; returns name -> amount paid (checks each payment equals the credit)."""
        paid = {}
        for n, p in self.acct.items():
            credit = self.core.credit_of(p.address)
            if credit == 0:
                continue
            before = self.chain.w3.eth.get_balance(p.address)
            receipt = p.withdraw()
            fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
            after = self.chain.w3.eth.get_balance(p.address)
            assert after - before + fee == credit, f"{n} withdrew {after - before + fee}, credit {credit}"
            assert self.core.credit_of(p.address) == 0
            paid[n] = credit
        return paid

    # ------------------------------------------------------------- checks
    def snapshot_state(self, round_ids: Sequence[int] = (), names: Sequence[str] = WATCHED) -> dict[str, Any]:
        """Everything a failed call must leave unchanged (chain clock excluded)."""
        c_count, r_count = self.core.counts()
        st: dict[str, Any] = {
            "counts": (c_count, r_count),
            "accounting": self.core.accounting(),
            "balance": self.core.balance(),
            "campaigns": [self.core.campaign(i) for i in range(c_count)],
            "credits": {n: self.core.credit_of(self.addr(n)) for n in names if n in RECORDS or n == "creator"},
        }
        for rid in round_ids:
            st[f"round{rid}"] = self.core.round(rid).model_dump(exclude={"phase"})
            st[f"parts{rid}"] = {n: self.core.participant(rid, self.addr(n)) for n in RECORDS}
            st[f"votes{rid}"] = {n: self.core.vote(rid, self.addr(n)) for n in RECORDS}
        return st

    def assert_solvent(self) -> None:
        a = self.core.accounting()
        assert a.balance == self.core.balance()
        assert a.balance >= a.owed, a


def expect_revert(v: V2, error: str, fn: Callable[[], Any], round_ids: Sequence[int] = ()) -> ContractRevert:
    """`fn` reverts with the custom error `error` and no state (accounting, campaigns, rounds, records,
    credits) changed. The failing transaction is really sent (gas given explicitly, no estimate)."""
    before = v.snapshot_state(round_ids)
    with pytest.raises(ContractRevert) as info:
        fn()
    assert info.value.error == error, f"expected {error}, got {info.value}"
    after = v.snapshot_state(round_ids)
    assert before == after, "a failed call changed state"
    return info.value

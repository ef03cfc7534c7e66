"""Helpers for the EdgePayouts tests: a test environment, exact balance checks and revert checks that
assert a failed call changed nothing."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak

from hcfl.chain.client import ContractRevert
from hcfl.chain.edge_payouts import EdgeParty, EdgePayoutsClient, PayoutTree, round_key
from hcfl.chain.provider import Chain

NAMES = ["s1", "s2", "c1", "c2", "c3", "c4", "c5", "c6", "x"]
CLIENTS = ["c1", "c2", "c3", "c4", "c5", "c6"]
RULE = keccak(text='{"name":"equal","params":{}}')
WINDOW = 3600
KEY = round_key("0x" + "ab" * 20, 1)
KEY2 = round_key("0x" + "ab" * 20, 2)


@dataclass
class Env:
    chain: Chain
    c: EdgePayoutsClient
    p: dict[str, EdgeParty]

    def __getattr__(self, name: str) -> EdgeParty:  # e.s1, e.c3 ...
        parties = self.__dict__.get("p", {})
        if name in parties:
            return parties[name]
        raise AttributeError(name)

    def tree(self, amounts: dict[str, int]) -> PayoutTree:
        """A tree over parties (by name) or raw addresses."""
        return PayoutTree.build({self.p[k].address if k in self.p else k: v for k, v in amounts.items()})

    def post(self, station: EdgeParty, amounts: dict[str, int], key: bytes = KEY, window: int = WINDOW) -> PayoutTree:
        tree = self.tree(amounts)
        station.announce_rule(key, RULE)
        station.post_payouts(key, tree, window)
        return tree

    def balance(self, who: EdgeParty | str) -> int:
        return int(self.chain.w3.eth.get_balance(who if isinstance(who, str) else who.address))

    def held(self, postings: Sequence[tuple[EdgeParty, bytes]]) -> int:
        return sum(self.c.payout(s.address, k).held for s, k in postings)


def fee(receipt: Any) -> int:
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def paid(e: Env, party: EdgeParty, action: Callable[[], Any]) -> int:
    """Wei that `action` (sent by `party`) paid `party`, net of its gas."""
    before = e.balance(party)
    receipt = action()
    return e.balance(party) - before + fee(receipt)


def world(e: Env, keys: Sequence[bytes] = (KEY, KEY2)) -> dict[str, Any]:
    """Everything observable that a reverted call must leave unchanged."""
    out: dict[str, Any] = {"balance": e.c.balance(), "parties": {n: e.balance(p) for n, p in e.p.items()}}
    for s in (e.s1, e.s2):
        for k in keys:
            out[f"rule/{s.address}/{k.hex()}"] = e.c.rule(s.address, k)
            out[f"payout/{s.address}/{k.hex()}"] = e.c.payout(s.address, k)
            for cl in [e.p[n] for n in CLIENTS]:
                out[f"claimed/{s.address}/{k.hex()}/{cl.address}"] = e.c.is_claimed(s.address, k, cl.address)
    return out


def assert_reverts(e: Env, fn: Callable[[], Any], error: str, args: tuple | None = None,
                   keys: Sequence[bytes] = (KEY, KEY2)) -> ContractRevert:
    before = world(e, keys)
    with pytest.raises(ContractRevert) as exc:
        fn()
    assert exc.value.error == error, (exc.value.error, exc.value.error_args)
    if args is not None:
        norm = lambda vs: tuple(v.lower() if isinstance(v, str) else v for v in vs)  # noqa: E731 (abi addresses)
        assert norm(exc.value.error_args) == norm(args), (exc.value.error_args, args)
    assert world(e, keys) == before
    return exc.value

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
    core: Any = None  # the StationRewardsStub contract (web3) the EdgePayouts is bound to

    def __getattr__(self, name: str) -> EdgeParty:  # e.s1, e.c3 ...
        parties = self.__dict__.get("p", {})
        if name in parties:
            return parties[name]
        raise AttributeError(name)

    def tree(self, amounts: dict[str, int]) -> PayoutTree:
        """A tree over parties (by name) or raw addresses."""
        return PayoutTree.build({self.p[k].address if k in self.p else k: v for k, v in amounts.items()})

    def _stub(self, fn: Any) -> None:
        w3, f = self.chain.w3, self.chain.funder
        tx = fn.build_transaction({"from": f.address, "nonce": w3.eth.get_transaction_count(f.address, "pending"),
                                   "gas": 200_000, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id})
        r = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(f.sign_transaction(tx).raw_transaction))
        assert r["status"] == 1

    def reward(self, station: EdgeParty | str, amount: int, key: bytes = KEY, final: bool = True,
               is_station: bool = True) -> None:
        """Sets the stub core's record of `station` in round `key`: its final reward."""
        addr = station if isinstance(station, str) else station.address
        self._stub(self.core.functions.setReward(int.from_bytes(key, "big"), addr, is_station, final, int(amount)))

    def windows(self, key: bytes, commit_end: int, reveal_end: int) -> None:
        """Sets the stub core round's commit and reveal deadlines (inclusive, as HCFLCore's)."""
        self._stub(self.core.functions.setWindows(int.from_bytes(key, "big"), int(commit_end), int(reveal_end)))

    def post(self, station: EdgeParty, amounts: dict[str, int], key: bytes = KEY, window: int = WINDOW) -> PayoutTree:
        tree = self.tree(amounts)
        station.announce_rule(key, RULE)
        self.reward(station, tree.total, key)
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

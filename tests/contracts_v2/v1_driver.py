"""A small round driver for the legacy contract v1 (HCFLCrowdfund, contracts/test/legacy/), test helper of the
`test_v1_<defect>_reproduced` attack reproductions only: joins, proposals, commits/reveals, phase advances,
votes, and event decoding."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from eth_utils import keccak
from v1_client import HCFLClient, Participant  # tests/contracts_v2 is on sys.path (conftest)
from v1_types import Role, RoundConfig

from hcfl.chain.client import _REVERTS, TxFailed, _revert_data
from hcfl.protocol import claims_commitment, vote_commitment

D = 10_000  # default phase duration (s): long enough that wall-clock drift never matters
CFG = RoundConfig(join_duration=D, propose_duration=D, commit_duration=D, reveal_duration=D, train_duration=D,
                  vote_commit_duration=D, vote_reveal_duration=D)
GAS = 8_000_000
SPEC = b"\x11" * 32


def cfg(**kw: Any) -> RoundConfig:
    return CFG.model_copy(update=kw)


def salt_of(label: str) -> bytes:
    return keccak(text=f"salt/{label}")


# ----------------------------------------------------------------------------- events
def decode_events(client: HCFLClient, receipt: Any) -> list[tuple[str, dict[str, Any]]]:
    """All HCFLCrowdfund events of one receipt, in log order, as (name, args)."""
    out = []
    for entry in receipt["logs"]:
        if entry["address"] != client.address:
            continue
        name = client._topics.get("0x" + bytes(entry["topics"][0]).hex())
        if name is None:
            continue
        ev = getattr(client.contract.events, name)().process_log(entry)
        out.append((name, dict(ev["args"])))
    return out


def events_named(client: HCFLClient, receipt: Any, name: str) -> list[dict[str, Any]]:
    return [a for n, a in decode_events(client, receipt) if n == name]


def one_event(client: HCFLClient, receipt: Any, name: str) -> dict[str, Any]:
    evs = events_named(client, receipt, name)
    assert len(evs) == 1, f"expected one {name}, got {evs}"
    return evs[0]


# ----------------------------------------------------------------------------- oracle


@dataclass
class Driver:
    chain: Any
    client: HCFLClient
    acct: dict[str, Participant]
    salts: dict[tuple[int, str], bytes] = field(default_factory=dict)
    claims: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    vsalts: dict[tuple[int, str], tuple[bool, bytes]] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Participant:  # d.o1, d.s2, d.x ...
        acct = self.__dict__.get("acct", {})
        if name in acct:
            return acct[name]
        raise AttributeError(name)

    def reset_nonces(self) -> None:
        self.client.nonces._next.clear()  # the local nonce cache would be ahead of a reverted chain

    # -- transport
    def send(self, p: Participant, fn: str, *args: Any, value: int = 0) -> Any:
        """Send with a fixed gas limit (skips estimation: ~2x faster); on failure re-raise the decoded error."""
        try:
            return p.transact(fn, *args, value=value, gas=GAS)
        except TxFailed:
            try:
                getattr(self.client.contract.functions, fn)(*args).estimate_gas({"from": p.address, "value": value})
            except _REVERTS as exc:
                raise self.client.errors.decode(_revert_data(exc)) from exc
            raise

    def now(self) -> int:
        return self.chain.now()

    def set_time(self, ts: int) -> None:
        """Make the latest block's timestamp exactly `ts` (the next transaction is mined at ts + 1)."""
        assert ts > self.now(), (ts, self.now())
        self.chain.increase_time(ts - self.now())

    def past_deadline(self, rid: int) -> None:
        self.chain.wait_until(self.client.round(rid).phase_end)

    # -- round steps
    def new_round(self, creator: Participant | None = None, **kw: Any) -> int:
        p = creator or self.acct["o1"]
        receipt = self.send(p, "createRound", cfg(**kw).as_tuple())
        return int(one_event(self.client, receipt, "RoundCreated")["roundId"])

    def join(self, rid: int, p: Participant, role: Role, deposit: int, cap: int = 1) -> Any:
        return self.send(p, "join", rid, int(role), cap, value=deposit)

    def next_phase(self, rid: int, who: Participant | None = None) -> Any:
        self.past_deadline(rid)
        return self.send(who or self.acct["x"], "advance", rid)

    def propose(self, rid: int, p: Participant, bond: int = 100, t: int = 2, price: int = 0, acc: int = 8000,
                mask: int = 1, spec: bytes = SPEC, uri: str = "ipfs://m", arch: int = 7) -> int:
        receipt = self.send(p, "propose", rid, spec, uri, arch, acc, t, mask, price, value=bond)
        return int(one_event(self.client, receipt, "Proposed")["proposalId"])

    def commit(self, rid: int, p: Participant, claims: Sequence[int], salt: bytes | None = None) -> Any:
        salt = salt or salt_of(f"{rid}/{p.address}")
        self.salts[(rid, p.address)] = salt
        self.claims[(rid, p.address)] = list(claims)
        return self.send(p, "commit", rid, claims_commitment(rid, p.address, claims, salt))

    def reveal(self, rid: int, p: Participant) -> Any:
        return self.send(p, "reveal", rid, self.claims[(rid, p.address)], self.salts[(rid, p.address)])

    def commit_vote(self, rid: int, p: Participant, punish: bool) -> Any:
        salt = salt_of(f"vote/{rid}/{p.address}")
        self.vsalts[(rid, p.address)] = (punish, salt)
        return self.send(p, "commitVote", rid, vote_commitment(rid, p.address, punish, salt))

    def reveal_vote(self, rid: int, p: Participant) -> Any:
        punish, salt = self.vsalts[(rid, p.address)]
        return self.send(p, "revealVote", rid, punish, salt)

    def run_to_reveal_end(self, rid: int, owners: Sequence[tuple], stations: Sequence[tuple],
                          proposals: Sequence[dict], claims: dict[str, list[int]], reveal: Sequence[str] | None = None) -> None:
        """Joins (owners/stations: (name, deposit[, cap])), proposals (dicts with 'by' and propose kwargs),
        commits `claims` (by name), reveals `reveal` (default: all committed); leaves the round in Revealing."""
        for spec in owners:
            self.join(rid, self.acct[spec[0]], Role.OWNER, spec[1], spec[2] if len(spec) > 2 else 1)
        for spec in stations:
            self.join(rid, self.acct[spec[0]], Role.STATION, spec[1], spec[2] if len(spec) > 2 else 1)
        self.next_phase(rid)
        for pr in proposals:
            pr = dict(pr)
            self.propose(rid, self.acct[pr.pop("by")], **pr)
        if not proposals:
            return
        self.next_phase(rid)
        for name, cl in claims.items():
            self.commit(rid, self.acct[name], cl)
        self.next_phase(rid)
        for name in (claims if reveal is None else reveal):
            self.reveal(rid, self.acct[name])

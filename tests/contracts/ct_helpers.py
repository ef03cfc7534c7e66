"""Shared helpers for the HCFLCrowdfund contract tests: a round driver, an independent settlement oracle
(written from docs/mechanism.md, not from the contract or hcfl.mechanism), event decoding and revert checks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pytest
from eth_utils import keccak

from hcfl.chain.client import ContractRevert, HCFLClient, Participant, TxFailed, _revert_data, _REVERTS
from hcfl.protocol import claims_commitment, salt_seed, vote_commitment
from hcfl.chain.types import Phase, PaymentRule, Role, RoundConfig, ShareRule

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
def split(total: int, weights: Sequence[int]) -> list[int]:
    n = len(weights)
    if n == 0:
        return []
    w = list(weights) if sum(weights) > 0 else [1] * n
    tot_w = sum(w)
    sh = [total * wi // tot_w for wi in w]
    r = total - sum(sh)
    for i in range(n):
        if r == 0:
            break
        if w[i] > 0:
            sh[i] += 1
            r -= 1
    return sh


@dataclass
class P:
    """One participant of the oracle (join order within its side)."""

    addr: str
    role: Role
    deposit: int
    capability: int = 1
    claims: list[int] | None = None  # raw claims committed (None = never committed)
    revealed: bool = False
    salt: bytes = b""


@dataclass
class Expected:
    selected_some: bool
    selected: int
    unfunded: bool
    surplus: list[int]
    capped: dict[str, list[int]]
    taxes: dict[str, int]
    pays: dict[str, int]
    penalties: dict[str, int]
    credits: dict[str, int]  # credits added at settlement (deposit returns + bond returns)
    payment: int
    seed: int
    discount: int
    bonus: int
    escrow: int
    owner_pool: int
    station_pool: int
    cmax: int | None = None
    sum_k: int | None = None


def settle_oracle(parts: list[P], proposals: list[tuple[str, int, int]], c: RoundConfig, owner_pool: int,
                  station_pool: int) -> Expected:
    """proposals: (proposer, bond, postedPrice). Implements docs/mechanism.md literally."""
    k = len(proposals)
    posted = c.payment_rule == PaymentRule.POSTED
    max_price = max((p[2] for p in proposals), default=0)
    credits: dict[str, int] = {}
    penalties: dict[str, int] = {}

    def add(a: str, v: int) -> None:
        if v:
            credits[a] = credits.get(a, 0) + v

    own_pen = st_pen = 0
    owners = [p for p in parts if p.role == Role.OWNER]
    stations = [p for p in parts if p.role == Role.STATION]
    for p in owners + stations:
        if p.revealed:
            continue
        if p.claims is not None:
            pen = p.deposit * c.non_reveal_penalty_bps // 10_000
            penalties[p.addr] = pen
            if p.role == Role.OWNER:
                own_pen += pen
            else:
                st_pen += pen
            add(p.addr, p.deposit - pen)
        else:
            add(p.addr, p.deposit)
    ro = [p for p in owners if p.revealed]
    rs = [p for p in stations if p.revealed]
    who = ro + rs
    capped = {}
    for p in who:
        lim = p.deposit - max_price - 1 if posted else p.deposit
        capped[p.addr] = [min(x, lim) for x in p.claims]
    ow = [p.capability for p in ro] if c.owner_share_rule == ShareRule.CAPABILITY else [1] * len(ro)
    sw = [p.capability for p in rs] if c.station_share_rule == ShareRule.CAPABILITY else [1] * len(rs)
    x: dict[str, list[int]] = {}
    oshare = [split(pr[2], ow) for pr in proposals]
    sshare = [split(pr[2], sw) for pr in proposals]
    for i, p in enumerate(ro):
        x[p.addr] = [capped[p.addr][m] - (oshare[m][i] if posted else 0) for m in range(k)]
    for j, p in enumerate(rs):
        x[p.addr] = [(sshare[m][j] if posted else 0) - capped[p.addr][m] for m in range(k)]
    s = [sum(x[p.addr][m] for p in who) for m in range(k)]
    # first maximal over (0..K-1, none) with S(none) = 0
    some, star = False, 0
    if k:
        best = max(s)
        if best >= 0:
            some, star = True, s.index(best)
    unfunded = k > 0 and (not ro or not rs)  # nobody to pay or nobody to be paid
    taxes = {p.addr: 0 for p in who}
    if k and not unfunded:
        for p in who:
            without = [s[m] - x[p.addr][m] for m in range(k)]
            b = max([0] + without)
            taxes[p.addr] = b - (without[star] if some else 0)
            assert taxes[p.addr] >= 0
    seed = salt_seed([p.salt for p in who])
    payment = 0
    cmax = sum_k = None
    if some and not unfunded:
        if posted:
            payment = proposals[star][2]
        else:
            sum_b = sum(capped[p.addr][star] for p in ro)
            sum_k = sum(capped[p.addr][star] for p in rs)
            wsum = sum(ow) if sum(ow) else len(ow)
            wts = ow if sum(ow) else [1] * len(ow)
            afford = None
            for p, wi in zip(ro, wts):
                if wi == 0:
                    continue
                a = p.deposit - taxes[p.addr]
                ai = 0 if a == 0 else (a - 1) * wsum // wi
                afford = ai if afford is None else min(afford, ai)
            cmax = sum_b if afford is None else min(sum_b, afford + owner_pool)
            if cmax < sum_k:
                unfunded = True
                taxes = {a: 0 for a in taxes}
            else:
                payment = sum_k + seed % (cmax - sum_k + 1)
    selected = some and not unfunded
    pays = {p.addr: 0 for p in ro}
    discount = bonus = escrow = 0
    if selected:
        discount = min(owner_pool, payment)
        for p, v in zip(ro, split(payment - discount, ow)):
            pays[p.addr] = v
        bonus = station_pool
        escrow = payment + bonus
        owner_pool -= discount
        station_pool = 0
    else:
        payment = 0
    for p in who:
        add(p.addr, p.deposit - taxes[p.addr] - pays.get(p.addr, 0))
    owner_pool += sum(taxes[p.addr] for p in ro) + own_pen
    station_pool += sum(taxes[p.addr] for p in rs) + st_pen
    for m, (proposer, bond, _) in enumerate(proposals):
        if not (selected and m == star):
            add(proposer, bond)
    return Expected(selected_some=selected, selected=star if selected else 0, unfunded=unfunded, surplus=s,
                    capped=capped, taxes=taxes, pays=pays, penalties=penalties, credits=credits, payment=payment,
                    seed=seed, discount=discount, bonus=bonus, escrow=escrow, owner_pool=owner_pool,
                    station_pool=station_pool, cmax=cmax, sum_k=sum_k)


def finish_oracle(escrow: int, stations: list[tuple[str, int, int]], rule: ShareRule, scores: list[int] | None,
                  t: int) -> tuple[dict[str, int], dict[str, int], int]:
    """stations: (addr, capability, reportedRounds) of revealed stations. Returns (shares, rewards, forfeited)."""
    if rule == ShareRule.CAPABILITY:
        w = [s[1] for s in stations]
    elif rule == ShareRule.CONTRIBUTION and scores is not None:
        w = list(scores)
    else:
        w = [1] * len(stations)
    sh = split(escrow, w)
    shares = {s[0]: v for s, v in zip(stations, sh)}
    rewards = {s[0]: v * s[2] // t for s, v in zip(stations, sh)}
    return shares, rewards, escrow - sum(rewards.values())


# ----------------------------------------------------------------------------- driver
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

    # -- state copy for per-test isolation of the Python side
    def save(self) -> tuple:
        return dict(self.salts), dict(self.claims), dict(self.vsalts)

    def restore(self, saved: tuple) -> None:
        self.salts, self.claims, self.vsalts = (dict(x) for x in saved)

    def reset_nonces(self) -> None:
        self.client.nonces._next.clear()  # the local nonce cache would be ahead of a reverted chain

    def build(self, builder: Callable[["Driver"], Any]) -> tuple[Any, Any, tuple]:
        """Run `builder(self)`, remember the resulting chain state, and put the chain back as it was.
        Module-scoped scenario fixtures use this so that one scenario's clock jumps never age another's."""
        base, saved = self.chain.snapshot(), self.save()
        result = builder(self)
        state = (result, self.chain.snapshot(), self.save())
        self.chain.revert(base)
        self.reset_nonces()
        self.restore(saved)
        return state

    def goto(self, state: tuple[Any, Any, tuple]) -> Any:
        """Jump to a state made by `build` (within a test; the autouse fixture reverts afterwards)."""
        result, snap, saved = state
        self.chain.revert(snap)
        self.reset_nonces()
        self.restore(saved)
        return result

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

    def oracle_parts(self, rid: int) -> list[P]:
        owners, stations = self.client.members(rid)
        out = []
        for a in owners + stations:
            v = self.client.participant(rid, a)
            out.append(P(addr=a, role=v.role, deposit=v.deposit, capability=v.capability,
                         claims=self.claims.get((rid, a)) if v.committed else None, revealed=v.revealed,
                         salt=self.salts.get((rid, a), b"")))
        return out

    def expected(self, rid: int) -> Expected:
        """Oracle outcome for the round as it stands (call before settling)."""
        acc = self.client.accounting()
        props = [(p.proposer, p.bond, p.posted_price) for p in self.client.proposals(rid)]
        return settle_oracle(self.oracle_parts(rid), props, self.client.round(rid).cfg, acc.owner_pool, acc.station_pool)

    def settle_and_check(self, rid: int, via: str = "settle") -> tuple[Expected, Any]:
        """Settle (after the deadline) and assert every number against the oracle; returns (expected, receipt)."""
        exp = self.expected(rid)
        addrs = {p.addr for p in self.oracle_parts(rid)} | {p.proposer for p in self.client.proposals(rid)}
        before = {a: self.client.credit_of(a) for a in addrs}
        acc0 = self.client.accounting()
        self.past_deadline(rid)
        receipt = self.send(self.acct["x"], via, rid)
        check_settlement(self, rid, receipt, exp, before, acc0)
        return exp, receipt


def check_settlement(d: Driver, rid: int, receipt: Any, exp: Expected, credits_before: dict[str, int], acc0: Any) -> None:
    c = d.client
    rv = c.round(rid)
    ev = one_event(c, receipt, "RoundSettled")
    assert ev["selectedSome"] == exp.selected_some
    assert ev["selected"] == exp.selected
    assert ev["unfunded"] == exp.unfunded
    assert ev["totalPayment"] == exp.payment
    assert ev["seed"] == exp.seed
    assert list(ev["surplus"]) == exp.surplus
    assert rv.selected_some == exp.selected_some and rv.unfunded == exp.unfunded
    assert rv.selected == exp.selected and rv.total_payment == exp.payment and rv.seed == exp.seed
    assert rv.escrow == exp.escrow
    assert rv.phase == (Phase.TRAINING if exp.selected_some else Phase.FINISHED)
    assert rv.settled
    assert c.outcome(rid)[0] == exp.surplus
    pools = one_event(c, receipt, "PoolsUpdated")
    assert (pools["ownerPool"], pools["stationPool"], pools["ownerDiscount"], pools["stationBonus"]) == (
        exp.owner_pool, exp.station_pool, exp.discount, exp.bonus)
    settled = {e["account"]: e for e in events_named(c, receipt, "ParticipantSettled")}
    assert set(settled) == set(exp.taxes)
    for a, tax in exp.taxes.items():
        assert settled[a]["tax"] == tax, a
        assert settled[a]["payment"] == exp.pays.get(a, 0), a
    pens = {e["account"]: e["penalty"] for e in events_named(c, receipt, "NonRevealPenalized")}
    assert pens == exp.penalties
    credited: dict[str, int] = {}
    for e in events_named(c, receipt, "Credited"):
        credited[e["account"]] = credited.get(e["account"], 0) + e["amount"]
    assert credited == exp.credits
    for a, before in credits_before.items():
        assert c.credit_of(a) == before + exp.credits.get(a, 0), a
    acc = c.accounting()
    assert acc.owner_pool == exp.owner_pool and acc.station_pool == exp.station_pool
    assert acc.escrow == acc0.escrow + exp.escrow
    assert acc.credits == acc0.credits + sum(exp.credits.values())
    assert_solvent(d)


def assert_solvent(d: Driver) -> None:
    assert d.client.accounting().total == d.client.balance()


# ----------------------------------------------------------------------------- reverts
def world(d: Driver, rids: Sequence[int] = ()) -> dict:
    """Everything observable that a reverted call must leave unchanged."""
    c = d.client
    out: dict[str, Any] = {"acc": c.accounting(), "bal": c.balance(), "n": c.round_count(),
                           "credits": {n: c.credit_of(p.address) for n, p in d.acct.items()}}
    for rid in rids:
        out[f"round{rid}"] = c.round(rid)
        out[f"props{rid}"] = c.proposals(rid)
        out[f"outcome{rid}"] = c.outcome(rid)
        owners, stations = c.members(rid)
        out[f"members{rid}"] = (owners, stations)
        for a in owners + stations + [d.acct["x"].address]:
            out[f"p{rid}/{a}"] = c.participant(rid, a)
        for a in owners:
            out[f"v{rid}/{a}"] = c.call("getVote", rid, a)
    return out


def assert_reverts(d: Driver, fn: Callable[[], Any], error: str, args: tuple | None = None,
                   rids: Sequence[int] = ()) -> ContractRevert:
    before = world(d, rids)
    with pytest.raises(ContractRevert) as exc:
        fn()
    assert exc.value.error == error, (exc.value.error, exc.value.error_args)
    if args is not None:
        assert tuple(exc.value.error_args) == tuple(args), (exc.value.error_args, args)
    assert world(d, rids) == before
    assert_solvent(d)
    return exc.value


def view_revert(d: Driver, fn: str, *args: Any) -> ContractRevert:
    """The decoded custom error of a reverting view. (HCFLClient.call cannot decode view reverts on the
    embedded chain, see test_client_call_decodes_view_revert; estimate_gas carries the raw revert bytes.)"""
    with pytest.raises(_REVERTS) as exc:
        getattr(d.client.contract.functions, fn)(*args).estimate_gas({"from": d.acct["x"].address})
    return d.client.errors.decode(_revert_data(exc.value))


def scenario(name: str, builder: Callable[[Driver], Any]) -> tuple[Any, Any]:
    """Two fixtures for a round driven to some state: `<name>_state` (module scope: built once from the
    module's base state, see Driver.build) and `<name>` (jumps there at the start of a test and returns what
    `builder(d)` returned, e.g. a round id). Use: `foo_state, foo = scenario("foo", build_foo)`."""

    @pytest.fixture(scope="module", name=f"{name}_state")
    def _state(d: Driver) -> Any:
        return d.build(builder)

    @pytest.fixture(name=name)
    def _at(d: Driver, request: Any, isolate: Any) -> Any:
        return d.goto(request.getfixturevalue(f"{name}_state"))

    return _state, _at

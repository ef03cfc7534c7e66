"""`hcfl bench gas`: gas per contract action, and settlement gas as N participants and K proposals grow.

Every number is a receipt's `gasUsed` on a real chain (anvil by default; `--chain embedded|anvil|URL`).

1. **Per action**: one small round (2 owners, 2 stations, K = 1) walked through its whole life (join,
   propose, commit, reveal, every phase advance, settle, training reports, finalize, vote, withdraw),
   plus rounds for reveal/settle at K = 10, a round whose trainer never finalizes (the `Training ->
   Finished` advance), one settled by `advance`, and one with no proposal.
2. **Settlement grid**: N participants (ceil(N/2) owners, floor(N/2) stations) x K proposals, seeded
   random claims with owner values (50-100 Gwei) above station costs (0-40 Gwei), so a model is selected
   and settlement takes its most expensive path (taxes, payment split, escrow, bond returns). `settle`
   is sent with an explicit gas limit of one block (30,000,000); a settlement that runs out of gas is
   recorded as "> block".
3. **Largest N at K = 10** that settles within one block, searched up to the contract's cap of 200.

On dev chains every settlement round runs from the same snapshot (taken after deployment and funding)
and is reverted afterwards, so each measurement starts from identical state: fresh participant records,
zero credits (as for accounts that have withdrawn), and the same round id.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from tqdm import tqdm

from hcfl.chain import toolchain
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.client import ContractRevert, HCFLClient, Participant, TxFailed
from hcfl.protocol import claims_commitment, vote_commitment
from hcfl.chain.provider import BLOCK_GAS_LIMIT, Chain, connect
from hcfl.chain.types import PAYMENT_RULE_NAMES, PaymentRule, Phase, ProposalSpec, Role, RoundConfig

log = logging.getLogger(__name__)

COMMAND = "hcfl bench gas"
GWEI = 10**9
DEPOSIT = 10**18  # 1 ETH per participant: far above any claim, so nothing is capped and all can pay
BOND = 10**15
FUND = 10 * 10**18  # per key: deposit + bonds + gas for a 30M-gas settle at dev gas prices
MAX_PARTICIPANTS = 200  # HCFLCrowdfund.MAX_PARTICIPANTS
MAX_PROPOSALS = 20  # HCFLCrowdfund.MAX_PROPOSALS
FULL_NS: tuple[int, ...] = (10, 25, 50, 100, 150, 200)
FULL_KS: tuple[int, ...] = (1, 5, 10, 20)
QUICK_NS: tuple[int, ...] = (10, 50, 100)
QUICK_KS: tuple[int, ...] = (1, 10)
SEARCH_K = 10
DEV_PHASE_SECONDS = 1_000_000  # dev chains fast-forward, so deadlines never cut a batch of sends short
ACTION_ROWS: tuple[str, ...] = (
    "createRound",
    "join (owner)",
    "join (station)",
    "propose",
    "commit",
    "reveal (K=1)",
    "reveal (K=10)",
    "settle (N=4, K=1)",
    "settle (N=4, K=10)",
    "reportTraining",
    "finalizeTraining",
    "commitVote",
    "revealVote",
    "advance Joining -> Proposing",
    "advance Proposing -> Committing",
    "advance Proposing -> Finished (no proposal)",
    "advance Committing -> Revealing",
    "advance Revealing -> Training (settles, N=4, K=1)",
    "advance Training -> Finished (winner failed)",
    "advance VoteCommitting -> VoteRevealing",
    "advance VoteRevealing -> Finished (tally)",
    "withdraw",
)


# ---------------------------------------------------------------------------------------------- results
@dataclass
class ActionGas:
    """gasUsed of every call of one action during the per-action rounds."""

    action: str
    samples: list[int] = field(default_factory=list)

    @property
    def median(self) -> int:
        return int(statistics.median(self.samples))

    @property
    def low(self) -> int:
        return min(self.samples)

    @property
    def high(self) -> int:
        return max(self.samples)


@dataclass
class SettleGas:
    """Settlement gas of one round; `gas` is None when it did not fit in one block."""

    n: int
    k: int
    owners: int
    stations: int
    gas: int | None
    selected: int | None = None

    @property
    def fits(self) -> bool:
        return self.gas is not None


@dataclass
class GasBench:
    chain: str
    block_gas_limit: int
    actions: list[ActionGas]
    settlement: list[SettleGas]
    search_k: int | None = None
    largest_n: int | None = None  # largest N settling in one block at search_k (capped at 200)
    search_probes: list[SettleGas] = field(default_factory=list)
    worst_case: SettleGas | None = None  # N = 200, K = 20: the largest round the contract accepts
    payment_rule: str = "paper-random"
    seconds: float = 0.0

    def action(self, name: str) -> ActionGas:
        for a in self.actions:
            if a.action == name:
                return a
        raise KeyError(name)

    def settle_gas(self, n: int, k: int) -> int | None:
        for s in self.settlement + self.search_probes:
            if s.n == n and s.k == k:
                return s.gas
        raise KeyError((n, k))

    def to_json(self) -> dict[str, Any]:
        return {
            "command": COMMAND,
            "chain": self.chain,
            "block_gas_limit": self.block_gas_limit,
            "actions": [
                {"action": a.action, "median": a.median, "min": a.low, "max": a.high, "calls": len(a.samples),
                 "samples": a.samples}
                for a in self.actions
            ],
            "settlement": [asdict(s) for s in self.settlement],
            "search_k": self.search_k,
            "largest_n": self.largest_n,
            "largest_n_without_cap_extrapolated": extrapolated_n(self) if self.search_k is not None else None,
            "search_probes": [asdict(s) for s in self.search_probes],
            "worst_case": asdict(self.worst_case) if self.worst_case else None,
            "payment_rule": self.payment_rule,
            "seconds": round(self.seconds, 1),
        }


# ---------------------------------------------------------------------------------------------- driver
class _Bench:
    """A deployed contract, a pool of funded keys, and helpers to push rounds through quickly."""

    def __init__(
        self,
        chain: Chain,
        n_keys: int,
        phase_seconds: int,
        payment_rule: PaymentRule = PaymentRule.PAPER_RANDOM,
        namespace: str = "hcfl-bench-gas",
    ) -> None:
        self.chain = chain
        self.client = HCFLClient.deploy(chain)
        self.cfg = RoundConfig(
            payment_rule=payment_rule,
            join_duration=phase_seconds, propose_duration=phase_seconds, commit_duration=phase_seconds,
            reveal_duration=phase_seconds, train_duration=phase_seconds, vote_commit_duration=phase_seconds,
            vote_reveal_duration=phase_seconds,
        )
        labels = [f"p{i}" for i in range(n_keys)] + [f"action{i}" for i in range(4)] + [f"warmup{i}" for i in range(4)]
        keys: list[LocalAccount] = funded_accounts(chain, labels, FUND, namespace)
        everyone = [self.client.as_participant(k) for k in keys]
        # people[0] creates rounds and advances phases; people[1:] join the settlement rounds; the per-action
        # and warm-up rounds use keys of their own, so every settlement round starts with zero credits
        self.people: list[Participant] = everyone[:n_keys]
        self.action_keys: list[Participant] = everyone[n_keys: n_keys + 4]
        self.warmup_keys: list[Participant] = everyone[n_keys + 4:]
        self.driver = self.people[0]
        latest = chain.w3.eth.get_block("latest")
        self.block_gas_limit = min(BLOCK_GAS_LIMIT, int(latest["gasLimit"]))

    # -------------------------------------------------------------- transport
    def send_all(self, calls: Sequence[tuple[Participant, str, tuple[Any, ...], int, int]]) -> list[Any]:
        """Send (who, fn, args, value, gas) without waiting, then wait for every receipt (in order)."""
        w3 = self.chain.w3
        hashes = [who.transact(fn, *args, value=value, gas=gas, wait=False) for who, fn, args, value, gas in calls]
        receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=300) for h in hashes]
        for (who, fn, _args, _v, gas), rc in zip(calls, receipts):
            if rc["status"] != 1:
                raise TxFailed(f"{fn} from {who.address} failed (gas used {rc['gasUsed']} of {gas})")
        return receipts

    def next_phase(self, rid: int) -> Any:
        self.chain.wait_until(self.client.round(rid).phase_end)
        return self.driver.advance(rid)

    def forget_nonces(self) -> None:
        for p in (*self.people, *self.action_keys, *self.warmup_keys):
            self.client.nonces.forget(p.address)

    # -------------------------------------------------------------- a round up to the reveal deadline
    def round_to_reveal_end(
        self, owners: Sequence[Participant], stations: Sequence[Participant], k: int, rng: random.Random
    ) -> tuple[int, dict[str, list[Any]]]:
        """Create a round, join, propose K, commit and reveal seeded claims, and pass the reveal deadline.

        Returns the round id and the receipts per step (keys: join_owner, join_station, propose, commit,
        reveal, advance_join, advance_propose, advance_commit)."""
        out: dict[str, list[Any]] = {}
        rid = self.driver.create_round(self.cfg)
        out["createRound"] = [self.driver.last_receipt]
        joins = [(p, "join", (rid, int(Role.OWNER), 1), DEPOSIT, 300_000) for p in owners]
        joins += [(p, "join", (rid, int(Role.STATION), 1), DEPOSIT, 300_000) for p in stations]
        rcs = self.send_all(joins)
        out["join_owner"], out["join_station"] = rcs[: len(owners)], rcs[len(owners):]
        out["advance_join"] = [self.next_phase(rid)]
        props = []
        posted = self.cfg.payment_rule == PaymentRule.POSTED
        for m in range(k):
            price = rng.randint(20 * len(stations), 75 * len(owners)) * GWEI if posted else 0
            spec = ProposalSpec(spec_hash=rng.randbytes(32), promised_acc_bps=8000, global_rounds=2, label_mask=0b11,
                                posted_price=price)
            props.append((owners[m % len(owners)], "propose",
                          (rid, spec.spec_hash, spec.uri, spec.arch_id, spec.promised_acc_bps, spec.global_rounds,
                           spec.label_mask, spec.posted_price), BOND, 600_000))
        out["propose"] = self.send_all(props)
        out["advance_propose"] = [self.next_phase(rid)]
        claims: dict[str, list[int]] = {}
        for p in owners:
            claims[p.address] = [rng.randint(50, 100) * GWEI for _ in range(k)]
        for p in stations:
            claims[p.address] = [rng.randint(0, 40) * GWEI for _ in range(k)]
        salts = {p.address: rng.randbytes(32) for p in (*owners, *stations)}
        everyone = [*owners, *stations]
        commits = [(p, "commit", (rid, claims_commitment(rid, p.address, claims[p.address], salts[p.address])), 0,
                    200_000) for p in everyone]
        out["commit"] = self.send_all(commits)
        out["advance_commit"] = [self.next_phase(rid)]
        reveal_gas = 200_000 + 60_000 * k
        reveals = [(p, "reveal", (rid, claims[p.address], salts[p.address]), 0, reveal_gas) for p in everyone]
        out["reveal"] = self.send_all(reveals)
        self.chain.wait_until(self.client.round(rid).phase_end)
        return rid, out

    def settle_within_block(self, rid: int) -> Any | None:
        """`settle` with one block's gas; None when it does not fit (out of gas)."""
        try:
            return self.driver.transact("settle", rid, gas=self.block_gas_limit)
        except (TxFailed, ContractRevert) as exc:
            log.info("settle of round %d did not fit in %d gas: %s", rid, self.block_gas_limit, exc)
            self.client.nonces.forget(self.driver.address)
            return None
        except Exception as exc:  # noqa: BLE001 - eth-tester raises its own errors for out-of-gas
            if "gas" not in str(exc).lower():
                raise
            log.info("settle of round %d did not fit in %d gas: %s", rid, self.block_gas_limit, exc)
            self.client.nonces.forget(self.driver.address)
            return None

    # -------------------------------------------------------------- settlement measurement
    def measure_settle(self, n: int, k: int, seed: int) -> SettleGas:
        if not 2 <= n <= MAX_PARTICIPANTS:
            raise ValueError(f"N must be in 2..{MAX_PARTICIPANTS}, got {n}")
        if not 1 <= k <= MAX_PROPOSALS:
            raise ValueError(f"K must be in 1..{MAX_PROPOSALS}, got {k}")
        n_owners, n_stations = (n + 1) // 2, n // 2
        # the driver only creates rounds and advances/settles; participants are the next N keys
        pool = self.people[1: 1 + n]
        owners, stations = pool[:n_owners], pool[n_owners:]
        rng = random.Random(f"hcfl-bench-gas/{seed}/{n}/{k}")
        snap = self.chain.snapshot() if self.chain.is_dev else None
        try:
            rid, _ = self.round_to_reveal_end(owners, stations, k, rng)
            receipt = self.settle_within_block(rid)
            selected: int | None = None
            if receipt is not None:
                view = self.client.round(rid)
                selected = int(view.selected) if view.selected_some else None
                if view.phase != Phase.TRAINING:
                    log.warning("N=%d K=%d: settlement selected no model (phase %s)", n, k, view.phase.name)
            gas = int(receipt["gasUsed"]) if receipt is not None else None
        finally:
            if snap is not None:
                self.chain.revert(snap)
                self.forget_nonces()
        if snap is None and receipt is not None:
            self._withdraw_all(pool)
        return SettleGas(n=n, k=k, owners=n_owners, stations=n_stations, gas=gas, selected=selected)

    def _withdraw_all(self, people: Iterable[Participant]) -> None:
        """On a non-dev chain (no snapshots), empty the credits so the next measurement starts from zero."""
        calls = [(p, "withdraw", (), 0, 100_000) for p in people if self.client.credit_of(p.address) > 0]
        if calls:
            self.send_all(calls)

    # -------------------------------------------------------------- per-action rounds
    def _record_round(self, add: Callable[[str, list[Any]], None], rid: int, rc: dict[str, list[Any]], k: int) -> None:
        """Record the set-up actions of a 4-participant round with K proposals, then settle it."""
        add("createRound", rc["createRound"])
        add("join (owner)", rc["join_owner"])
        add("join (station)", rc["join_station"])
        add("propose", rc["propose"])
        add("commit", rc["commit"])
        add(f"reveal (K={k})", rc["reveal"])
        add("advance Joining -> Proposing", rc["advance_join"])
        add("advance Proposing -> Committing", rc["advance_propose"])
        add("advance Committing -> Revealing", rc["advance_commit"])
        settle_rc = self.settle_within_block(rid)
        if settle_rc is None:
            raise RuntimeError("a 4-participant settlement did not fit in one block")
        add(f"settle (N=4, K={k})", [settle_rc])

    def measure_actions(self, seed: int) -> list[ActionGas]:
        rng = random.Random(f"hcfl-bench-gas/{seed}/actions")
        acc: dict[str, list[int]] = {name: [] for name in ACTION_ROWS}

        def add(name: str, receipts: Iterable[Any]) -> None:
            acc[name].extend(int(r["gasUsed"]) for r in receipts)

        # warm-up: one settled round left in training, so the contract-wide totals and pools are non-zero
        # (the steady state of a contract in use) and no measurement below pays their first write
        w1, w2, w3, w4 = self.warmup_keys
        rid, _ = self.round_to_reveal_end([w1, w2], [w3, w4], 1, rng)
        if self.settle_within_block(rid) is None:
            raise RuntimeError("a 4-participant settlement did not fit in one block")

        o1, o2, s1, s2 = self.action_keys
        # (a) the full life of a small round, K = 1, with a vote
        rid, rc = self.round_to_reveal_end([o1, o2], [s1, s2], 1, rng)
        self._record_round(add, rid, rc, 1)
        view = self.client.round(rid)
        if view.phase != Phase.TRAINING:
            raise RuntimeError(f"the per-action round selected no model (phase {view.phase.name})")
        winner = o1  # the only proposal is o1's
        reports = [(s, "reportTraining", (rid, gr, rng.randbytes(32), 100, 7000), 0, 200_000)
                   for gr in range(2) for s in (s1, s2)]
        add("reportTraining", self.send_all(reports))
        add("finalizeTraining", [winner.finalize_training(rid, rng.randbytes(32), 9000, [1, 1])])
        vote_salt = rng.randbytes(32)
        add("commitVote", [o2.transact("commitVote", rid, vote_commitment(rid, o2.address, False, vote_salt))])
        add("advance VoteCommitting -> VoteRevealing", [self.next_phase(rid)])
        add("revealVote", [o2.reveal_vote(rid, False, vote_salt)])
        add("advance VoteRevealing -> Finished (tally)", [self.next_phase(rid)])
        add("withdraw", [p.withdraw() for p in (o1, o2, s1, s2)])

        # (b) K = 10: reveal and settle cost with ten claims each; the winner never finalizes
        rid, rc = self.round_to_reveal_end([o1, o2], [s1, s2], 10, rng)
        self._record_round(add, rid, rc, 10)
        if self.client.round(rid).phase == Phase.TRAINING:
            add("advance Training -> Finished (winner failed)", [self.next_phase(rid)])
        add("withdraw", [p.withdraw() for p in (o1, o2, s1, s2) if self.client.credit_of(p.address) > 0])

        # (c) settled by `advance` once the reveal deadline passes
        rid, rc = self.round_to_reveal_end([o1, o2], [s1, s2], 1, rng)
        add("createRound", rc["createRound"])
        add("advance Joining -> Proposing", rc["advance_join"])
        add("advance Proposing -> Committing", rc["advance_propose"])
        add("advance Committing -> Revealing", rc["advance_commit"])
        add("advance Revealing -> Training (settles, N=4, K=1)", [self.driver.advance(rid)])
        add("withdraw", [p.withdraw() for p in (o1, o2, s1, s2) if self.client.credit_of(p.address) > 0])

        # (d) nobody proposes: the round finishes at the end of the proposing phase
        rid = self.driver.create_round(self.cfg)
        add("createRound", [self.driver.last_receipt])
        self.send_all([(p, "join", (rid, int(r), 1), DEPOSIT, 300_000)
                       for p, r in ((o1, Role.OWNER), (o2, Role.OWNER), (s1, Role.STATION), (s2, Role.STATION))])
        self.next_phase(rid)
        add("advance Proposing -> Finished (no proposal)", [self.next_phase(rid)])
        return [ActionGas(name, samples) for name, samples in acc.items() if samples]


# ---------------------------------------------------------------------------------------------- search
def _largest_n(
    measure: Callable[[int], SettleGas], known: dict[int, SettleGas], cap: int = MAX_PARTICIPANTS
) -> tuple[int | None, list[SettleGas]]:
    """Largest N <= cap whose settlement fits in one block, given `known` measurements at one K.

    Probes the cap first when every known N fits; otherwise bisects between the largest fitting and the
    smallest failing N, starting each step from a linear interpolation of gas in N (gas grows ~linearly)."""
    probes: list[SettleGas] = []
    results = dict(known)

    def probe(n: int) -> SettleGas:
        if n not in results:
            results[n] = measure(n)
            probes.append(results[n])
        return results[n]

    fitting = [n for n, s in results.items() if s.fits]
    failing = [n for n, s in results.items() if not s.fits]
    lo = max(fitting) if fitting else None
    hi = min(failing) if failing else None
    if hi is None:
        if lo == cap or probe(cap).fits:
            return cap, probes
        hi = cap
    if lo is None:
        lo_n = 2
        if not probe(lo_n).fits:
            return None, probes
        lo = lo_n
    while hi - lo > 1:
        lo_gas = results[lo].gas
        guess = (lo + hi) // 2
        # secant guess from the two largest fitting points, clamped to the middle half of (lo, hi) so that
        # every probe shrinks the interval by at least a quarter
        pts = sorted((n, s.gas) for n, s in results.items() if s.fits and s.gas is not None)
        if len(pts) >= 2 and lo_gas is not None:
            (n1, g1), (n2, g2) = pts[-2], pts[-1]
            if n2 > n1 and g2 > g1:
                slope = (g2 - g1) / (n2 - n1)
                est = lo + int((BLOCK_GAS_LIMIT - lo_gas) / slope)
                quarter = (hi - lo) // 4
                guess = max(lo + max(1, quarter), min(hi - max(1, quarter), est))
        if probe(guess).fits:
            lo = guess
        else:
            hi = guess
    return lo, probes


# ---------------------------------------------------------------------------------------------- public API
def _ensure_anvil_on_path() -> None:
    node_bin = str(toolchain.node_modules() / ".bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def run_bench(
    chain: str = "anvil",
    ns: Sequence[int] = FULL_NS,
    ks: Sequence[int] = FULL_KS,
    *,
    seed: int = 0,
    search_k: int | None = SEARCH_K,
    worst_case: bool | None = None,
    payment_rule: str = "paper-random",
    actions: bool = True,
    phase_seconds: int | None = None,
    progress: bool = True,
) -> GasBench:
    """Run the gas benchmark on `chain` (embedded, anvil or an RPC URL) and return the measurements.

    `search_k`: the K at which to search the largest N that settles in one block (None: no search).
    `worst_case`: also settle the largest round the contract accepts (N = 200, K = 20); default: when
    searching. `payment_rule`: paper-random (default) or posted."""
    t0 = time.monotonic()
    ns, ks = sorted(set(ns)), sorted(set(ks))
    for n in ns:
        if not 2 <= n <= MAX_PARTICIPANTS:
            raise ValueError(f"N must be in 2..{MAX_PARTICIPANTS}, got {n}")
    for k in ks:
        if not 1 <= k <= MAX_PROPOSALS:
            raise ValueError(f"K must be in 1..{MAX_PROPOSALS}, got {k}")
    if chain == "anvil":
        _ensure_anvil_on_path()
    ch = connect(chain)
    try:
        if phase_seconds is None:
            phase_seconds = DEV_PHASE_SECONDS if ch.is_dev else 120
        if payment_rule not in PAYMENT_RULE_NAMES:
            raise ValueError(f"unknown payment rule {payment_rule!r}: use {', '.join(PAYMENT_RULE_NAMES)}")
        big = search_k is not None or bool(worst_case)
        n_keys = 1 + max([*ns, 4, MAX_PARTICIPANTS if big else 0])
        log.info("deploying and funding %d keys on %s", n_keys, chain)
        bench = _Bench(ch, n_keys, phase_seconds, PAYMENT_RULE_NAMES[payment_rule])
        action_rows: list[ActionGas] = []
        if actions:
            log.info("per-action rounds")
            action_rows = bench.measure_actions(seed)
        cells = [(n, k) for k in ks for n in ns]
        settlement: list[SettleGas] = []
        for n, k in tqdm(cells, desc="settlement N x K", unit="round", disable=not progress, file=sys.stderr):
            res = bench.measure_settle(n, k, seed)
            log.debug("N=%d K=%d settle gas %s", n, k, res.gas)
            settlement.append(res)
        result = GasBench(chain=chain, block_gas_limit=bench.block_gas_limit, actions=action_rows,
                          settlement=settlement, payment_rule=payment_rule)
        if search_k is not None:
            known = {s.n: s for s in settlement if s.k == search_k}
            bar = tqdm(desc=f"largest N at K={search_k}", unit="probe", disable=not progress, file=sys.stderr)

            def measure(n: int) -> SettleGas:
                bar.update(1)
                return bench.measure_settle(n, search_k, seed)

            try:
                largest, probes = _largest_n(measure, known)
            finally:
                bar.close()
            result.search_k, result.largest_n, result.search_probes = search_k, largest, probes
        if worst_case if worst_case is not None else search_k is not None:
            log.info("worst case: N=%d, K=%d", MAX_PARTICIPANTS, MAX_PROPOSALS)
            result.worst_case = bench.measure_settle(MAX_PARTICIPANTS, MAX_PROPOSALS, seed)
        result.seconds = time.monotonic() - t0
        return result
    finally:
        ch.close()


# ---------------------------------------------------------------------------------------------- output
def _fmt_gas(g: int | None) -> str:
    return f"{g:,}" if g is not None else "> block"


def action_table(res: GasBench) -> str:
    lines = ["| action | gasUsed (median) | min | max | calls |", "|---|---:|---:|---:|---:|"]
    for a in res.actions:
        lines.append(f"| {a.action} | {a.median:,} | {a.low:,} | {a.high:,} | {len(a.samples)} |")
    return "\n".join(lines)


def settlement_table(res: GasBench) -> str:
    ns = sorted({s.n for s in res.settlement})
    ks = sorted({s.k for s in res.settlement})
    gas = {(s.n, s.k): s.gas for s in res.settlement}
    head = "| N (owners + stations) | " + " | ".join(f"K={k}" for k in ks) + " |"
    lines = [head, "|---|" + "---:|" * len(ks)]
    for n in ns:
        cells = [_fmt_gas(gas[(n, k)]) if (n, k) in gas else "" for k in ks]
        lines.append(f"| {n} ({(n + 1) // 2} + {n // 2}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def probes_table(res: GasBench) -> str:
    rows = sorted({s.n: s for s in res.settlement + res.search_probes if s.k == res.search_k}.values(),
                  key=lambda s: s.n)
    lines = [f"| N at K={res.search_k} | settle gasUsed | % of block |", "|---:|---:|---:|"]
    for s in rows:
        pct = f"{100 * s.gas / res.block_gas_limit:.1f}%" if s.gas is not None else "> 100%"
        lines.append(f"| {s.n} | {_fmt_gas(s.gas)} | {pct} |")
    return "\n".join(lines)


def extrapolated_n(res: GasBench) -> int | None:
    """N at which settlement at search_k would reach the block limit, extrapolating linearly from the two
    largest fitting measurements (for context when the contract's cap is the binding limit)."""
    pts = sorted((s.n, s.gas) for s in res.settlement + res.search_probes
                 if s.k == res.search_k and s.gas is not None)
    if len(pts) < 2:
        return None
    (n1, g1), (n2, g2) = pts[-2], pts[-1]
    if n2 <= n1 or g2 <= g1:
        return None
    return n2 + int((res.block_gas_limit - g2) * (n2 - n1) / (g2 - g1))


def largest_n_line(res: GasBench) -> str:
    if res.search_k is None:
        return ""
    if res.largest_n is None:
        return f"largest N settling in one {res.block_gas_limit // 1_000_000}M block at K={res.search_k}: none"
    gas = res.settle_gas(res.largest_n, res.search_k)
    note = ""
    if res.largest_n == MAX_PARTICIPANTS:
        est = extrapolated_n(res)
        note = " (the contract's cap" + (f"; without the cap, linear extrapolation gives about {est}" if est else "") + ")"
    return (f"largest N settling in one {res.block_gas_limit // 1_000_000}M block at K={res.search_k}: "
            f"{res.largest_n}{note}, settle gasUsed {_fmt_gas(gas)}")


def render(res: GasBench) -> str:
    parts = [f"chain: {res.chain}, payment rule {res.payment_rule}, block gas limit {res.block_gas_limit:,}, "
             f"{res.seconds:.0f} s", ""]
    if res.actions:
        parts += ["Gas per action (receipts' gasUsed; 2 owners + 2 stations unless stated)", "", action_table(res), ""]
    if res.settlement:
        parts += ["Settlement gasUsed (`settle`, a model selected); '> block' = out of gas at the block limit", "",
                  settlement_table(res), ""]
    if res.search_k is not None:
        parts += [probes_table(res), "", largest_n_line(res)]
    if res.worst_case is not None:
        w = res.worst_case
        verdict = "fits in one block" if w.fits else "does NOT fit in one block: such a round can never settle"
        parts += [f"largest round the contract accepts (N={w.n}, K={w.k}): settle gasUsed {_fmt_gas(w.gas)}, {verdict}"]
    return "\n".join(parts).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- CLI
def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chain", default="anvil", help="embedded | anvil (default: spawned from node_modules) | RPC URL")
    parser.add_argument("--quick", action="store_true",
                        help=f"N in {list(QUICK_NS)}, K in {list(QUICK_KS)}, no N=200/K=20 worst case "
                             "(well under a minute on anvil)")
    parser.add_argument("--ns", type=_int_list, default=None, help=f"comma-separated N values (default {list(FULL_NS)})")
    parser.add_argument("--ks", type=_int_list, default=None, help=f"comma-separated K values (default {list(FULL_KS)})")
    parser.add_argument("--search-k", type=int, default=SEARCH_K,
                        help="K at which to search the largest N settling in one block (0: skip)")
    parser.add_argument("--payment-rule", choices=sorted(PAYMENT_RULE_NAMES), default="paper-random",
                        help="the rounds' payment rule (posted: random posted prices between the sides' claims)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random claims and salts")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the measurements as JSON")
    parser.add_argument("--contract", choices=["v1", "v2", "both"], default="v2",
                        help="HCFLCore (v2, hcfl/bench/gas_v2.py; the default), the legacy HCFLCrowdfund (v1) or both")
    parser.add_argument("--v2-ns", type=_int_list, default=None,
                        help="comma-separated N values of the v2 settle-vs-N table (default 10,100,1000; "
                             "add 10000 on anvil)")


def _run_v2(args: argparse.Namespace) -> int:
    from hcfl.bench import gas_v2

    chain = args.chain
    if chain == "anvil":
        _ensure_anvil_on_path()
        chain = "anvil-7825"  # v2 must fit the EIP-7825 per-transaction cap: let anvil enforce it
    ns = args.v2_ns or ([10, 100] if args.quick else list(gas_v2.NS))
    ch = connect(chain)
    try:
        res = gas_v2.run_v2(ch, ns, seed=args.seed, worst_k=not args.quick)
    finally:
        ch.close()
    res.chain = chain
    sys.stdout.write("\n" + gas_v2.render_v2(res))
    if args.json is not None:
        path = args.json.with_name(args.json.stem + "-v2" + args.json.suffix)
        path.write_text(json.dumps(res.to_json(), indent=2) + "\n")
        log.info("wrote %s", path)
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "contract", "v1") == "v2":
        return _run_v2(args)
    ns = args.ns or (list(QUICK_NS) if args.quick else list(FULL_NS))
    ks = args.ks or (list(QUICK_KS) if args.quick else list(FULL_KS))
    search_k = args.search_k or None
    res = run_bench(chain=args.chain, ns=ns, ks=ks, seed=args.seed, search_k=search_k,
                    worst_case=None if not args.quick else False, payment_rule=args.payment_rule)
    sys.stdout.write(render(res))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res.to_json(), indent=2) + "\n")
        log.info("wrote %s", args.json)
    if getattr(args, "contract", "v1") == "both":
        return _run_v2(args)
    return 0

"""The contract-v2 section of `hcfl bench gas`: per-participant gas and settle gas vs N (HCFLCore).

Every number is a receipt's `gasUsed` on a real chain.

1. **Per participant at K = 1** (2 owners + 2 stations, Posted, Stake shares): an owner's
   join + commit + reveal + claimAndWithdraw, and a station's join + commit + reveal + claimAndWithdraw
   (deposit, after settlement) + claimAndWithdraw (reward, after the round finished), or one
   claimAndWithdraw of both at the end. (A station's training reports are not counted: they are its work.)
2. **settle vs N at K**: N participants (ceil(N/2) owners, floor(N/2) stations), K proposals, seeded random
   claims (owner values above station costs), so a model is selected. `settle` is O(K): its gas must not
   grow with N. The largest transaction of each round (any join/commit/reveal/settle/claim) is recorded:
   every one must stay under the EIP-7825 cap of 16,777,216 gas.
"""
from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from hcfl.bench.fast_send import FastSender, Tx
from hcfl.chain.accounts import derive_key, fund
from hcfl.chain.provider import Chain, spawn_anvil
from hcfl.chain.v2.client import CoreClient, ParticipantV2
from hcfl.protocol import CampaignConfig, Phase, ProposalSpec, Role, claims_commitment

log = logging.getLogger(__name__)

TX_GAS_CAP = 16_777_216  # EIP-7825
PARTICIPANT_TARGET = 250_000
GWEI = 10**9
DEPOSIT = 10**16  # far above every claim (<= 100 Gwei): nothing is capped
FUND = 10**17  # per key: deposit + gas of its transactions, incl. one claim sent with the 16.7M cap (10,000 keys: 1,000 ETH)
BOND = 10**15
PHASE = 1_000_000  # dev chains fast-forward; long enough that batches never miss a deadline
NS: tuple[int, ...] = (10, 100, 1000, 10_000)  # on anvil (FastSender: thousands of transactions per block)
NS_SLOW_CHAIN: tuple[int, ...] = (10, 100, 1000)  # embedded / RPC: one transaction per block
K_SETTLE = 10
BATCH = 200  # pipelined sends before waiting for receipts (chains other than anvil)


def _cfg() -> CampaignConfig:
    return CampaignConfig(join_duration=PHASE, propose_duration=PHASE, commit_duration=PHASE, reveal_duration=PHASE,
                          train_duration=PHASE, vote_commit_duration=PHASE, vote_reveal_duration=PHASE,
                          min_owner_deposit=10**15, min_station_deposit=10**15, min_bond=BOND,
                          max_proposals_per_owner=20, max_price=10**24)


@dataclass
class ParticipantGas:
    role: str
    steps: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.steps.values())

    @property
    def within_target(self) -> bool:
        return self.total <= PARTICIPANT_TARGET


@dataclass
class SettleRow:
    n: int
    k: int
    settle_gas: int
    max_tx_gas: int
    max_tx: str
    selected: bool
    seconds: float


@dataclass
class GasV2:
    chain: str
    participants: list[ParticipantGas] = field(default_factory=list)
    settle: list[SettleRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def settle_spread(self) -> float:
        """(max - min) / min of settle gas at K_SETTLE across N."""
        g = [r.settle_gas for r in self.settle if r.k == K_SETTLE]
        return (max(g) - min(g)) / min(g) if g else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"command": "hcfl bench gas (v2)", "chain": self.chain, "seconds": self.seconds,
                "participants": [{"role": p.role, "steps": p.steps, "total": p.total} for p in self.participants],
                "settle": [asdict(r) for r in self.settle], "settle_spread": self.settle_spread}


class _V2Bench:
    def __init__(self, chain: Chain, namespace: str = "hcfl-bench-v2") -> None:
        self.chain = chain
        self.core = CoreClient.deploy(chain)
        self.namespace = namespace
        self.creator = self.core.as_participant(derive_key("creator", namespace))
        fund(chain, [self.creator.address], 10**19)
        self.campaign = self.creator.create_campaign(_cfg())
        # anvil: thousands of transactions per block (automine off per chunk); other chains: pipelined sends
        self.fast = FastSender(chain) if FastSender.supports(chain) else None
        self._funded = 0
        self.keys: list[ParticipantV2] = []

    def people(self, n: int) -> list[ParticipantV2]:
        """n funded participant keys (funding the missing ones)."""
        while len(self.keys) < n:
            new = [self.core.as_participant(derive_key(f"p{i}", self.namespace))
                   for i in range(len(self.keys), min(n, len(self.keys) + 5000))]
            if self.fast is not None:
                self.fast.fund(self.chain.funder, [p.address for p in new], FUND)
            else:
                fund(self.chain, [p.address for p in new], FUND)
            self.keys += new
        return self.keys[:n]

    def _batch(self, calls: Sequence[tuple[ParticipantV2, str, tuple[Any, ...], int, int]]) -> list[Any]:
        """Pipelined sends (explicit gas, no estimate), then every receipt; a failed one raises."""
        if self.fast is not None:
            txs = [Tx(p.account, p.client.address, p.client.contract.encode_abi(fn, args), value, gas, fn)
                   for p, fn, args, value, gas in calls]
            return [(t.label, r) for t, r in zip(txs, self.fast.send(txs))]
        w3 = self.chain.w3
        out: list[Any] = []
        for i in range(0, len(calls), BATCH):
            hashes = [(p, fn, p.transact(fn, *args, value=value, gas=gas, wait=False))
                      for p, fn, args, value, gas in calls[i:i + BATCH]]
            for p, fn, h in hashes:
                r = w3.eth.wait_for_transaction_receipt(h, timeout=300)
                if r["status"] != 1:
                    raise RuntimeError(f"{fn} by {p.address} failed")
                out.append((fn, r))
        return out

    def round(self, n: int, k: int, seed: int, progress: bool = False) -> tuple[int, dict[str, list[Any]], list]:
        """Open a round, N joins, K proposals, N commits and reveals; returns (round id, receipts by step, people)."""
        rng = random.Random(seed * 1_000_003 + n * 101 + k)
        people = self.people(n)
        owners = people[: (n + 1) // 2]
        rid = self.creator.open_round(self.campaign)
        rec: dict[str, list[Any]] = {}

        def run(step: str, calls: list) -> None:
            rec[step] = [r for _, r in self._batch(calls)]

        run("join", [(p, "join", (rid, int(Role.OWNER if p in owners else Role.STATION)), DEPOSIT, 200_000)
                     for p in people])
        self.chain.wait_until(self.core.round(rid).join_end)
        specs = [ProposalSpec(spec_hash=bytes([m + 1]) * 32, global_rounds=1, price=rng.randint(10, 40) * GWEI)
                 for m in range(k)]
        # 5 proposers (or fewer owners) at every N: settle's bond-return credits touch the same accounts
        run("propose", [(owners[m % min(5, len(owners))], "propose",
                         (rid, s.spec_hash, s.uri, s.arch_id, s.promised_acc_bps, s.global_rounds, s.label_mask, s.price),
                         BOND, 300_000) for m, s in enumerate(specs)])
        self.chain.wait_until(self.core.round(rid).propose_end)
        claims = {p.address: [rng.randint(50, 100) * GWEI if p in owners else rng.randint(0, 40) * GWEI
                              for _ in range(k)] for p in people}
        salts = {p.address: rng.getrandbits(256).to_bytes(32, "big") for p in people}
        run("commit", [(p, "commit", (rid, claims_commitment(rid, p.address, claims[p.address], salts[p.address])), 0,
                        150_000) for p in people])
        self.chain.wait_until(self.core.round(rid).commit_end)
        run("reveal", [(p, "reveal", (rid, claims[p.address], salts[p.address]), 0, 150_000 + 100_000 * k)
                       for p in people])
        self.chain.wait_until(self.core.round(rid).reveal_end)
        run("settle", [(self.creator, "settle", (rid,), 0, TX_GAS_CAP)])
        return rid, rec, people

    def measure_participants(self, seed: int) -> list[ParticipantGas]:
        rid, rec, people = self.round(4, 1, seed)
        gas: dict[str, dict[str, int]] = {p.address: {} for p in people}
        for step in ("join", "commit", "reveal"):
            for r in rec[step]:
                gas[r["from"]][step] = int(r["gasUsed"])
        owner, station = people[1], people[3]  # not the proposer (people[0]): an ordinary participant
        gas[owner.address]["claimAndWithdraw"] = int(owner.transact("claimAndWithdraw", rid)["gasUsed"])
        gas[station.address]["claimAndWithdraw (deposit)"] = int(station.transact("claimAndWithdraw", rid)["gasUsed"])
        for p in people[2:]:
            p.transact("reportTraining", rid, 0, b"\x01" * 32, 1, 9000, b"\x02" * 32)
        people[0].transact("finalizeTraining", rid, b"\x03" * 32, 9000, b"\0" * 32, 0, b"\x04" * 32)
        r = self.core.round(rid)
        closed = r.train_closed_at
        c = _cfg()
        self.chain.wait_until(closed + c.vote_commit_duration + c.vote_reveal_duration)
        assert self.core.state(rid) == Phase.FINISHED
        gas[station.address]["claimAndWithdraw (reward)"] = int(station.transact("claimAndWithdraw", rid)["gasUsed"])
        late = people[2]  # a station that claims once, after the round finished (deposit + reward together)
        gas[late.address]["claimAndWithdraw (deposit + reward)"] = int(late.transact("claimAndWithdraw", rid)["gasUsed"])
        return [ParticipantGas("owner", gas[owner.address]),
                ParticipantGas("station (two claims)", gas[station.address]),
                ParticipantGas("station (one claim at the end)", gas[late.address])]

    def measure_settle(self, n: int, k: int, seed: int) -> SettleRow:
        t0 = time.monotonic()
        self.people(n)  # fund first: the snapshot below must keep the funding
        snap = self.chain.snapshot() if self.chain.is_dev else None
        rid, rec, people = self.round(n, k, seed)
        settle = rec["settle"][0]
        # the largest transactions of the round: the last ones of each step, plus one claim at the end
        claim = people[-1].transact("claim", rid, people[0].address, gas=TX_GAS_CAP)
        rows = [(step, int(r["gasUsed"])) for step, rs in rec.items() for r in rs] + [("claim", int(claim["gasUsed"]))]
        step, top = max(rows, key=lambda x: x[1])
        selected = self.core.round(rid).selected
        if snap is not None:
            self.chain.revert(snap)
            for p in people + [self.creator]:
                self.core.nonces.forget(p.address)
        return SettleRow(n=n, k=k, settle_gas=int(settle["gasUsed"]), max_tx_gas=top, max_tx=step, selected=selected,
                         seconds=time.monotonic() - t0)


BENCH_BLOCK_GAS = 1_000_000_000  # a block holds a whole chunk of FastSender's transactions


def spawn_bench_anvil() -> Chain:
    """anvil for this bench: the EIP-7825 per-transaction cap enforced (every transaction of a round must stay
    under 16,777,216 gas), a raised block gas limit (thousands of transactions per block), and no state
    history kept (`--prune-history`: a 10,000-participant round must not fill the disk with old states)."""
    return spawn_anvil(tx_gas_limit=True, gas_limit=BENCH_BLOCK_GAS, extra_args=["--prune-history"])


def run_v2(chain: Chain, ns: Sequence[int] = NS, k: int = K_SETTLE, *, seed: int = 0, progress: bool = True,
           worst_k: bool = True) -> GasV2:
    """The v2 section on an already connected chain."""
    t0 = time.monotonic()
    bench = _V2Bench(chain)
    res = GasV2(chain=chain.kind)
    res.participants = bench.measure_participants(seed)
    for p in res.participants:
        log.info("v2 %s: %s = %d gas", p.role, p.steps, p.total)
    cells = [(n, k) for n in sorted(set(ns))] + ([(10, 20)] if worst_k else [])
    for n, kk in tqdm(cells, desc="v2 settle vs N", unit="round", disable=not progress, file=sys.stderr):
        row = bench.measure_settle(n, kk, seed)
        log.info("v2 N=%d K=%d: settle %d gas, largest tx %s %d gas (%.0f s)", row.n, row.k, row.settle_gas,
                 row.max_tx, row.max_tx_gas, row.seconds)
        res.settle.append(row)
    res.seconds = time.monotonic() - t0
    return res


def render_v2(res: GasV2) -> str:
    lines = [f"Contract v2 (HCFLCore), chain {res.chain}, {res.seconds:.0f} s", "",
             f"Per participant at K=1 (receipts' gasUsed; target <= {PARTICIPANT_TARGET:,})", "",
             "| role | steps | total | within target |", "|---|---|---:|---|"]
    for p in res.participants:
        steps = " + ".join(f"{name} {g:,}" for name, g in p.steps.items())
        payouts = sum(1 for name in p.steps if name.startswith("claimAndWithdraw"))
        verdict = ("yes" if p.within_target else "NO") if payouts == 1 else f"- ({payouts} withdrawals)"
        lines.append(f"| {p.role} | {steps} | {p.total:,} | {verdict} |")
    lines += ["", f"settle vs N (a model selected); largest transaction of the round (cap {TX_GAS_CAP:,})", "",
              "| N (owners + stations) | K | settle gasUsed | largest tx | its gasUsed | under cap |",
              "|---:|---:|---:|---|---:|---|"]
    for r in res.settle:
        lines.append(f"| {r.n} ({(r.n + 1) // 2} + {r.n // 2}) | {r.k} | {r.settle_gas:,} | {r.max_tx} | "
                     f"{r.max_tx_gas:,} | {'yes' if r.max_tx_gas < TX_GAS_CAP else 'NO'} |")
    lines += ["", f"settle gas spread across N at K={K_SETTLE}: {100 * res.settle_spread:.1f}% (target <= 10%)"]
    return "\n".join(lines) + "\n"

"""A station paying its edge clients (issue 10, docs/mechanism.md "Edge payouts"): the station-side half.

Per round id `rid` of the HCFLCore `core` that the EdgePayouts deployment is bound to (round key =
hcfl.chain.edge_payouts.round_key(core, rid) = bytes32(rid)):

0. `announce(core, rid)` -- as soon as the station joined the round, before training can start (the
   contract enforces it: by the round's reveal deadline, by its commit deadline for a rule with cost claims):
   announce the EdgeRewardRule hash on EdgePayouts, serve the rule's full JSON to the edge clients
   (GET /edge/pay/{rid}) and write it to `out_dir` for auditors. Edge clients of a claim rule then commit
   their sealed cost claims in the round's commit window and reveal them in its reveal window.
1. `before_training(core, rid)` -- before the cell's first edge round: read the revealed claims, serve the
   leader's parameters and the expected reward (the round's escrow over its revealed stations: an estimate).
2. `observe(...)` -- the cell's hook for every accepted update: accuracy of the update on the station's
   validation data, completion time, upload time, the client's newest-sample timestamp (a timestamp later
   than the upload rejects the update), its last state (for Shapley coalitions).
3. `settle(core, rid, rounds)` -- after the round: the inputs of the EdgeSettlement; then, once the
   station's HCFLCore reward is final (claimed on HCFLCore by its operator; with `claim_reward` the paymaster
   claims it itself when the round is Finished and no score proof is needed; up to `reward_timeout`), the amounts split exactly that
    reward (hcfl.edge.round_settle.compute), postPayouts
   funded with it (EdgePayouts checks msg.value == the reward), the station's own leaf (what the rule
   returns to it) claimed, the settlement published (file + GET /edge/pay/{rid}/settlement) and every
   client's proof served (GET /edge/pay/{rid}/proof/ADDR).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from hcfl.chain.client import ContractRevert
from hcfl.chain.edge_payouts import EdgePayoutsClient, PayoutTree, round_key, settlement_leaves
from hcfl.edge.claims import PARAM_COUNT
from hcfl.edge.round_settle import ClientInputs, EdgeSettlement, compute, ifedcrowd_rates, lceme_clients
from hcfl.edge.rule import EdgeRewardRule

log = logging.getLogger("hcfl.edge_pay")

CLOCK_SKEW = 5  # seconds a client's newest-sample timestamp may lie ahead of the station's clock
IDLE_WAIT_S = 5.0  # at most this long an accuracy measurement waits for the station to be idle


OPERATOR_GRACE = 3.0  # at most this long from the operator's claim to signing with the same key (less once it withdrew)


def _operator_grace(client: Any, station: str) -> None:
    """After the operator's claim: wait until it withdrew (the station's HCFLCore credit is 0, so it has nothing
    more to send with this key), at most OPERATOR_GRACE seconds, before the paymaster signs with the same key."""
    end = time.monotonic() + OPERATOR_GRACE
    while time.monotonic() < end:
        if client.credit_of(station) == 0:
            return
        time.sleep(0.2)


def _retry(send: Any, attempts: int = 4) -> Any:
    """A transaction of the station's key, sent again after a transport or nonce error (the operator may sign
    with the same key at the same moment); a revert is final."""
    for attempt in range(attempts):
        try:
            return send()
        except ContractRevert:
            raise
        except Exception as exc:  # noqa: BLE001 - nonce races and node hiccups come in many types
            if attempt == attempts - 1:
                raise
            log.warning("transaction failed (%s: %s); sending again", type(exc).__name__, str(exc)[:200])
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


class EdgePayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    rule: EdgeRewardRule
    claim_window: int = Field(default=7 * 86400, ge=1, le=365 * 86400)  # long: dev chains fast-forward
    reward_timeout: float = Field(default=3600.0, gt=0, le=30 * 86400)  # how long settle waits for the reward
    claim_reward: bool = False  # claim the station's HCFLCore reward itself once the round is Finished
    out_dir: Path | None = None


@dataclass
class _Seen:
    accuracy: list[Any] = field(default_factory=list)  # floats, or futures of the off-path evaluations
    seconds: list[float] = field(default_factory=list)
    upload_time: int = 0
    newest_sample_time: int = 0
    state: dict[str, torch.Tensor] | None = None
    samples: int = 0


class EdgePaymaster:
    def __init__(self, w3: Web3, account: LocalAccount, config: EdgePayConfig, validation: Any = None,
                 spec: Any = None) -> None:
        self.w3 = w3
        self.account = account
        self.config = config
        self.contract = EdgePayoutsClient(w3, config.contract)
        self.party = self.contract.as_party(account)
        self.validation = validation  # fl_worker.data.base.Split of the station's own validation data
        self.spec = spec
        self._lock = threading.Lock()
        # an accepted update's accuracy on the validation data is needed at settlement, not by the edge round that
        # accepted it: it is evaluated here, one after the other, off the cell's critical path
        self._evals = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-pay-eval")
        # set while the station has nothing urgent to do (its edge clients train): the accuracy measurements, needed
        # only at settlement, wait for it (EdgeCell.idle) instead of competing with the station's next dispatch
        self.idle: threading.Event | None = None
        self._info: dict[int, dict[str, Any]] = {}
        self._settled: dict[int, EdgeSettlement] = {}
        self._trees: dict[int, PayoutTree] = {}
        self._seen: dict[int, dict[str, _Seen]] = {}
        self._announced: set[int] = set()  # terms served
        self._on_chain: set[int] = set()  # rule on chain
        self._failed: set[int] = set()  # announcement failed (logged once)

    # ------------------------------------------------------------------ 1. the rule, before training
    def needs_claims(self) -> bool:
        return self.config.rule.name in PARAM_COUNT

    def announce(self, core: str, rid: int) -> bool:
        """Announces the rule for round `rid` (once; True when it is on chain). A station that has not joined
        the round yet gets False (try again later); a rule announced too late raises."""
        if rid in self._on_chain:
            return True
        key = round_key(core, rid)
        rule = self.config.rule
        on_chain = self.contract.rule(self.account.address, key)
        if on_chain.rule_hash == bytes(32):
            try:
                receipt = self.party.announce_rule(key, rule.hash(), self.needs_claims())
            except ContractRevert as exc:
                if exc.error == "NotAStation":
                    return False
                raise RuntimeError(f"round {rid}: the edge rule cannot be announced ({exc.error} {exc.error_args}): "
                                   "rules are announced before training starts") from None
            log.info("round %d: announced edge rule %s (0x%s) on EdgePayouts, tx %s", rid, rule.name,
                     rule.hash().hex()[:12], "0x" + bytes(receipt["transactionHash"]).hex())
        elif on_chain.rule_hash != rule.hash():
            raise RuntimeError(f"round {rid}: the rule announced on chain is 0x{on_chain.rule_hash.hex()}, this "
                               f"station's rule hashes to 0x{rule.hash().hex()} (rules are immutable)")
        try:  # the core keeps the reward this station's claim credits: that exact amount is what it posts
            self.party.keep_reward(key)
        except ContractRevert as exc:
            raise RuntimeError(f"round {rid}: the core cannot keep this station's reward ({exc.error}): ask "
                               "before the station's reward claim") from None
        commit_deadline, reveal_deadline = self.contract.claim_windows(self.account.address, key)
        info = {"station": self.account.address, "contract": self.contract.address, "round_id": rid,
                "core": to_checksum_address(core), "round_key": "0x" + key.hex(), "rule": rule.model_dump(mode="json"),
                "rule_hash": "0x" + rule.hash().hex(), "budget_wei": 0, "budget_how": "the station's reward for "
                "the round, known once it is final; estimated when training starts",
                "commit_deadline": commit_deadline, "reveal_deadline": reveal_deadline, "derived": {},
                "status": "announced"}
        self._publish(rid, info, "rule")
        self._on_chain.add(rid)
        return True

    def before_training(self, core: str, rid: int) -> None:
        """At the first edge round (training has started): the revealed claims, the leader's parameters and
        the expected reward, served as the round's terms."""
        if rid in self._announced:
            return
        if not self.announce(core, rid):
            raise RuntimeError(f"round {rid}: station {self.account.address} is not a station of the round")
        key = round_key(core, rid)
        info = dict(self._info[rid])
        if self.needs_claims():
            self._wait_chain_time(int(info["reveal_deadline"]))
            claims = self.contract.revealed_claims(self.account.address, key)
            info.update(claims={a: [str(v) for v in p] for a, p in claims.items()}, derived=self._derived(claims))
            log.info("round %d: %d revealed edge cost claim(s); leader's parameters %s", rid, len(claims),
                     info["derived"])
        estimate, how = self._reward_estimate(core, rid)
        info.update(budget_wei=estimate, budget_how=how, status="terms")
        self._publish(rid, info, "rule")
        self._announced.add(rid)

    def _reward_estimate(self, core: str, rid: int) -> tuple[int, str]:
        """The round's escrow over its revealed stations (the reward itself is known once it is final)."""
        try:
            from hcfl.chain.v2.client import CoreClient

            r = CoreClient(self.w3, to_checksum_address(core)).round(rid)
            n = max(1, int(r.n_stations))
            return int(r.escrow) // n, f"estimate: the round's escrow {int(r.escrow)} wei over {n} station(s)"
        except Exception as exc:  # noqa: BLE001 - an estimate only
            log.warning("round %d: no reward estimate (%s)", rid, exc)
            return 0, "no estimate"

    def _derived(self, claims: dict[str, list[int]]) -> dict[str, Any]:
        rule = self.config.rule
        if rule.name == "ifedcrowd":
            rates = ifedcrowd_rates(rule, claims)
            return {"rates": [rates.r1, rates.r2]} if rates else {}
        if rule.name == "lceme":
            from hcfl.edge import settle

            clients = lceme_clients(claims)
            if not clients:
                return {}
            return {"assigned": dict(zip([a for a, _ in clients], settle.announce_lceme(rule, [c for _, c in clients])))}
        return {}

    def _wait_chain_time(self, deadline: int) -> None:
        """Until the chain's latest block is at or past `deadline` (dev nodes mine on demand: poke them), or
        the wall clock is 2 s past it (the next block will be stamped after it; transactions sent then skip
        gas estimation, which a node runs against its latest block)."""
        while True:
            now = int(self.w3.eth.get_block("latest")["timestamp"])
            if now >= deadline or time.time() >= deadline + 2:
                return
            time.sleep(min(1.0, max(0.2, deadline - now)))
            if int(time.time()) >= deadline:  # an automine node only moves its clock with a new block
                try:
                    self.w3.provider.make_request("evm_mine", [])
                except Exception:  # noqa: BLE001 - a real node mines by itself
                    pass

    # ------------------------------------------------------------------ 2. measurements (cell hook)
    def observe(self, rid: int, address: str, state: dict[str, torch.Tensor], samples: int,
                metrics: dict[str, Any]) -> str | None:
        """Record one accepted update; a string is a reason to reject it."""
        now = int(time.time())
        newest = metrics.get("newest_sample_time")
        newest = int(newest) if isinstance(newest, (int, float)) and newest >= 0 else 0
        if newest > now + CLOCK_SKEW:
            return f"newest sample generated at {newest}, after the upload at {now}"
        accuracy: Any = 0.0
        if self.validation is not None and self.spec is not None:
            from fl_worker.local import evaluate

            def measure(state: dict[str, torch.Tensor] = state) -> float:
                if self.idle is not None:
                    self.idle.wait(IDLE_WAIT_S)
                return evaluate(state, self.validation, spec=self.spec)

            accuracy = self._evals.submit(measure)
        spent = metrics.get("train_seconds", 0.0)
        with self._lock:
            seen = self._seen.setdefault(rid, {}).setdefault(to_checksum_address(address), _Seen())
            seen.accuracy.append(accuracy)
            seen.seconds.append(float(spent) if isinstance(spent, (int, float)) and spent >= 0 else 0.0)
            seen.upload_time = now
            seen.newest_sample_time = min(newest, now)
            seen.state, seen.samples = state, samples
        return None

    # ------------------------------------------------------------------ 3. after the round
    def settle(self, core: str, rid: int, rounds: Sequence[Any]) -> EdgeSettlement | None:
        """`rounds`: the cell's CellRound of every global round of `rid` (their leaves = inclusion)."""
        if rid in self._settled:
            return self._settled[rid]
        key = round_key(core, rid)
        if self.contract.rule(self.account.address, key).rule_hash != self.config.rule.hash():
            log.error("round %d: this station's rule is not on chain (announced too late?): no edge payouts", rid)
            return None
        included: dict[str, int] = {}
        for r in rounds:
            for leaf in r.leaves:
                included[leaf.address] = included.get(leaf.address, 0) + int(leaf.samples)
        with self._lock:
            seen = dict(self._seen.get(rid, {}))
        everyone = sorted(set(included) | set(seen), key=lambda a: int(a, 16))
        clients = []
        for a in everyone:
            s = seen.get(a, _Seen())
            clients.append(ClientInputs(
                address=a, included=a in included, samples=included.get(a, 0),
                accuracy=round(sum(_value(a) for a in s.accuracy) / len(s.accuracy), 6) if s.accuracy else 0.0,
                completion_time=round(sum(s.seconds) / len(s.seconds), 6) if s.seconds else 0.0,
                upload_time=s.upload_time, newest_sample_time=s.newest_sample_time))
        claims = self.contract.revealed_claims(self.account.address, key) if self.needs_claims() else {}
        extra: dict[str, Any] | None = {}
        if self.config.rule.name == "lceme":
            extra = None
        reward = self.wait_reward(core, rid)
        if self.config.rule.name == "lceme":
            extra = self._lceme_inputs(rounds, self._seed_block(core, rid))
        settlement = EdgeSettlement(station=self.account.address, round_key="0x" + key.hex(), round_id=rid,
                                    rule=self.config.rule, budget=reward, clients=clients, claims=claims,
                                    **(extra or {}))
        if self.config.rule.name == "shapley":
            settlement = settlement.model_copy(update={"shapley_utility": self._coalitions(settlement, seen)})
        amounts, returned, derived = compute(settlement)
        settlement = settlement.model_copy(update={"amounts": amounts, "returned": returned, "derived": derived})
        leaves = settlement_leaves(self.account.address, amounts, returned) if reward else {}
        if leaves:
            tree = PayoutTree.build(leaves)
            receipt = _retry(lambda: self.party.post_payouts(key, tree, self.config.claim_window))
            settlement = settlement.model_copy(update={"root": "0x" + tree.root.hex(),
                                                       "posted_tx": "0x" + bytes(receipt["transactionHash"]).hex()})
            self._trees[rid] = tree
            log.info("round %d: posted edge payouts root %s funding the station's reward %d wei to %d client(s), "
                     "tx %s", rid, settlement.root[:12], tree.total, len([a for a in amounts if amounts[a] > 0]),
                     settlement.posted_tx)
            if returned > 0:
                _retry(lambda: self.party.claim(self.account.address, key, tree))
                log.info("round %d: the station claimed back %d wei the rule returns to it", rid, returned)
        else:
            log.warning("round %d: the station's reward is %d wei; nothing posted", rid, reward)
        paid = bool(leaves)
        self._settled[rid] = settlement
        self._publish(rid, {**self._info.get(rid, {}), "status": "posted" if paid else "nothing",
                            "reward_wei": reward, "root": settlement.root}, "rule")
        if self.config.out_dir is not None:
            self.config.out_dir.mkdir(parents=True, exist_ok=True)
            (self.config.out_dir / f"edge-settlement-{rid}-{self.account.address}.json").write_text(settlement.to_json())
        return settlement

    def wait_reward(self, core: str, rid: int) -> int:
        """The station's final HCFLCore reward for round `rid`, once claimed: with `claim_reward` the paymaster
        claims it itself when the round is Finished (a plain claim: enough under Equal/Stake shares), otherwise
        (and under contribution scores, which need claimWithScore's proof) it waits for its operator's claim,
        up to `reward_timeout` seconds; TimeoutError after that. Off by default: the operator signs with the
        same key, and two processes sending with one key race for its nonce."""
        from hcfl.chain.v2.client import CoreClient
        from hcfl.protocol import Phase

        key = round_key(core, rid)
        me = self.account.address
        deadline = time.monotonic() + self.config.reward_timeout
        tried = False
        logged = False
        while True:
            sr = self.contract.station_reward(me, key)
            client = CoreClient(self.w3, to_checksum_address(core))
            if sr.final:
                log.info("round %d: the station's HCFLCore reward is final: %d wei", rid, sr.reward)
                if tried is False and logged:
                    _operator_grace(client, me)  # its operator claimed with the same key and may withdraw next
                return sr.reward
            if self.config.claim_reward and not tried and client.state(rid) == Phase.FINISHED:
                tried = True
                try:
                    client.as_participant(self.account).claim(rid)
                    continue
                except ContractRevert as exc:
                    log.info("round %d: the station's reward needs its operator's claim (%s)", rid, exc.error)
            if not logged:
                log.info("round %d: waiting for the station's HCFLCore reward to be final", rid)
                logged = True
            if time.monotonic() >= deadline:
                raise TimeoutError(f"round {rid}: the station's HCFLCore reward was not final within "
                                   f"{self.config.reward_timeout:g} s; edge payouts not posted")
            time.sleep(0.5)

    def _seed_block(self, core: str, rid: int) -> int | str:
        """The block whose hash picks xi: the one in which HCFLCore closed the round's training (its
        TrainingClosed event: the last report or the finalization; unknown to anyone before it was mined, and
        fixed before any reward is final), else (training ran out at trainEnd, or no HCFLCore) the latest."""
        try:
            from hcfl.chain.v2.client import CoreClient

            for ev in CoreClient(self.w3, to_checksum_address(core)).events(round_id=rid):
                if ev.name == "TrainingClosed":
                    return int(ev.block_number)
        except Exception as exc:  # noqa: BLE001 - the fallback is logged
            log.warning("round %d: no TrainingClosed event readable (%s); xi from the latest block", rid, exc)
        return "latest"

    def _lceme_inputs(self, rounds: Sequence[Any], at: int | str = "latest") -> dict[str, Any]:
        """f(w_T, xi): the final station model's loss on validation sample xi, xi from block `at`'s hash."""
        from hcfl.edge.lceme import test_sample_index

        block = self.w3.eth.get_block(at)
        if self.validation is None or self.spec is None or not rounds:
            return {"lceme_loss": 0.0, "lceme_seed_block": int(block["number"])}
        from fl_worker.models import build_model

        xi = test_sample_index(int.from_bytes(bytes(block["hash"]), "big"), len(self.validation.y))
        model = build_model(self.spec)
        model.load_state_dict(rounds[-1].state)
        model.eval()
        with torch.no_grad():
            out = model(self.validation.X[xi:xi + 1])
            loss = float(torch.nn.functional.cross_entropy(out, self.validation.y[xi:xi + 1]))
        return {"lceme_loss": round(loss, 6), "lceme_seed_block": int(block["number"])}

    def _coalitions(self, s: EdgeSettlement, seen: dict[str, _Seen]) -> list[float]:
        """Utility of every coalition of the paid clients: accuracy of their sample-weighted average."""
        from fl_worker.aggregate import weighted_average
        from fl_worker.local import evaluate
        from hcfl.edge.round_settle import paid_clients

        pay = paid_clients(s)
        if len(pay) > s.rule.params.exact_limit:  # type: ignore[union-attr]
            raise ValueError(f"live Shapley settles up to {s.rule.params.exact_limit} clients per cell")  # type: ignore[union-attr]
        out = [0.0]
        for mask in range(1, 2 ** len(pay)):
            members = [seen[c.address] for i, c in enumerate(pay) if mask >> i & 1]
            states = [(m.state, max(1, m.samples)) for m in members if m.state is not None]
            acc = evaluate(weighted_average(states), self.validation, spec=self.spec) if states and self.validation is not None else 0.0
            out.append(round(float(acc), 6))
        return out

    # ------------------------------------------------------------------ HTTP (served by the cell)
    def _publish(self, rid: int, info: dict[str, Any], kind: str) -> None:
        with self._lock:
            self._info[rid] = info
        if self.config.out_dir is not None:
            import json

            self.config.out_dir.mkdir(parents=True, exist_ok=True)
            (self.config.out_dir / f"edge-{kind}-{rid}-{self.account.address}.json").write_text(json.dumps(info, indent=1))

    def route(self, path: str) -> tuple[int, dict[str, Any]] | None:
        """GET /edge/pay/current | /edge/pay/{rid} | /edge/pay/{rid}/settlement | /edge/pay/{rid}/proof/{address}."""
        if path == "/edge/pay/current":
            with self._lock:
                if not self._info:
                    return 404, {"detail": "no rule announced yet"}
                return 200, self._info[max(self._info)]
        m = _PAY.match(path)
        if not m:
            return None
        rid, what, address = int(m.group(1)), m.group(2), m.group(3)
        with self._lock:
            info = self._info.get(rid)
        if info is None:
            return 404, {"detail": f"no rule announced for round {rid}"}
        if what is None:
            return 200, info
        settlement = self._settled.get(rid)
        if settlement is None:
            return 409, {"detail": "round not settled yet"}
        if what == "/settlement":
            return 200, settlement.model_dump(mode="json")
        tree = self._trees.get(rid)
        addr = to_checksum_address(address)
        amount = settlement.amounts.get(addr, 0)
        if tree is None or amount == 0:
            return 200, {"station": self.account.address, "round_key": settlement.round_key, "address": addr,
                         "amount": 0, "proof": [], "root": settlement.root}
        return 200, {"station": self.account.address, "round_key": settlement.round_key, "address": addr,
                     "amount": amount, "proof": ["0x" + p.hex() for p in tree.proof(addr)], "root": settlement.root,
                     "contract": self.contract.address}


_PAY = re.compile(r"^/edge/pay/(\d{1,12})(/settlement|/proof/(0x[0-9a-fA-F]{40}))?$")


# ============================================================================ the daemon's two hooks
def _paymaster(daemon: Any) -> EdgePaymaster | None:
    config: EdgePayConfig | None = daemon.config.edge_pay
    if config is None or daemon.cell is None:
        return None
    if daemon.cell.paymaster is None:
        daemon.cell.paymaster = EdgePaymaster(daemon._client.w3, daemon.account, config)
        daemon.cell.paymaster.idle = daemon.cell.idle
    return daemon.cell.paymaster


def announce_early(daemon: Any, rid: int) -> None:
    """From the daemon's poll, before each task request: announce the rule of round `rid` as soon as the
    station joined it (before training can start; EdgePayouts refuses it later). Errors are logged."""
    pm = _paymaster(daemon)
    if pm is None or rid in pm._on_chain:
        return
    try:
        pm.announce(daemon._chain.contract, rid)
    except Exception as exc:  # noqa: BLE001 - logged; training goes on without edge payouts for this round
        if rid not in pm._failed:
            pm._failed.add(rid)
            log.error("round %d: edge rule not announced: %s", rid, exc)


def before_edge_round(daemon: Any, task: Any) -> None:
    """From AggregatorDaemon._train_edge, before the cell's first edge round of a round: the paymaster's
    validation data (the plan's dataset's test split, the station's own copy) and the round's terms."""
    pm = _paymaster(daemon)
    if pm is None:
        return
    if pm.validation is None:
        try:
            from fl_worker.data import load_dataset

            pm.validation = load_dataset(task.training.dataset, daemon.config.data_dir, seed=task.training.seed).test
        except Exception as exc:  # noqa: BLE001 - no validation data: accuracy inputs are 0 (logged)
            log.warning("no validation data for edge payouts (%s): accuracies count as 0", exc)
    pm.spec = task.spec
    try:
        pm.before_training(daemon._chain.contract, task.round_id)
    except Exception as exc:  # noqa: BLE001 - the round trains on; its edge clients are not paid
        log.error("round %d: no edge payouts this round: %s", task.round_id, exc)


def after_round(daemon: Any, rid: int) -> EdgeSettlement | None:
    """From the daemon's 'done': settle and post the round's edge payouts (errors are logged, never fatal)."""
    pm = daemon.cell.paymaster if daemon.cell is not None else None
    if pm is None:
        return None
    try:
        return pm.settle(daemon._chain.contract, rid, daemon.cell.rounds_of(rid))
    except Exception:  # noqa: BLE001 - the station's FL duties are done; payouts can be retried by hand
        log.exception("round %d: edge payouts failed", rid)
        return None


def linger(daemon: Any, rid: int, timeout: float) -> None:
    """Keep serving proofs until every paid client claimed (or `timeout`)."""
    pm = daemon.cell.paymaster if daemon.cell is not None else None
    if pm is None or rid not in pm._settled or not pm._settled[rid].root:
        return
    s = pm._settled[rid]
    key = bytes.fromhex(s.round_key[2:])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not daemon.stopping:
        if all(pm.contract.is_claimed(s.station, key, a) for a, v in s.amounts.items() if v > 0):
            return
        time.sleep(1.0)


def _value(accuracy: Any) -> float:
    """An observed accuracy: a float, or the result of its off-path evaluation (EdgePaymaster.observe); an evaluation
    that failed counts as 0 (logged), as it does without validation data."""
    if not isinstance(accuracy, Future):
        return float(accuracy)
    try:
        return float(accuracy.result())
    except Exception as exc:  # noqa: BLE001 - one update's measurement; the settlement goes on
        log.warning("an edge update's accuracy could not be evaluated (%s: %s): it counts as 0", type(exc).__name__, exc)
        return 0.0

"""The coordinator's view of the chain (contract v2): a locked gateway around the typed v2 client
(hcfl.chain.v2.CoreClient) and the event ledger (hcfl.ledger), the JSON-RPC pass-through, JSON views of
rounds/events/funds, and the deadline driver.

Reads come from the ledger snapshot (events folded incrementally; one fetch per new block, shared by every
request); a round's phase is derived from the snapshot and the head block's timestamp (hcfl.ledger.phase, which
follows the contract's `state()` line by line), so a read makes no chain call while no block was added.
The embedded chain (eth-tester) is not thread-safe, so every web3 call goes through
`ChainGateway.lock`; the snapshot itself is immutable and read without it.

v2 derives phases from timestamps, so the driver sends only what needs a transaction: `settle` once the
reveal deadline passed. With `fast_forward` on a dev chain it moves the clock to the current phase's deadline
once everybody expected has acted (Joining/Proposing: at least one owner and one station / one proposal and
no new one for `quiet` seconds; Committing: every member committed; Revealing: every committer revealed;
VoteCommitting/VoteRevealing: every eligible voter committed/revealed). Training closes by itself on chain
(finalized and every station reported) and is never fast-forwarded.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from hcfl.chain.client import ChainEvent, ContractRevert, TxFailed, _revert_data
from hcfl.chain.provider import Chain
from hcfl.chain.v2.client import CoreClient, ParticipantV2
from hcfl.chain.v2.types import CreditReason, Phase, Role
from hcfl.ledger.fetch import LedgerFetcher
from hcfl.ledger.phase import phase as ledger_phase
from hcfl.ledger.records import Ledger, ParticipantRecord, ProposalRecord, RoundRecord

log = logging.getLogger(__name__)

# JSON-RPC methods the browser and the daemons may call through POST /rpc. Signing methods and node
# accounts are left out on purpose: the coordinator never signs for anybody.
RPC_ALLOWED = frozenset({
    "eth_chainId", "eth_blockNumber", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory",
    "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getTransactionCount",
    "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt",
    "eth_call", "eth_estimateGas", "eth_sendRawTransaction", "eth_getLogs", "eth_syncing",
    "net_version", "web3_clientVersion",
})
RPC_MAX_BATCH = 50

PHASE_NAMES = {
    Phase.NONE: "None", Phase.JOINING: "Joining", Phase.PROPOSING: "Proposing", Phase.COMMITTING: "Committing",
    Phase.REVEALING: "Revealing", Phase.AWAITING_SETTLEMENT: "AwaitingSettlement", Phase.TRAINING: "Training",
    Phase.VOTE_COMMITTING: "VoteCommitting", Phase.VOTE_REVEALING: "VoteRevealing", Phase.FINISHED: "Finished",
}
RULE_NAMES = {0: "posted", 1: "paper-random"}
SHARE_NAMES = {0: "equal", 1: "stake", 2: "proportional", 3: "contribution"}
ZERO32 = b"\0" * 32


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def revealed_stations(r: RoundRecord) -> list[str]:
    """The round's revealed stations in join order: the one station order of training (task index,
    manifests, contribution scores) that the coordinator and the daemons both derive from the ledger."""
    return [p.address for p in r.participants if p.role == Role.STATION and p.revealed]


def revealed_owners(r: RoundRecord) -> list[str]:
    return [p.address for p in r.participants if p.role == Role.OWNER and p.revealed]


def selected_proposal(r: RoundRecord) -> ProposalRecord | None:
    s = r.settlement
    return r.proposals[s.star] if s is not None and s.selected and not s.unfunded else None


class ChainGateway:
    """The one door to the chain: a lock, the typed v2 client, the ledger and the gas payer (settle only)."""

    def __init__(self, chain: Chain, core: CoreClient, gas_payer: LocalAccount, from_block: int = 0) -> None:
        self.chain = chain
        self.core = core
        self.client = core  # the typed client (abi, address, calls)
        self.lock = threading.RLock()
        self.payer: ParticipantV2 = core.as_participant(gas_payer)
        self._rpc_http: httpx.Client | None = None
        self._embedded_fn: Callable[[str, Any], Any] | None = None
        self.chain_id = core.chain_id
        self.fetcher = LedgerFetcher(core, from_block=from_block)
        self._ledger: Ledger | None = None
        self._ledger_block = -1
        self._head_time = 0
        self._events: list[ChainEvent] = []  # the event cache of events(): blocks below _events_next
        self._events_next = 0

    @property
    def address(self) -> str:
        return self.core.address

    def close(self) -> None:
        if self._rpc_http is not None:
            self._rpc_http.close()

    # ------------------------------------------------------------ reads
    def ledger(self) -> Ledger:
        """The event ledger up to the head (folded incrementally; cached while no block is added)."""
        with self.lock:
            head = int(self.chain.w3.eth.block_number)
            if self._ledger is None or head != self._ledger_block:
                self._ledger = self.fetcher.sync(head)
                self._ledger_block = head
                self._head_time = int(self.chain.w3.eth.get_block(head)["timestamp"])
            return self._ledger

    def round_count(self) -> int:
        return len(self.ledger().rounds)

    def record(self, rid: int) -> RoundRecord:
        return self.ledger().rounds[rid]

    def phase(self, rid: int) -> Phase:
        """The round's phase at the head block's timestamp, from the ledger (no chain call of its own)."""
        with self.lock:
            ledger = self.ledger()
            now = self._head_time
        return ledger_phase(ledger, rid, now)

    def block_number(self) -> int:
        with self.lock:
            return int(self.chain.w3.eth.block_number)

    def now(self) -> int:
        """The chain's clock as the next block will see it (never behind the wall clock on dev nodes)."""
        with self.lock:
            latest = self.chain.now()
        return max(latest, int(time.time()))

    @staticmethod
    def settled_at(r: RoundRecord) -> int | None:
        return r.settlement.settled_at if r.settlement is not None else None

    def phase_end(self, r: RoundRecord, phase: Phase) -> int:
        """The deadline of `phase` (0 when the phase has none: awaiting settlement, finished)."""
        cfg = self.ledger().campaigns[r.campaign_id].config
        if phase == Phase.JOINING:
            return r.join_end
        if phase == Phase.PROPOSING:
            return r.propose_end
        if phase == Phase.COMMITTING:
            return r.commit_end
        if phase == Phase.REVEALING:
            return r.reveal_end
        settled = self.settled_at(r)
        if settled is None:
            return 0
        train_end = settled + cfg.train_duration
        if phase == Phase.TRAINING:
            return train_end
        closed = r.training_closed_at or train_end
        if phase == Phase.VOTE_COMMITTING:
            return closed + cfg.vote_commit_duration
        if phase == Phase.VOTE_REVEALING:
            return closed + cfg.vote_commit_duration + cfg.vote_reveal_duration
        return 0

    def deadline_passed(self, deadline: int) -> bool:
        """True once a block past `deadline` exists. A dev node mines only on transactions, so its latest block
        can lag the wall clock: once the wall clock has passed the deadline, mine an empty block to bring its
        clock up (no time travel)."""
        with self.lock:
            if self.chain.now() > deadline:
                return True
            # eth-tester stamps a block with the time its *predecessor* was mined, so it may take two
            for _ in range(2):
                if not (self.chain.is_dev and time.time() > deadline + 1):
                    break
                self._mine()
                if self.chain.now() > deadline:
                    return True
        return False

    def _mine(self) -> None:
        if self.chain.kind == "embedded":
            self.chain._tester.mine_blocks(1)
        else:
            self.chain.w3.provider.make_request("evm_mine", [])

    def participant(self, rid: int, address: str) -> ParticipantRecord | None:
        return self.record(rid).participant(to_checksum_address(address))

    def events(self, round_id: int | None = None) -> list[ChainEvent]:
        """All contract events (optionally one round's), from a cache that only fetches new blocks."""
        with self.lock:
            latest = int(self.chain.w3.eth.block_number)
            if latest + 1 < self._events_next:  # the chain went back (dev-node revert)
                self._events, self._events_next = [], 0
            if latest >= self._events_next:
                self._events.extend(self.core.events(from_block=self._events_next, to_block=latest))
                self._events_next = latest + 1
            cached = list(self._events)
        if round_id is None:
            return cached
        return [e for e in cached if e.args.get("roundId") == round_id]  # campaign events carry no roundId

    # ------------------------------------------------------------ permissionless transactions
    def settle(self, rid: int) -> bool:
        """`settle(rid)` from the gas payer; False when the chain refused (deadline not reached, settled...)."""
        with self.lock:
            try:
                self.payer.settle(rid)
            except ContractRevert as exc:
                log.debug("round %d: settle refused: %s", rid, exc)
                return False
            except TxFailed as exc:
                log.warning("round %d: settle failed: %s", rid, exc)
                return False
        return True
    # ------------------------------------------------------------ JSON-RPC pass-through
    def rpc(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer one JSON-RPC request object (already checked against RPC_ALLOWED)."""
        rid = payload.get("id")
        if self.chain.kind == "embedded":
            return self._rpc_embedded(payload["method"], payload.get("params", []), rid)
        return self._rpc_forward(payload)

    def _rpc_forward(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.chain.rpc_url
        if self._rpc_http is None:
            self._rpc_http = httpx.Client(timeout=60)
        try:
            resp = self._rpc_http.post(self.chain.rpc_url, json=payload)
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"jsonrpc": "2.0", "id": payload.get("id"), "error": {"code": -32603, "message": f"node unreachable: {exc}"}}

    def _rpc_embedded(self, method: str, params: Any, rid: Any) -> dict[str, Any]:
        from web3.middleware import combine_middleware
        from web3.providers.eth_tester.middleware import (
            default_transaction_fields_middleware,
            ethereum_tester_middleware,
        )

        with self.lock:
            if self._embedded_fn is None:
                w3 = self.chain.w3
                self._embedded_fn = combine_middleware(
                    middleware=(default_transaction_fields_middleware, ethereum_tester_middleware),
                    w3=w3, provider_request_fn=w3.provider.make_request,
                )
            try:
                if method == "eth_syncing":
                    return {"jsonrpc": "2.0", "id": rid, "result": False}
                if method == "net_version":
                    return {"jsonrpc": "2.0", "id": rid, "result": str(self.chain_id)}
                args = params if isinstance(params, list) else [params]
                if method in ("eth_call", "eth_estimateGas") and args and isinstance(args[0], dict):
                    # like geth and anvil, a call or a gas estimate does not check the sender's nonce (eth-tester does)
                    args = [{k: v for k, v in args[0].items() if k != "nonce"}, *args[1:]]
                response = self._embedded_fn(method, args)
            except Exception as exc:  # noqa: BLE001 - any node error becomes a JSON-RPC error object
                data = _revert_data(exc)
                if data is not None or type(exc).__name__ == "TransactionFailed":
                    error = {"code": 3, "message": "execution reverted", "data": data or "0x"}
                else:
                    error = {"code": -32602 if "Validation" in type(exc).__name__ else -32603,
                             "message": f"{type(exc).__name__}: {exc}"[:500]}
                return {"jsonrpc": "2.0", "id": rid, "error": error}
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        if "error" in response:
            err = response["error"]
            out["error"] = err if isinstance(err, dict) else {"code": -32603, "message": str(err)}
        else:
            out["result"] = _to_rpc_json(response.get("result"))
        return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _to_rpc_json(value: Any) -> Any:
    """eth-tester's Python values -> JSON-RPC wire values (quantities and data as 0x-hex)."""
    if isinstance(value, (bool, float)) or value is None:  # floats: eth_feeHistory's gasUsedRatio
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(str(k)): _to_rpc_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_rpc_json(v) for v in value]
    if hasattr(value, "hex") and callable(value.hex):
        h = value.hex()
        return h if h.startswith("0x") else "0x" + h
    return value


# ------------------------------------------------------------------ JSON views (from the ledger)
def config_json(cfg: Any) -> dict[str, Any]:
    """A campaign's IHCFL.Config: durations and bps as numbers, amounts as decimal strings, rules by name."""
    return {
        "join_duration": cfg.join_duration, "propose_duration": cfg.propose_duration,
        "commit_duration": cfg.commit_duration, "reveal_duration": cfg.reveal_duration,
        "train_duration": cfg.train_duration, "vote_commit_duration": cfg.vote_commit_duration,
        "vote_reveal_duration": cfg.vote_reveal_duration, "non_reveal_penalty_bps": cfg.non_reveal_penalty_bps,
        "non_reveal_penalty_floor": str(cfg.non_reveal_penalty_floor),
        "punish_threshold_bps": cfg.punish_threshold_bps, "pool_draw_bps": cfg.pool_draw_bps,
        "max_proposals_per_owner": cfg.max_proposals_per_owner,
        "payment_rule": RULE_NAMES[int(cfg.payment_rule)], "owner_share_rule": SHARE_NAMES[int(cfg.owner_share_rule)],
        "station_share_rule": SHARE_NAMES[int(cfg.station_share_rule)],
        "min_owner_deposit": str(cfg.min_owner_deposit), "min_station_deposit": str(cfg.min_station_deposit),
        "min_bond": str(cfg.min_bond), "max_price": str(cfg.max_price), "vote_deposit": str(cfg.vote_deposit),
    }


def round_summary(gw: ChainGateway, r: RoundRecord, phase: Phase | None = None) -> dict[str, Any]:
    ledger = gw.ledger()
    camp = ledger.campaigns[r.campaign_id]
    phase = gw.phase(r.round_id) if phase is None else phase
    s = r.settlement
    fin = r.finalization
    revealed_votes = [v for v in r.votes if v.revealed]
    return {
        "round_id": r.round_id, "campaign_id": r.campaign_id, "creator": camp.creator,
        "phase": PHASE_NAMES.get(phase, str(int(phase))), "phase_id": int(phase), "phase_end": gw.phase_end(r, phase),
        "join_end": r.join_end, "propose_end": r.propose_end, "commit_end": r.commit_end, "reveal_end": r.reveal_end,
        "owner_count": sum(1 for p in r.participants if p.role == Role.OWNER),
        "station_count": sum(1 for p in r.participants if p.role == Role.STATION),
        "revealed_owners": len(revealed_owners(r)), "revealed_stations": len(revealed_stations(r)),
        "proposal_count": r.k, "settled": s is not None, "selected_some": bool(s and s.selected and not s.unfunded),
        "selected": s.star if s is not None and s.selected and not s.unfunded else None,
        "unfunded": bool(s and s.unfunded),
        "total_payment": str(s.payment if s else 0), "owner_discount": str(s.owner_discount if s else 0),
        "station_bonus": str(s.station_bonus if s else 0), "escrow": str((s.payment + s.station_bonus) if s else 0),
        "seed": str(s.seed if s else 0), "finalized": fin is not None,
        "global_model_hash": hex32(fin.model_hash if fin else ZERO32),
        "achieved_acc_bps": fin.achieved_acc_bps if fin else 0,
        "scores_root": hex32(fin.scores_root if fin else ZERO32), "scores_total": str(fin.scores_total if fin else 0),
        "validation_hash": hex32(fin.validation_hash if fin else ZERO32),
        "training_closed_at": r.training_closed_at or 0, "objections": len(r.objections),
        "punished": bool(r.bond.punished) if r.bond is not None else False,
        "winner_failed": bool(r.bond.failed) if r.bond is not None else False,
        "punish_votes": sum(1 for v in revealed_votes if v.punish),
        "keep_votes": sum(1 for v in revealed_votes if not v.punish),
        "punish_weight": str(sum(v.weight for v in revealed_votes if v.punish)),
        "keep_weight": str(sum(v.weight for v in revealed_votes if not v.punish)),
        "owner_pool": str(camp.owner_pool), "station_pool": str(camp.station_pool),
        "cfg": config_json(camp.config),
    }


def participant_json(p: ParticipantRecord) -> dict[str, Any]:
    st = p.settlement
    return {
        "address": p.address, "role": {Role.OWNER: "owner", Role.STATION: "station"}.get(p.role, "none"),
        "status": p.status, "committed": p.committed, "revealed": p.revealed, "deposit": str(p.deposit),
        "reported_rounds": len(p.reports), "claims": [str(c) for c in (p.claims or ())],
        "claimed": st is not None,
        "payment": str(st.payment) if st else None, "tax": str(st.tax) if st else None,
        "penalty": str(st.penalty) if st else None, "refund": str(st.refund) if st else None,
        "reward": str(p.reward.reward) if p.reward else None,
        "credited": str(p.credited),
    }


def surplus(r: RoundRecord) -> list[int]:
    """S(m) = sum of revealed owners' capped claims - sum of revealed stations' (V2-RULES.md)."""
    out = [0] * r.k
    for p in r.participants:
        if p.revealed and p.claims is not None:
            sign = 1 if p.role == Role.OWNER else -1
            for m, c in enumerate(p.claims[: r.k]):
                out[m] += sign * int(c)
    return out


def round_detail(gw: ChainGateway, rid: int, known_spec: Callable[[str], bool]) -> dict[str, Any]:
    r = gw.record(rid)
    out = round_summary(gw, r)
    out["proposals"] = [
        {"index": i, "proposer": p.proposer, "spec_hash": hex32(p.spec_hash), "uri": p.uri, "arch_id": p.arch_id,
         "promised_acc_bps": p.promised_acc_bps, "global_rounds": p.global_rounds, "label_mask": int(p.label_mask),
         "bond": str(p.bond), "price": str(p.price), "spec_known": known_spec(hex32(p.spec_hash))}
        for i, p in enumerate(r.proposals)
    ]
    out["owners"] = [participant_json(p) for p in r.participants if p.role == Role.OWNER]
    out["stations"] = [participant_json(p) for p in r.participants if p.role == Role.STATION]
    out["surplus"] = [str(x) for x in surplus(r)]
    return out


class EventFormatter:
    """Event args as JSON: bytes as 0x-hex, integers of 32 bits or fewer (enums, bps, rounds) as numbers,
    wider integers (amounts, ids, seeds) as decimal strings, tuples (the round config) as objects."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.types: dict[str, dict[str, dict[str, Any]]] = {}
        for item in abi:
            if item.get("type") == "event":
                self.types[item["name"]] = {i["name"]: i for i in item["inputs"]}

    def value(self, spec: dict[str, Any] | None, v: Any) -> Any:
        t = (spec or {}).get("type", "")
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            if t.startswith("uint") or t.startswith("int"):
                bits = int(t.lstrip("uint") or 256)
                return int(v) if bits <= 32 else str(v)
            return int(v)  # enums
        if isinstance(v, (bytes, bytearray)):
            return "0x" + bytes(v).hex()
        if isinstance(v, (list, tuple)):
            if t.startswith("tuple") and spec is not None and not t.endswith("]"):
                comps = spec.get("components", [])
                return {c["name"]: self.value(c, x) for c, x in zip(comps, v)}
            inner = dict(spec or {}, type=t[: t.rfind("[")]) if t.endswith("]") else spec
            return [self.value(inner, x) for x in v]
        if isinstance(v, Mapping):
            comps = {c["name"]: c for c in (spec or {}).get("components", [])}
            return {k: self.value(comps.get(k), x) for k, x in v.items()}
        return v

    def event(self, ev: ChainEvent) -> dict[str, Any]:
        types = self.types.get(ev.name, {})
        return {
            "name": ev.name, "args": {k: self.value(types.get(k), v) for k, v in ev.args.items()},
            "block": ev.block_number, "tx_hash": ev.tx_hash, "log_index": ev.log_index,
        }


def funds(gw: ChainGateway) -> dict[str, Any]:
    """Per-account money flows from the ledger (paid in, settled, rewarded, credited, withdrawn)."""
    ledger = gw.ledger()
    per: dict[str, dict[str, int]] = {}
    for r in ledger.rounds.values():
        for p in r.participants:
            row = per.setdefault(p.address, {"payments": 0, "taxes": 0, "penalties": 0, "rewards": 0})
            if p.settlement is not None:
                row["payments"] += p.settlement.payment
                row["taxes"] += p.settlement.tax
                row["penalties"] += p.settlement.penalty
            if p.reward is not None:
                row["rewards"] += p.reward.reward
    with gw.lock:
        acc = gw.core.accounting()
        credit = {a: gw.core.credit_of(a) for a in ledger.accounts}
    accounts = []
    for addr in sorted(ledger.accounts):
        a = ledger.accounts[addr]
        extra = per.get(addr, {"payments": 0, "taxes": 0, "penalties": 0, "rewards": 0})
        accounts.append({
            "address": addr, "deposits": str(a.deposits), "bonds": str(a.bonds), "vote_deposits": str(a.vote_deposits),
            **{k: str(v) for k, v in extra.items()},
            "credits": str(a.credited), "withdrawn": str(a.withdrawn), "credit_balance": str(credit[addr]),
            "credits_by_reason": {CreditReason(k).name.lower(): str(v) for k, v in a.credits.items()},
        })
    campaigns = [{"campaign_id": c.campaign_id, "creator": c.creator, "rounds": list(c.round_ids),
                  "owner_pool": str(c.owner_pool), "station_pool": str(c.station_pool), "swept": str(c.swept)}
                 for c in ledger.campaigns.values()]
    return {
        "contract": gw.address, "balance": str(acc.balance),
        "accounting": {k: str(v) for k, v in acc.model_dump().items()}, "solvent": acc.balance >= acc.owed,
        "surplus": str(acc.balance - acc.owed), "campaigns": campaigns, "accounts": accounts,
    }


# ------------------------------------------------------------------ the deadline driver
class DeadlineDriver:
    """Every `poll` seconds: settle each round whose reveal deadline passed; on a dev chain mine a block once
    the wall clock passed a deadline (phases follow block timestamps); with `fast_forward` move the clock to
    the current phase's deadline once everybody expected has acted (module docstring)."""

    def __init__(self, gw: ChainGateway, poll: float = 2.0, fast_forward: bool = False,
                 on_tick: Callable[[], None] | None = None, quiet: float = 3.0) -> None:
        self.gw = gw
        self.poll = poll
        self.fast_forward = fast_forward and gw.chain.is_dev
        self.quiet = float(quiet)
        self.on_tick = on_tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_open = 0  # rounds below this id are known Finished
        self.last_phase: dict[int, Phase] = {}
        self._activity: dict[int, tuple[int, float]] = {}  # rid -> (joins + proposals seen, when it last changed)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hcfl-deadlines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the driver must survive node hiccups
                log.exception("deadline driver tick failed")
            if self.on_tick is not None:
                try:
                    self.on_tick()
                except Exception:  # noqa: BLE001
                    log.exception("training tick failed")
            self._stop.wait(self.poll)

    def tick(self) -> None:
        count = self.gw.round_count()
        all_finished = True
        for rid in range(self._first_open, count):
            phase = self.gw.phase(rid)
            r = self.gw.record(rid)
            if self.last_phase.get(rid) != phase:
                log.info("round %d: phase %s (ends %d)", rid, PHASE_NAMES.get(phase), self.gw.phase_end(r, phase))
                self.last_phase[rid] = phase
            if phase in (Phase.FINISHED, Phase.NONE):
                if all_finished:
                    self._first_open = rid + 1
                continue
            all_finished = False
            if phase == Phase.AWAITING_SETTLEMENT:
                self._settle(rid)
                continue
            end = self.gw.phase_end(r, phase)
            if self.fast_forward and phase != Phase.TRAINING and self._everyone_acted(r, phase):
                with self.gw.lock:
                    if self.gw.chain.now() <= end:
                        log.info("round %d: fast-forwarding %s to its deadline", rid, PHASE_NAMES.get(phase))
                        self.gw.chain.wait_until(end)
            if end and self.gw.deadline_passed(end) and phase == Phase.REVEALING:
                self._settle(rid)

    def _settle(self, rid: int) -> None:
        if self.gw.settle(rid):
            after = self.gw.phase(rid)
            log.info("round %d: settled -> %s", rid, PHASE_NAMES.get(after))
            self.last_phase[rid] = after

    def _quiet(self, r: RoundRecord, ready: bool) -> bool:
        """True once `ready` held and nothing new (join, proposal) arrived for `quiet` seconds."""
        seen = len(r.participants) + r.k
        last = self._activity.get(r.round_id)
        now = time.monotonic()
        if last is None or last[0] != seen:
            self._activity[r.round_id] = (seen, now)
            return False
        return ready and now - last[1] >= self.quiet

    def _everyone_acted(self, r: RoundRecord, phase: Phase) -> bool:
        parts = r.participants
        if phase == Phase.JOINING:
            roles = {p.role for p in parts}
            return self._quiet(r, Role.OWNER in roles and Role.STATION in roles)
        if phase == Phase.PROPOSING:
            return self._quiet(r, r.k > 0)
        if phase == Phase.COMMITTING:
            return bool(parts) and all(p.committed for p in parts)
        if phase == Phase.REVEALING:
            committed = [p for p in parts if p.committed]
            return bool(committed) and all(p.revealed for p in committed)
        if phase in (Phase.VOTE_COMMITTING, Phase.VOTE_REVEALING):
            winner = r.winner
            with self.gw.lock:
                voters = [a for a in revealed_owners(r) if a != winner and self.gw.core.vote_weight(r.round_id, a) > 0]
            voted = {v.voter for v in r.votes}
            if phase == Phase.VOTE_COMMITTING:
                return all(a in voted for a in voters)
            return all(v.revealed for v in r.votes)
        return False


def to_json_text(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))

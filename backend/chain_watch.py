"""The coordinator's view of the chain: a locked gateway around HCFLClient, the JSON-RPC pass-through,
JSON views of rounds/events/funds, and the deadline driver.

The embedded chain (eth-tester) is not thread-safe, and the HTTP handlers, the deadline driver and the
training worker all touch it, so every web3 call goes through `ChainGateway.lock`.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Callable

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from hcfl.chain.client import ChainEvent, ContractRevert, HCFLClient, Participant, TxFailed, _revert_data
from hcfl.chain.provider import Chain
from hcfl.chain.types import Phase, Role, RoundView

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
    Phase.REVEALING: "Revealing", Phase.TRAINING: "Training", Phase.VOTE_COMMITTING: "VoteCommitting",
    Phase.VOTE_REVEALING: "VoteRevealing", Phase.FINISHED: "Finished",
}
RULE_NAMES = {0: "paper-random", 1: "posted"}
SHARE_NAMES = {0: "equal", 1: "capability", 2: "contribution"}


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


class ChainGateway:
    """The one door to the chain: a lock, the typed client and the gas payer (advance/settle only)."""

    def __init__(self, chain: Chain, client: HCFLClient, gas_payer: LocalAccount) -> None:
        self.chain = chain
        self.client = client
        self.lock = threading.RLock()
        self.payer: Participant = client.as_participant(gas_payer)
        self._rpc_http: httpx.Client | None = None
        self._embedded_fn: Callable[[str, Any], Any] | None = None
        self.chain_id = client.chain_id
        self._events: list[ChainEvent] = []
        self._events_next = 0  # first block not yet in the event cache

    @property
    def address(self) -> str:
        return self.client.address

    def close(self) -> None:
        if self._rpc_http is not None:
            self._rpc_http.close()

    # ------------------------------------------------------------ reads
    def round_count(self) -> int:
        with self.lock:
            return self.client.round_count()

    def round(self, rid: int) -> RoundView:
        with self.lock:
            return self.client.round(rid)

    def block_number(self) -> int:
        with self.lock:
            return int(self.chain.w3.eth.block_number)

    def now(self) -> int:
        """The chain's clock as the next block will see it (never behind the wall clock on dev nodes)."""
        with self.lock:
            latest = self.chain.now()
        return max(latest, int(time.time()))

    def deadline_passed(self, deadline: int) -> bool:
        """True once a block past `deadline` exists, so `advance` cannot revert with DeadlineNotReached.
        A dev node mines only on transactions, so its latest block can lag the wall clock: once the wall
        clock has passed the deadline, mine an empty block to bring its clock up (no time travel)."""
        with self.lock:
            if self.chain.now() > deadline:
                return True
            # eth-tester stamps a block with the time its *predecessor* was mined, so it may take two
            for _ in range(2):
                if not (self.chain.is_dev and time.time() > deadline + 1):
                    break
                if self.chain.kind == "embedded":
                    self.chain._tester.mine_blocks(1)
                else:
                    self.chain.w3.provider.make_request("evm_mine", [])
                if self.chain.now() > deadline:
                    return True
        return False

    def revealed_members(self, rid: int) -> tuple[list[str], list[str]]:
        """Revealed owners and stations, each in join order."""
        with self.lock:
            owners, stations = self.client.members(rid)
            rev_o = [a for a in owners if self.client.participant(rid, a).revealed]
            rev_s = [a for a in stations if self.client.participant(rid, a).revealed]
        return rev_o, rev_s

    def participant(self, rid: int, address: str):
        with self.lock:
            return self.client.participant(rid, address)

    def proposals(self, rid: int):
        with self.lock:
            return self.client.proposals(rid)

    def events(self, round_id: int | None = None) -> list[ChainEvent]:
        """All contract events (optionally one round's), from a cache that only fetches new blocks: the
        read API, funds and audit would otherwise rescan the whole log history on every request."""
        with self.lock:
            latest = int(self.chain.w3.eth.block_number)
            if latest + 1 < self._events_next:  # the chain went back (dev-node revert): start over
                self._events, self._events_next = [], 0
            if latest >= self._events_next:
                self._events.extend(self.client.events(from_block=self._events_next, to_block=latest))
                self._events_next = latest + 1
            cached = list(self._events)
        if round_id is None:
            return cached
        return [e for e in cached if e.args.get("roundId", round_id) == round_id]

    # ------------------------------------------------------------ permissionless transactions
    def advance(self, rid: int, phase: Phase) -> bool:
        """`settle` in Revealing, `advance` otherwise; False when the chain refused (deadline not reached...)."""
        fn = "settle" if phase == Phase.REVEALING else "advance"
        with self.lock:
            try:
                self.payer.transact(fn, rid)
            except ContractRevert as exc:
                log.debug("round %d: %s refused: %s", rid, fn, exc)
                return False
            except TxFailed as exc:
                log.warning("round %d: %s failed: %s", rid, fn, exc)
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
                response = self._embedded_fn(method, params if isinstance(params, list) else [params])
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
    if isinstance(value, bool) or value is None:
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


# ------------------------------------------------------------------ JSON views
def round_summary(v: RoundView) -> dict[str, Any]:
    cfg = v.cfg
    return {
        "round_id": v.round_id, "phase": PHASE_NAMES.get(v.phase, str(int(v.phase))), "phase_id": int(v.phase),
        "phase_end": int(v.phase_end), "creator": v.creator, "owner_count": v.owner_count,
        "station_count": v.station_count, "proposal_count": v.proposal_count, "settled": v.settled,
        "selected_some": v.selected_some, "selected": v.selected_index, "unfunded": v.unfunded,
        "total_payment": str(v.total_payment), "seed": str(v.seed), "escrow": str(v.escrow), "finalized": v.finalized,
        "global_model_hash": hex32(v.global_model_hash), "achieved_acc_bps": v.achieved_acc_bps,
        "punished": v.punished, "punish_votes": v.punish_votes, "keep_votes": v.keep_votes,
        "cfg": {
            "join_duration": cfg.join_duration, "propose_duration": cfg.propose_duration,
            "commit_duration": cfg.commit_duration, "reveal_duration": cfg.reveal_duration,
            "train_duration": cfg.train_duration, "vote_commit_duration": cfg.vote_commit_duration,
            "vote_reveal_duration": cfg.vote_reveal_duration, "non_reveal_penalty_bps": cfg.non_reveal_penalty_bps,
            "punish_threshold_bps": cfg.punish_threshold_bps, "payment_rule": RULE_NAMES[int(cfg.payment_rule)],
            "owner_share_rule": SHARE_NAMES[int(cfg.owner_share_rule)],
            "station_share_rule": SHARE_NAMES[int(cfg.station_share_rule)], "min_bond": str(cfg.min_bond),
        },
    }


def participant_json(p: Any) -> dict[str, Any]:
    return {
        "address": p.address, "role": {Role.OWNER: "owner", Role.STATION: "station"}.get(p.role, "none"),
        "committed": p.committed, "revealed": p.revealed, "deposit": str(p.deposit), "capability": str(p.capability),
        "reported_rounds": int(p.reported_rounds), "claims": [str(c) for c in p.claims],
    }


def round_detail(gw: ChainGateway, rid: int, known_spec: Callable[[str], bool]) -> dict[str, Any]:
    with gw.lock:
        view = gw.client.round(rid)
        props = gw.client.proposals(rid)
        owners, stations = gw.client.members(rid)
        owner_views = [gw.client.participant(rid, a) for a in owners]
        station_views = [gw.client.participant(rid, a) for a in stations]
        surplus, scores = gw.client.outcome(rid)
    out = round_summary(view)
    out["proposals"] = [
        {"index": i, "proposer": p.proposer, "spec_hash": hex32(p.spec_hash), "uri": p.uri, "arch_id": p.arch_id,
         "promised_acc_bps": p.promised_acc_bps, "global_rounds": p.global_rounds, "label_mask": int(p.label_mask),
         "bond": str(p.bond), "posted_price": str(p.posted_price), "spec_known": known_spec(hex32(p.spec_hash))}
        for i, p in enumerate(props)
    ]
    out["owners"] = [participant_json(p) for p in owner_views]
    out["stations"] = [participant_json(p) for p in station_views]
    out["surplus"] = [str(s) for s in surplus]
    out["scores"] = [str(s) for s in scores]
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
    """Per-account money flows, summed from the contract's events."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ev in gw.events():
        a = ev.args
        if ev.name == "Joined":
            rows[a["account"]]["deposits"] += int(a["deposit"])
        elif ev.name == "Proposed":
            rows[a["proposer"]]["bonds"] += int(a["bond"])
        elif ev.name == "ParticipantSettled":
            rows[a["account"]]["payments"] += int(a["payment"])
            rows[a["account"]]["taxes"] += int(a["tax"])
        elif ev.name == "NonRevealPenalized":
            rows[a["account"]]["penalties"] += int(a["penalty"])
        elif ev.name == "StationRewarded":
            rows[a["station"]]["rewards"] += int(a["reward"])
        elif ev.name == "Credited":
            rows[a["account"]]["credits"] += int(a["amount"])
        elif ev.name == "Withdrawn":
            rows[a["account"]]["withdrawn"] += int(a["amount"])
    with gw.lock:
        acc = gw.client.accounting()
        balance = gw.client.balance()
        credit = {addr: gw.client.credit_of(addr) for addr in rows}
    accounts = []
    for addr in sorted(rows):
        r = rows[addr]
        accounts.append({"address": to_checksum_address(addr), **{k: str(v) for k, v in r.items()},
                         "credit_balance": str(credit[addr])})
    return {
        "contract": gw.address, "balance": str(balance),
        "accounting": {k: str(v) for k, v in acc.model_dump().items()}, "solvent": acc.total == balance,
        "accounts": accounts,
    }


# ------------------------------------------------------------------ the deadline driver
class DeadlineDriver:
    """Every `poll` seconds: advance (or settle) each unfinished round whose phase deadline has passed.

    With `fast_forward` on a dev chain it also moves the chain's clock to the deadline of a commit,
    reveal or vote phase once everybody who can act in it has acted (for demos; never Joining,
    Proposing or Training, whose participants nobody can predict)."""

    def __init__(self, gw: ChainGateway, poll: float = 2.0, fast_forward: bool = False,
                 on_tick: Callable[[], None] | None = None) -> None:
        self.gw = gw
        self.poll = poll
        self.fast_forward = fast_forward and gw.chain.is_dev
        self.on_tick = on_tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_open = 0  # rounds below this id are known Finished
        self.last_phase: dict[int, Phase] = {}

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
            view = self.gw.round(rid)
            if self.last_phase.get(rid) != view.phase:
                log.info("round %d: phase %s (ends %d)", rid, PHASE_NAMES.get(view.phase), view.phase_end)
                self.last_phase[rid] = view.phase
            if view.phase in (Phase.FINISHED, Phase.NONE):
                if all_finished:
                    self._first_open = rid + 1
                continue
            all_finished = False
            if self.fast_forward and self._everyone_acted(rid, view):
                with self.gw.lock:
                    if self.gw.chain.now() <= view.phase_end:
                        log.info("round %d: fast-forwarding %s to its deadline", rid, PHASE_NAMES.get(view.phase))
                        self.gw.chain.wait_until(view.phase_end)
            if self.gw.deadline_passed(view.phase_end):
                if self.gw.advance(rid, view.phase):
                    after = self.gw.round(rid)
                    log.info("round %d: %s -> %s", rid, PHASE_NAMES.get(view.phase), PHASE_NAMES.get(after.phase))
                    self.last_phase[rid] = after.phase

    def _everyone_acted(self, rid: int, view: RoundView) -> bool:
        if view.phase not in (Phase.COMMITTING, Phase.REVEALING, Phase.VOTE_COMMITTING, Phase.VOTE_REVEALING):
            return False
        with self.gw.lock:
            owners, stations = self.gw.client.members(rid)
            parts = [self.gw.client.participant(rid, a) for a in owners + stations]
            if view.phase == Phase.COMMITTING:
                return bool(parts) and all(p.committed for p in parts)
            if view.phase == Phase.REVEALING:
                committed = [p for p in parts if p.committed]
                return bool(committed) and all(p.revealed for p in committed)
            winner = self.gw.client.proposals(rid)[view.selected].proposer
            voters = [p.address for p in parts if p.role == Role.OWNER and p.revealed and p.address != winner]
            votes = [self.gw.client.call("getVote", rid, a) for a in voters]
            if view.phase == Phase.VOTE_COMMITTING:
                return all(v[0] != b"\x00" * 32 for v in votes)
            return all(v[0] == b"\x00" * 32 or v[1] for v in votes)


def to_json_text(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))

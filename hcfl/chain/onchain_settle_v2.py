"""Runs a v2 campaign (hcfl.mechanism.v2.Campaign, the input of `hcfl settle --rules v2`) through the real
v2 contracts: one key per participant id, every round through every phase, every account claimed for.

`hcfl settle --rules v2 --on-chain` prints what this returns: the reference's keys as far as the chain
records them (hcfl.ledger.outcome), read back from the event ledger, plus gas per function.

On dev chains the runner controls the clock: it fast-forwards to each deadline instead of racing one, so
a round's size is bounded only by its windows (the embedded chain and anvil move their clock >= 1 s per
block, one transaction per block: 1,000 joins need a join window of >= 1,000 s; the runner says so
before it starts a phase that cannot fit). On another chain (a URL) it waits for the real deadlines.
"""
from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from hcfl.chain.accounts import funded_keys
from hcfl.chain.provider import Chain, connect
from hcfl.chain.v2.client import CoreClient, ParticipantV2
from hcfl.ledger.bridge import chain_config
from hcfl.ledger.fetch import LedgerFetcher
from hcfl.ledger.outcome import campaign_outcome
from hcfl.mechanism.v2.models import Campaign, Round
from hcfl.merkle import MerkleTree
from hcfl.protocol import Phase, Role, commitments

log = logging.getLogger(__name__)

TX_GAS_CAP = 16_777_216  # EIP-7825: no transaction may need more
SCORE_TYPES = ("address", "uint256", "uint256")


class OnChainError(RuntimeError):
    """The instance cannot run on this chain as given (a clear message, nothing half-explained)."""


@dataclass
class V2Session:
    """A deployed HCFLCore (+ lens) and funded keys, reused across campaigns."""

    chain: Chain
    core: CoreClient
    namespace: str = field(default_factory=lambda: secrets.token_hex(4))
    _keys: dict[str, LocalAccount] = field(default_factory=dict)
    _own_chain: bool = False

    @classmethod
    def open(cls, chain: str | Chain = "embedded") -> "V2Session":
        own = isinstance(chain, str)
        c = connect(chain) if isinstance(chain, str) else chain
        return cls(chain=c, core=CoreClient.deploy(c), _own_chain=own)

    def keys(self, needs: dict[str, int]) -> dict[str, LocalAccount]:
        """One funded key per label, each able to pay `needs[label]` wei plus gas."""
        return funded_keys(self.chain, f"hcfl-settle-v2-{self.namespace}", needs, self._keys)

    def close(self) -> None:
        if self._own_chain:
            self.chain.close()


class _Sender:
    """Sends a phase's transactions: batched into full blocks on the embedded chain, one by one elsewhere;
    checks every receipt and adds its gas to the per-function totals."""

    def __init__(self, s: V2Session, progress: Callable[[str], None] | None = None) -> None:
        self.s = s
        self.progress = progress or (lambda _fn: None)
        self.receipts: list[Any] = []
        self.gas: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "count": 0, "max": 0})
        self._limit: dict[str, int] = {}

    def _track(self, fn: str, receipt: Any) -> Any:
        self.receipts.append(receipt)
        self.progress(fn)
        g = int(receipt["gasUsed"])
        row = self.gas[fn]
        row["total"] += g
        row["count"] += 1
        row["max"] = max(row["max"], g)
        return receipt

    def _gas_for(self, who: ParticipantV2, fn: str, args: tuple, value: int) -> int:
        """Twice the estimate of the phase's first call (at least 300k), capped at the tx gas cap."""
        if fn not in self._limit:
            call = getattr(self.s.core.contract.functions, fn)(*args)
            try:
                est = int(call.estimate_gas({"from": who.address, "value": int(value)}))
            except Exception as exc:  # noqa: BLE001 - show the contract's own error
                from hcfl.chain.client import _revert_data

                raise self.s.core.errors.decode(_revert_data(exc)) from exc
            self._limit[fn] = min(TX_GAS_CAP, max(300_000, 2 * est))
        return self._limit[fn]

    def send(self, calls: Sequence[tuple[ParticipantV2, str, tuple, int]], deadline: int | None = None) -> list[Any]:
        """Send (participant, function, args, value) calls in this order, each waiting for its receipt;
        returns the receipts. With a `deadline` on a dev chain, first checks that the calls fit before it
        (a dev chain mines one block per transaction and its clock moves >= 1 s per block)."""
        if not calls:
            return []
        chain = self.s.chain
        if deadline is not None and chain.is_dev:
            room = deadline - chain.now()
            if len(calls) > room:
                raise OnChainError(
                    f"{len(calls)} {calls[0][1]} transactions cannot be mined before the deadline {deadline} "
                    f"({room} s away): a dev chain moves its clock >= 1 s per block; lengthen that duration")
        self._limit.clear()
        out = []
        for who, fn, args, value in calls:
            out.append(self._track(fn, who.transact(fn, *args, value=value, gas=self._gas_for(who, fn, args, value))))
        return out


def _salt(pid: str, given: str | None, round_index: int, nonce: str) -> bytes:
    if given is not None:
        return bytes.fromhex(given[2:])
    return keccak(text=f"hcfl-settle-v2/{nonce}/{round_index}/{pid}")


def _needs(campaign: Campaign) -> dict[str, int]:
    need: dict[str, int] = defaultdict(int)
    vd = campaign.config.vote_deposit
    for rnd in campaign.rounds:
        for p in rnd.participants:
            need[p.id] += p.deposit + vd
        for prop in rnd.proposals:
            need[prop.proposer] += prop.bond
    need["__creator__"] += 0
    return dict(need)


def expected_transactions(campaign: Campaign) -> int:
    """About how many transactions `settle_campaign_on_chain` sends (for progress bars)."""
    n = 1
    for rnd in campaign.rounds:
        people = len(rnd.participants)
        n += 2 + people * 4 + rnd.k + len(rnd.votes) * 2
        if rnd.training is not None:
            n += sum(rnd.training.reported.values()) + 2 + people
    return n


def settle_campaign_on_chain(campaign: Campaign, chain: str | Chain = "embedded", *,
                             session: V2Session | None = None,
                             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run `campaign` on a chain; returns the ledger's outcome (reference keys) plus `gas`.
    `progress` is called with the function name after every mined transaction."""
    own = session is None
    session = session or V2Session.open(chain)
    try:
        return _run(campaign, session, progress or (lambda _msg: None))
    finally:
        if own:
            session.close()


def _run(campaign: Campaign, s: V2Session, progress: Callable[[str], None]) -> dict[str, Any]:
    if campaign.owner_pool or campaign.station_pool:
        raise OnChainError(
            f"a new campaign's pools start empty on chain; the input asks for owner_pool={campaign.owner_pool}, "
            f"station_pool={campaign.station_pool} (pools only fill from the campaign's own rounds)")
    core, chain = s.core, s.chain
    fetcher = LedgerFetcher(core, from_block=int(chain.w3.eth.block_number) + 1)
    keys = s.keys(_needs(campaign))
    who = {label: core.as_participant(k) for label, k in keys.items()}
    names = {p.address: label for label, p in who.items()}
    creator = who["__creator__"]
    tx = _Sender(s, progress)
    cfg = campaign.config
    cid = creator.create_campaign(chain_config(cfg))
    tx._track("createCampaign", creator.last_receipt)
    nonce = secrets.token_hex(4)
    for i, rnd in enumerate(campaign.rounds):
        _round(s, tx, who, creator, cid, rnd, i, nonce)
    # the embedded chain's eth_getLogs scans every block per transaction (quadratic in the chain's length):
    # there the ledger folds the receipts of every transaction this run sent (nobody else uses this chain)
    ledger = fetcher.ingest(tx.receipts) if chain.kind == "embedded" else fetcher.sync()
    out = campaign_outcome(ledger, cid, names)
    out["contract"] = core.address
    out["chain"] = chain.kind
    out["gas"] = {fn: dict(v) for fn, v in tx.gas.items()}
    return out


def _round(s: V2Session, tx: _Sender, who: dict[str, ParticipantV2], creator: ParticipantV2, cid: int, rnd: Round,
           index: int, nonce: str) -> None:
    core, chain = s.core, s.chain
    rid = creator.open_round(cid)
    tx._track("openRound", creator.last_receipt)
    tx.send([(who[p.id], "join", (rid, int(Role.OWNER if p.role == "owner" else Role.STATION)), p.deposit)
             for p in rnd.participants], deadline=core.round(rid).join_end)
    r = core.round(rid)
    chain.wait_until(r.join_end)
    tx.send([(who[pr.proposer], "propose",
              (rid, m.to_bytes(32, "big"), "", 0, 5000,
               rnd.training.t if rnd.training is not None else 1, 1, pr.price), pr.bond)
             for m, pr in enumerate(rnd.proposals)], deadline=r.propose_end)
    chain.wait_until(r.propose_end)
    if rnd.k == 0:
        # no proposal: the round is finished; everyone is refunded by a claim
        tx.send([(creator, "claim", (rid, who[p.id].address), 0) for p in rnd.participants])
        return
    salts = {p.id: _salt(p.id, p.salt, index, nonce) for p in rnd.participants if p.status != "joined"}
    claims = {p.id: list(p.claims or [0] * rnd.k) for p in rnd.participants}
    tx.send([(who[p.id], "commit", (rid, commitments.claims_commitment(rid, who[p.id].address, claims[p.id],
                                                                       salts[p.id])), 0)
             for p in rnd.participants if p.status != "joined"], deadline=r.commit_end)
    chain.wait_until(r.commit_end)
    by_id = {p.id: p for p in rnd.participants}
    order = rnd.reveal_order if rnd.reveal_order is not None else [p.id for p in rnd.participants if p.revealed]
    tx.send([(who[i], "reveal", (rid, claims[i], salts[i]), 0) for i in order], deadline=r.reveal_end)
    chain.wait_until(r.reveal_end)
    tx.send([(creator, "settle", (rid,), 0)])
    tx.send([(creator, "claim", (rid, who[p.id].address), 0) for p in rnd.participants])
    r = core.round(rid)
    if not r.selected:
        return
    _train_and_vote(s, tx, who, creator, rid, rnd, by_id)


def _train_and_vote(s: V2Session, tx: _Sender, who: dict[str, ParticipantV2], creator: ParticipantV2, rid: int,
                    rnd: Round, by_id: dict) -> None:
    core, chain = s.core, s.chain
    tr = rnd.training
    if tr is None:
        raise OnChainError(f"round {rid}: a proposal was selected, so the round needs a training outcome")
    r = core.round(rid)
    winner = who[rnd.proposals[r.star].proposer]
    t = r.proposals[r.star].global_rounds
    reports = []
    for sid, n in tr.reported.items():
        for g in range(min(n, t)):
            reports.append((who[sid], "reportTraining",
                            (rid, g, keccak(text=f"update/{rid}/{sid}/{g}"), 100, 5000, b"\x07" * 32), 0))
    tx.send(reports)
    tree = None
    if tr.finalized:
        root, total = b"\0" * 32, 0
        if tr.scores is not None and tr.scores.leaves:
            tree = MerkleTree.build(SCORE_TYPES, [(who[leaf.station].address, leaf.score, leaf.prefix_before)
                                                  for leaf in tr.scores.leaves])
            root, total = tree.root, tr.scores.total
        elif tr.scores is not None:
            total = tr.scores.total
        tx.send([(winner, "finalizeTraining", (rid, keccak(text=f"model/{rid}"), 5000, root, total,
                                               keccak(text=f"validation/{rid}")), 0)])
        if tr.objections:  # the first objection switches the split to Equal; later ones would revert
            tx.send([(who[tr.objections[0]], "objectScores", (rid,), 0)])
    r = core.round(rid)
    if core.state(rid) == Phase.TRAINING:
        chain.wait_until(r.train_end)
    r = core.round(rid)
    if tr.finalized:
        vd = core.campaign(r.campaign_id).cfg.vote_deposit
        vsalt = {v.voter: keccak(text=f"vote/{rid}/{v.voter}") for v in rnd.votes}
        tx.send([(who[v.voter], "commitVote",
                  (rid, commitments.vote_commitment(rid, who[v.voter].address, v.punish, vsalt[v.voter])), vd)
                 for v in rnd.votes])
        closed = r.train_closed_at or r.train_end
        c = core.campaign(r.campaign_id).cfg
        chain.wait_until(closed + c.vote_commit_duration)
        tx.send([(who[v.voter], "revealVote", (rid, v.punish, vsalt[v.voter]), 0) for v in rnd.votes if v.revealed])
        chain.wait_until(closed + c.vote_commit_duration + c.vote_reveal_duration)
    assert core.state(rid) == Phase.FINISHED, core.state(rid)
    leaves = {leaf.station: (leaf.score, leaf.prefix_before) for leaf in (tr.scores.leaves if tr.scores else [])}
    contribution = (tree is not None and not tr.objections and tr.scores is not None and tr.scores.total > 0)
    final: list[tuple[Any, str, tuple[Any, ...], int]] = []
    for p in rnd.participants:
        addr = who[p.id].address
        if p.role == "owner":
            final.append((creator, "claim", (rid, addr), 0))
        elif p.revealed:
            if contribution:
                if p.id not in leaves:
                    continue  # no leaf: nothing to prove (its part of E stays unassigned)
                idx = [leaf.station for leaf in tr.scores.leaves].index(p.id)  # type: ignore[union-attr]
                score, prefix = leaves[p.id]
                final.append((creator, "claimWithScore", (rid, addr, score, prefix, tree.proof(idx)), 0))  # type: ignore[union-attr]
            else:
                final.append((creator, "claim", (rid, addr), 0))
    tx.send(final)

"""Runs a claims instance through the real contracts: one key per participant, deposits, sealed commit,
reveal, settle, and (to read the stations' reward shares) the training and payout phases.

`hcfl settle --on-chain` prints what this returns; the differential test compares it with
`hcfl.mechanism.settle`. Every number in the result is read back from the chain's events.
"""
from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from hcfl.protocol import commitments
from hcfl.chain.accounts import derive_key, fund
from hcfl.chain.client import HCFLClient, Participant
from hcfl.chain.provider import Chain, connect
from hcfl.chain.types import (
    PAYMENT_RULE_NAMES,
    SHARE_RULE_NAMES,
    Phase,
    ProposalSpec,
    Role,
    RoundConfig,
)
from hcfl.mechanism.models import Instance

log = logging.getLogger(__name__)

TX_GAS = 3_000_000  # explicit limits skip gas estimation (halves the embedded chain's work)
SETTLE_GAS = 29_000_000
GAS_MONEY = 10**19  # 10 ETH of gas money per key on dev chains (gas price 1 gwei)


def funded_keys(chain: Chain, namespace: str, needs: dict[str, int], cache: dict[str, LocalAccount]) -> dict[str, LocalAccount]:
    """One deterministic key per label (cached in `cache`), each topped up to `needs[label]` + gas money
    (shared by the v1 and v2 on-chain runners)."""
    w3 = chain.w3
    low: dict[int, list[str]] = {}
    out: dict[str, LocalAccount] = {}
    for label, spend in needs.items():
        key = cache.get(label)
        if key is None:
            key = cache[label] = derive_key(label, namespace=namespace)
        out[label] = key
        need = spend + GAS_MONEY
        if w3.eth.get_balance(key.address) < need:
            low.setdefault(need, []).append(key.address)
    for need, addresses in low.items():
        fund(chain, addresses, need)
    return out


@dataclass
class OnChainSession:
    """A deployed contract and a pool of funded keys, reused across instances (rounds)."""

    chain: Chain
    client: HCFLClient
    namespace: str = field(default_factory=lambda: secrets.token_hex(4))
    _keys: list[LocalAccount] = field(default_factory=list)
    _cache: dict[str, LocalAccount] = field(default_factory=dict)
    _own_chain: bool = False

    @classmethod
    def open(cls, chain: str | Chain = "embedded") -> "OnChainSession":
        own = isinstance(chain, str)
        c = connect(chain) if isinstance(chain, str) else chain
        return cls(chain=c, client=HCFLClient.deploy(c), _own_chain=own)

    def keys(self, n: int, spend: int) -> list[LocalAccount]:
        """n funded keys, each able to deposit `spend` wei and pay its gas."""
        got = funded_keys(self.chain, f"hcfl-settle-{self.namespace}", {f"slot-{i}": spend for i in range(n)},
                          self._cache)
        self._keys = [got[f"slot-{i}"] for i in range(n)]
        return self._keys

    def close(self) -> None:
        if self._own_chain:
            self.chain.close()


def _default_deposit(instance: Instance) -> int:
    """Large enough that no cap and no affordability bound binds (the reference's "unbounded")."""
    total = sum(sum(p.claims) for p in [*instance.owners, *instance.stations])
    return total + sum(instance.posted_prices or [0]) + 2


def settle_on_chain(instance: Instance, chain: str = "embedded", *, session: OnChainSession | None = None) -> dict[str, Any]:
    """Settle `instance` on a chain; returns the settlement keys of `hcfl settle` plus `gas`."""
    own = session is None
    session = session or OnChainSession.open(chain)
    try:
        return _run(instance, session)
    finally:
        if own:
            session.close()


def _run(instance: Instance, s: OnChainSession) -> dict[str, Any]:
    client, chain = s.client, s.chain
    k = instance.k
    pools = client.accounting()
    if (instance.owner_pool, instance.station_pool) != (pools.owner_pool, pools.station_pool) and client.round_count() == 0:
        raise ValueError(
            f"the contract's recycle pools start empty; the instance asks for owner_pool={instance.owner_pool}, "
            f"station_pool={instance.station_pool}"
        )
    people = [*instance.owners, *instance.stations]
    # slot 0 posts proposals unless the instance names proposers; it joins as an owner and never commits
    deposit_default = _default_deposit(instance)
    biggest = max([p.deposit or deposit_default for p in people] + [1])
    bonds = sum(p.bond for p in instance.proposals or [])
    keys = s.keys(len(people) + 1, biggest + bonds + 1)
    proposer_key, part_keys = keys[0], keys[1:]
    by_id: dict[str, Participant] = {p.id: client.as_participant(key) for p, key in zip(people, part_keys)}
    id_of = {by_id[p.id].address: p.id for p in people}
    gas: dict[str, int] = defaultdict(int)

    def track(name: str, receipt: Any) -> Any:
        gas[name] += int(receipt["gasUsed"])
        return receipt

    station_rule = instance.station_share_rule or instance.share_rule
    cfg = RoundConfig(
        non_reveal_penalty_bps=instance.non_reveal_penalty_bps,
        payment_rule=PAYMENT_RULE_NAMES[instance.payment_rule],
        owner_share_rule=SHARE_RULE_NAMES[instance.share_rule],
        station_share_rule=SHARE_RULE_NAMES[station_rule],
    )
    host = client.as_participant(proposer_key)
    rid = host.create_round(cfg)
    track("createRound", host.last_receipt)

    def next_phase() -> Any:
        chain.wait_until(client.round(rid).phase_end)
        return track("advance", host.transact("advance", rid, gas=SETTLE_GAS))

    needs_host = instance.proposals is None
    if needs_host:
        track("join", host.transact("join", rid, int(Role.OWNER), 1, value=1, gas=TX_GAS))
    for p in instance.owners:
        track("join", by_id[p.id].transact("join", rid, int(Role.OWNER), p.capability, value=p.deposit or deposit_default, gas=TX_GAS))
    for p in instance.stations:
        track("join", by_id[p.id].transact("join", rid, int(Role.STATION), p.capability, value=p.deposit or deposit_default, gas=TX_GAS))
    next_phase()
    prices = instance.posted_prices or [0] * k
    proposers: list[Participant] = []
    for m in range(k):
        if instance.proposals is not None:
            proposer = by_id[instance.proposals[m].proposer]
            bond = max(1, instance.proposals[m].bond)
        else:
            proposer, bond = host, 1
        spec = ProposalSpec(spec_hash=m.to_bytes(32, "big"), promised_acc_bps=5000, global_rounds=1,
                            label_mask=1, posted_price=prices[m])
        track("propose", proposer.transact(
            "propose", rid, spec.spec_hash, spec.uri, spec.arch_id, spec.promised_acc_bps, spec.global_rounds,
            spec.label_mask, spec.posted_price, value=bond, gas=TX_GAS))
        proposers.append(proposer)
    next_phase()
    salts: dict[str, bytes] = {}
    for p in people:
        if p.status == "joined":
            continue
        salts[p.id] = commitments.new_salt()
        commitment = commitments.claims_commitment(rid, by_id[p.id].address, p.claims, salts[p.id])
        track("commit", by_id[p.id].transact("commit", rid, commitment, gas=TX_GAS))
    next_phase()
    for p in people:
        if p.status == "revealed":
            track("reveal", by_id[p.id].transact("reveal", rid, list(p.claims), salts[p.id], gas=TX_GAS))
    chain.wait_until(client.round(rid).phase_end)
    settle_receipt = track("settle", host.transact("settle", rid, gas=SETTLE_GAS))
    settled = _events(client, settle_receipt, rid)
    head = settled["RoundSettled"][0]
    selected = int(head["selected"]) if head["selectedSome"] else None
    result: dict[str, Any] = {
        "round_id": rid,
        "contract": client.address,
        "payment_rule": instance.payment_rule,
        "k": k,
        "surplus": [int(x) for x in head["surplus"]],
        "selected": selected,
        "unfunded": bool(head["unfunded"]),
        "seed": int(head["seed"]),
        "total_payment": int(head["totalPayment"]) if selected is not None else None,
        "taxes": {id_of[e["account"]]: int(e["tax"]) for e in settled["ParticipantSettled"]},
        "owner_payments": {id_of[e["account"]]: int(e["payment"]) for e in settled["ParticipantSettled"]
                           if e["role"] == int(Role.OWNER)},
        "penalties": {id_of[e["account"]]: int(e["penalty"]) for e in settled["NonRevealPenalized"]},
        # shares held in escrow; read from StationRewarded after training when a model was selected
        "station_rewards": {id_of[e["account"]]: 0 for e in settled["ParticipantSettled"] if e["role"] == int(Role.STATION)},
    }
    pools_evt = settled["PoolsUpdated"][0]
    result["owner_discount"] = int(pools_evt["ownerDiscount"])
    result["station_bonus"] = int(pools_evt["stationBonus"])
    result["pools_after"] = {"owner_pool": int(pools_evt["ownerPool"]), "station_pool": int(pools_evt["stationPool"])}
    if selected is not None:
        result["station_rewards"] = _train_and_finish(client, chain, rid, instance, by_id, proposers[selected], track, next_phase, id_of)
    result["gas"] = dict(gas)
    return result


def _train_and_finish(client, chain, rid, instance, by_id, winner, track, next_phase, id_of) -> dict[str, int]:
    """Every revealed station reports the single global round, the winner finalizes with equal scores,
    nobody votes; the StationRewarded events then carry each station's share of the escrow."""
    revealed_stations = [p for p in instance.stations if p.status == "revealed"]
    for p in revealed_stations:
        track("reportTraining", by_id[p.id].transact("reportTraining", rid, 0, b"\x01" * 32, 1, 5000, gas=TX_GAS))
    track("finalizeTraining", winner.transact("finalizeTraining", rid, b"\x02" * 32, 5000, [1] * len(revealed_stations), gas=TX_GAS))
    next_phase()
    receipt = next_phase()
    assert client.round(rid).phase == Phase.FINISHED
    events = _events(client, receipt, rid)
    return {id_of[e["station"]]: int(e["share"]) for e in events["StationRewarded"]}


def _events(client: HCFLClient, receipt: Any, rid: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name in ("RoundSettled", "ParticipantSettled", "NonRevealPenalized", "PoolsUpdated", "StationRewarded"):
        for ev in getattr(client.contract.events, name)().process_receipt(receipt):
            if ev["args"].get("roundId", rid) == rid:
                out[name].append(dict(ev["args"]))
    return out

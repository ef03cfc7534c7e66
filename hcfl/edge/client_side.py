"""An edge client's side of being paid (issue 10): check the station's announced rule against the chain,
seal and open its cost claim, estimate its payout before training, and claim its amount by Merkle proof.

The station serves (fl_worker.edge_pay):
    GET /edge/pay/current, /edge/pay/{rid}     the rule's JSON, its hash, round key, the expected station
                                               reward (budget_wei, an estimate once training starts), claim windows,
                                               the leader's parameters once the claims are revealed
    GET /edge/pay/{rid}/proof/{address}        {amount, proof, root} after the payouts are posted
Nothing the station says is trusted: the rule must hash to what the station announced on EdgePayouts, and
the proof must lead to the root posted there (the claim transaction checks it again).
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field

from hcfl.chain.client import ContractRevert, TxFailed
from hcfl.chain.edge_payouts import EdgePayoutsClient
from hcfl.edge import ifedcrowd
from hcfl.edge.claims import PARAM_COUNT, edge_claim_commitment, to_fixed
from hcfl.edge.rule import EdgeRewardRule

log = logging.getLogger("hcfl.edge_client.pay")

REVEAL_GAS = 200_000  # revealCostClaim with MAX_COST_PARAMS parameters stays far below it


class PayError(Exception):
    """The station's rule or payout does not agree with the chain (or the client cannot take part)."""


class PayInfo(BaseModel):
    """The station's announcement as served on /edge/pay/{rid}."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    station: str
    contract: str
    round_id: int = Field(ge=0)
    round_key: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    rule: EdgeRewardRule
    rule_hash: str
    budget_wei: int = Field(ge=0)
    commit_deadline: int = 0
    reveal_deadline: int = 0
    derived: dict[str, Any] = {}
    claims: dict[str, list[str]] = {}
    status: str = "announced"

    @property
    def key(self) -> bytes:
        return bytes.fromhex(self.round_key[2:])


def verify_rule(contract: EdgePayoutsClient, info: PayInfo) -> EdgeRewardRule:
    """The served rule, once its canonical hash equals the one the station announced on chain."""
    h = info.rule.hash()
    on_chain = contract.rule(info.station, info.key)
    if on_chain.rule_hash == bytes(32):
        raise PayError(f"station {info.station} announced no rule on chain for round {info.round_id}")
    if on_chain.rule_hash != h:
        raise PayError(f"the served rule hashes to 0x{h.hex()}, the station announced 0x{on_chain.rule_hash.hex()}")
    windows = contract.claim_windows(info.station, info.key)
    if windows != (info.commit_deadline, info.reveal_deadline):
        raise PayError(f"served claim windows {info.commit_deadline, info.reveal_deadline} are not the chain's {windows}")
    return info.rule


def cost_params(rule: EdgeRewardRule, costs: list[str] | None) -> list[int] | None:
    """The fixed-point cost parameters of this client's claim (None when the rule takes none)."""
    if rule.name not in PARAM_COUNT:
        return None
    if not costs:
        raise PayError(f"the {rule.name} rule pays only clients with a revealed cost claim: pass --costs "
                       f"({'gamma,delta,t_min' if rule.name == 'ifedcrowd' else 'c_p,c_l'})")
    if len(costs) != PARAM_COUNT[rule.name]:
        raise PayError(f"{rule.name} claims carry {PARAM_COUNT[rule.name]} cost parameters, got {len(costs)}")
    return [to_fixed(c) for c in costs]


class SealedClaim(BaseModel):
    """Params + salt, kept in a file (0600) until revealed: a lost salt is a lost claim."""

    model_config = ConfigDict(extra="forbid")
    station: str
    round_key: str
    client: str
    params: list[int]
    salt: str
    committed_tx: str = ""
    revealed_tx: str = ""

    @classmethod
    def new(cls, info: PayInfo, client: str, params: list[int]) -> SealedClaim:
        return cls(station=info.station, round_key=info.round_key, client=to_checksum_address(client), params=params,
                   salt="0x" + os.urandom(32).hex())

    def commitment(self) -> bytes:
        return edge_claim_commitment(int(self.round_key, 16), self.station, self.client, self.params,
                                     bytes.fromhex(self.salt[2:]))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=1))
        os.chmod(tmp, 0o600)
        tmp.replace(path)


def chain_now(w3: Any) -> int:
    """A lower bound of the chain's clock: its latest block, advanced by the wall time since it was mined."""
    block = w3.eth.get_block("latest")
    return int(block["timestamp"])


def wait_until(w3: Any, deadline: int, stop: Any = None) -> None:
    """Until the chain's next block would be stamped at or after `deadline`."""
    offset = chain_now(w3) - time.time()
    while True:
        latest = chain_now(w3)
        offset = max(offset, latest - time.time())
        if latest >= deadline or time.time() + offset >= deadline + 1:
            return
        if stop is not None and stop.wait(0.5):
            raise PayError("stopped")
        if stop is None:
            time.sleep(0.5)


def seal_and_reveal(contract: EdgePayoutsClient, account: LocalAccount, info: PayInfo, params: list[int],
                    secret: Path, stop: Any = None) -> SealedClaim:
    """Commit during the commit window, then reveal once it closed (the claim file survives a restart)."""
    party = contract.as_party(account)
    claim = SealedClaim.model_validate_json(secret.read_text()) if secret.exists() else None
    if claim is None or claim.round_key != info.round_key or claim.station != info.station:
        claim = SealedClaim.new(info, account.address, params)
        claim.save(secret)
    committed, revealed = contract.cost_claim(info.station, info.key, account.address)
    if committed != claim.commitment():
        receipt = party.commit_cost_claim(info.station, info.key, claim.commitment())
        claim.committed_tx = "0x" + bytes(receipt["transactionHash"]).hex()
        claim.save(secret)
        log.info("sealed cost claim committed for round %d, tx %s", info.round_id, claim.committed_tx)
    if not revealed:
        wait_until(contract.w3, info.commit_deadline, stop)
        receipt = None
        for attempt in range(10):  # the node may still stamp the next block before the deadline
            try:
                receipt = party.reveal_cost_claim(info.station, info.key, claim.params, bytes.fromhex(claim.salt[2:]),
                                                  gas=REVEAL_GAS)
                break
            except (ContractRevert, TxFailed) as exc:
                if attempt == 9 or chain_now(contract.w3) >= info.reveal_deadline:
                    raise PayError(f"reveal refused: {getattr(exc, 'error', exc)}") from None
                time.sleep(1.0)
        claim.revealed_tx = "0x" + bytes(receipt["transactionHash"]).hex()
        claim.save(secret)
        log.info("cost claim revealed for round %d, tx %s", info.round_id, claim.revealed_tx)
    return claim


def expected_payout(info: PayInfo, address: str, params: list[int] | None, peers: int) -> tuple[int, str]:
    """(wei, how it was estimated) before training. ifedcrowd: the best responses to the announced rates of
    every revealed claim (public on chain), the station's expected reward split by their payoffs; otherwise an equal share
    among `peers` clients (the realised amount depends on measurements made during the round)."""
    rule, budget = info.rule, info.budget_wei
    addr = to_checksum_address(address)
    if rule.name == "ifedcrowd":
        rates = info.derived.get("rates")
        if not rates or params is None or addr not in {to_checksum_address(a) for a in info.claims}:
            return 0, "no revealed claim of this client: it earns nothing under ifedcrowd"
        r = ifedcrowd.Rates(float(rates[0]), float(rates[1]))
        v: dict[str, float] = {}
        for a, ps in info.claims.items():
            c = ifedcrowd.ClientCost(*(int(x) / 10**18 for x in ps))
            resp = ifedcrowd.best_response(r, c)
            v[to_checksum_address(a)] = ifedcrowd.reward(r, resp.accuracy, resp.freshness, resp.time)
        total = sum(v.values())
        mine = v.get(addr, 0.0)
        wei = int(budget * mine / total) if total > 0 else 0
        return wei, f"v_k = r1 A*/T* + r2 F* = {mine:.4f} of {total:.4f} at r* = ({r.r1:.4f}, {r.r2:.4f})"
    if rule.name == "lceme" and params is not None:
        assigned = info.derived.get("assigned", {})
        d = {to_checksum_address(a): x for a, x in assigned.items()}.get(addr)
        n = max(1, len(assigned))
        return budget // n, f"assigned D' = {d}; equal share of {n} revealed claim(s) before the loss is known"
    n = max(1, peers)
    return budget // n, f"equal share among {n} client(s) before the round's measurements"


def fetch_proof(http: Any, rid: int, address: str) -> dict[str, Any] | None:
    """The station's payout for this client (None while the round is not settled)."""
    r = http.get(f"/edge/pay/{rid}/proof/{to_checksum_address(address)}")
    if r.status_code == 409:
        return None
    if r.status_code != 200:
        raise PayError(f"GET /edge/pay/{rid}/proof: HTTP {r.status_code}: {r.text[:200]}")
    return dict(r.json())


def claim_payout(contract: EdgePayoutsClient, account: LocalAccount, station: str, key: bytes, amount: int,
                 proof: list[str]) -> str:
    """Claims `amount` with `proof` after checking the proof against the root posted on chain; tx hash."""
    from hcfl.chain.edge_payouts import LEAF_TYPES
    from hcfl.merkle import leaf_hash, verify

    posted = contract.payout(station, key)
    if posted.root == bytes(32):
        raise PayError(f"station {station} posted no payouts for this round")
    siblings = [bytes.fromhex(p[2:]) for p in proof]
    if not verify(posted.root, leaf_hash(LEAF_TYPES, (account.address, int(amount))), siblings):
        raise PayError(f"the station's proof of {amount} wei does not lead to the root posted on chain")
    if contract.is_claimed(station, key, account.address):
        raise PayError("already claimed")
    receipt = contract.as_party(account).claim_with(station, key, int(amount), [bytes.fromhex(p[2:]) for p in proof])
    return "0x" + bytes(receipt["transactionHash"]).hex()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)

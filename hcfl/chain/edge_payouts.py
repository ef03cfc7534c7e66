"""Edge payouts (contracts/EdgePayouts.sol, docs/mechanism.md "Edge payouts"): the payout tree a station
posts, and a typed client in which stations and edge clients sign their own transactions.

    contract = EdgePayoutsClient.deploy(chain, core_address)    # bound to one HCFLCore
    key = round_key(core_address, round_id)                       # bytes32(round id)
    station = contract.as_party(station_key)
    station.announce_rule(key, rule_hash)                         # a station of the round, before training
    station.keep_reward(key)                                      # HCFLCore keeps its credited reward
    ... the round runs; the station's HCFLCore reward is claimed (final) ...
    reward = contract.station_reward(station.address, key).reward
    amounts = allocate(reward, {client: weight, ...})            # or integer amounts straight from a rule
    tree = PayoutTree.build(amounts)                              # Σ leaves == tree.total == reward, to the wei
    station.post_payouts(key, tree, claim_window=7 * 86400)       # funds exactly tree.total (must be the reward)
    contract.as_party(client_key).claim(station.address, key, tree)

Reverts surface as hcfl.chain.client.ContractRevert with the custom error's name and arguments.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from hcfl.chain.client import ContractClient, Signer, deploy_contract
from hcfl.chain.compile import artifact
from hcfl.mechanism.shares import split
from hcfl.merkle import MerkleTree

CONTRACT_NAME = "EdgePayouts"
LEAF_TYPES = ("address", "uint256")  # EdgePayouts.claim: keccak256(bytes.concat(keccak256(abi.encode(client, amount))))
UINT256_MAX = 2**256 - 1


def round_key(hcfl_address: str, round_id: int) -> bytes:
    """The round key of HCFLCore round `round_id` on the EdgePayouts deployment bound to `hcfl_address`:
    bytes32(roundId) (the deployment names its core; the address is checked for shape only)."""
    to_checksum_address(hcfl_address)
    if not 0 <= int(round_id) < 2**256:
        raise ValueError(f"round id {round_id} out of range")
    return int(round_id).to_bytes(32, "big")


def _ordered(clients: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Checksummed clients in ascending address order; two spellings of one address are an error."""
    out: dict[str, Any] = {}
    for client, value in clients.items():
        addr = to_checksum_address(client)  # raises on anything that is not a 20-byte address
        if addr in out:
            raise ValueError(f"client {addr} appears twice")
        out[addr] = value
    return sorted(out.items(), key=lambda kv: int(kv[0], 16))


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """The rounding rule: `total` wei split by integer `weights` with hcfl.mechanism.shares.split (floor,
    then one wei each to the first positive-weight clients), clients in ascending address order."""
    if not weights:
        raise ValueError("no clients to pay")
    for client, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, int):
            raise TypeError(f"weight of {client} must be an int, got {type(w).__name__}")
    ordered = _ordered(weights)
    return dict(zip((a for a, _ in ordered), split(int(total), [w for _, w in ordered])))


def settlement_leaves(station: str, amounts: Mapping[str, int], returned: int) -> dict[str, int]:
    """The leaves a station posts for a settlement: every positive amount, plus the station's own leaf for what
    the rule returns to it, so that the leaves sum to the whole reward (Σ claims == reward, to the wei)."""
    out = {to_checksum_address(a): int(v) for a, v in amounts.items() if int(v) > 0}
    st = to_checksum_address(station)
    if st in out:
        raise ValueError(f"the station {st} cannot be one of its own edge clients")
    if returned > 0:
        out[st] = int(returned)
    return out


@dataclass(frozen=True)
class PayoutTree:
    """Leaves (client, amount) in ascending client order over hcfl.merkle; serves each client's proof."""

    amounts: dict[str, int]
    tree: MerkleTree

    @classmethod
    def build(cls, amounts: Mapping[str, int]) -> PayoutTree:
        """Tree of `{client: amount in wei}`; every amount in [0, 2^256), the total positive."""
        for client, a in amounts.items():
            if isinstance(a, bool) or not isinstance(a, int) or not 0 <= a <= UINT256_MAX:
                raise ValueError(f"amount of {client} must be an int in [0, 2^256), got {a!r}")
        ordered = _ordered(amounts)
        if not ordered:
            raise ValueError("a payout tree needs at least one client")
        if sum(a for _, a in ordered) == 0:
            raise ValueError("a payout tree must pay something")
        return cls(dict(ordered), MerkleTree.build(LEAF_TYPES, ordered))

    @property
    def total(self) -> int:
        """What the station must fund: Σ leaf amounts."""
        return sum(self.amounts.values())

    @property
    def root(self) -> bytes:
        return self.tree.root

    def amount(self, client: str) -> int:
        return self.amounts[to_checksum_address(client)]

    def proof(self, client: str) -> list[bytes]:
        addr = to_checksum_address(client)
        if addr not in self.amounts:
            raise KeyError(f"{addr} is not in this payout tree")
        return self.tree.proof(list(self.amounts).index(addr))

    def manifest(self, station: str, key: bytes) -> PayoutManifest:
        """What the station publishes next to the root so that anyone can recompute it and every proof."""
        return PayoutManifest(station=to_checksum_address(station), round_key="0x" + key.hex(),
                              root="0x" + self.root.hex(), total=self.total,
                              leaves=[(a, v) for a, v in self.amounts.items()])


class PayoutManifest(BaseModel):
    """The published payout list of one posting (JSON); `tree()` rebuilds it and checks the root."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    station: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    round_key: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    root: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    total: int = Field(gt=0)
    leaves: list[tuple[str, int]] = Field(min_length=1, max_length=1_000_000)

    def tree(self) -> PayoutTree:
        tree = PayoutTree.build(dict(self.leaves))
        if len(tree.amounts) != len(self.leaves):
            raise ValueError("duplicate client in the manifest")
        if "0x" + tree.root.hex() != self.root.lower() or tree.total != self.total:
            raise ValueError("the manifest's leaves do not give its root and total")
        return tree

    @classmethod
    def from_json(cls, text: str) -> PayoutManifest:
        return cls.model_validate(json.loads(text))


@dataclass(frozen=True)
class RuleView:
    rule_hash: bytes
    announced_at: int


@dataclass(frozen=True)
class StationRewardView:
    """HCFLCore.stationReward: the round's deadlines, and the station's reward once final (claimed)."""

    commit_end: int
    reveal_end: int
    is_station: bool
    final: bool
    reward: int


@dataclass(frozen=True)
class PayoutView:
    root: bytes
    funded: int
    claimed: int
    reclaimed: int
    posted_at: int
    deadline: int

    @property
    def held(self) -> int:
        """Wei of this posting still in the contract."""
        return self.funded - self.claimed - self.reclaimed


class EdgePayoutsClient(ContractClient):
    """Read access to a deployed EdgePayouts and the factory for signing parties (the generic plumbing is
    hcfl.chain.client.ContractClient's)."""

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]] | None = None) -> None:
        super().__init__(w3, address, abi or artifact(CONTRACT_NAME)["abi"])

    @classmethod
    def deploy(cls, chain_or_w3: Any, core: str, deployer: LocalAccount | None = None) -> EdgePayoutsClient:
        """Deploys an EdgePayouts bound to the HCFLCore at `core`."""
        receipt = deploy_contract(chain_or_w3, CONTRACT_NAME, deployer, to_checksum_address(core))
        client = cls(getattr(chain_or_w3, "w3", chain_or_w3), receipt["contractAddress"])
        client.deploy_receipt = receipt
        return client

    def as_party(self, account: LocalAccount | str) -> EdgeParty:
        return EdgeParty(self, Account.from_key(account) if isinstance(account, str) else account)  # type: ignore[arg-type]

    @property
    def core(self) -> str:
        """The HCFLCore whose station rewards this deployment pays out."""
        return to_checksum_address(self.call("core"))

    @cached_property
    def core_client(self) -> ContractClient:
        """The bound HCFLCore (immutable in EdgePayouts, so looked up once): read by `station_reward`, sent to by
        `EdgeParty.keep_reward`."""
        return ContractClient(self.w3, self.core, artifact("HCFLCore")["abi"])

    def station_reward(self, station: str, key: bytes) -> StationRewardView:
        """HCFLCore.stationReward(uint256(key), station), read from the bound core."""
        out = self.core_client.contract.functions.stationReward(int.from_bytes(key, "big"),
                                                                to_checksum_address(station)).call()
        return StationRewardView(int(out[0]), int(out[1]), bool(out[2]), bool(out[3]), int(out[4]))

    def rule(self, station: str, key: bytes) -> RuleView:
        h, at = self.call("ruleOf", to_checksum_address(station), key)
        return RuleView(bytes(h), int(at))

    def payout(self, station: str, key: bytes) -> PayoutView:
        root, *rest = self.call("payoutOf", to_checksum_address(station), key)
        return PayoutView(bytes(root), *(int(x) for x in rest))

    def claim_windows(self, station: str, key: bytes) -> tuple[int, int]:
        """(commitDeadline, revealDeadline) of the station's rule; (0, 0) when it takes no claims."""
        c, r = self.call("claimWindowsOf", to_checksum_address(station), key)
        return int(c), int(r)

    def cost_claim(self, station: str, key: bytes, client: str) -> tuple[bytes, bool]:
        h, revealed = self.call("costClaimOf", to_checksum_address(station), key, to_checksum_address(client))
        return bytes(h), bool(revealed)

    def revealed_claims(self, station: str, key: bytes, from_block: int = 0) -> dict[str, list[int]]:
        """{client: cost params} of every CostClaimRevealed for (station, key), from the chain's events."""
        station = to_checksum_address(station)
        out: dict[str, list[int]] = {}
        for ev in self.events(from_block):
            if ev.name == "CostClaimRevealed" and ev.args["station"] == station and bytes(ev.args["roundKey"]) == key:
                out[to_checksum_address(ev.args["client"])] = [int(v) for v in ev.args["costParams"]]
        return out

    def claim_commitment(self, key: bytes, station: str, client: str, cost_params: list[int], salt: bytes) -> bytes:
        """The contract's pure claimCommitment (tests compare it with hcfl.edge.claims)."""
        return bytes(self.call("claimCommitment", key, to_checksum_address(station), to_checksum_address(client),
                               [int(c) for c in cost_params], salt))

    def is_claimed(self, station: str, key: bytes, client: str) -> bool:
        return bool(self.call("isClaimed", to_checksum_address(station), key, to_checksum_address(client)))


class EdgeParty(Signer):
    """A station or an edge client signing its own EdgePayouts transactions."""

    def announce_rule(self, key: bytes, rule_hash: bytes, cost_claims: bool = False) -> Any:
        """Commits the rule hash (a station of the round, before training); `cost_claims` opens sealed cost
        claims of the edge clients in the round's own commit and reveal windows."""
        return self.transact("announceRule", key, rule_hash, bool(cost_claims))

    def keep_reward(self, key: bytes) -> Any:
        """Asks the bound core to keep this station's credited reward for round `key` (HCFLCore.keepRewardRecord),
        which postPayouts must fund: send it with the rule, before the station's reward claim."""
        return Signer(self.client.core_client, self.account).transact("keepRewardRecord", int.from_bytes(key, "big"))

    def commit_cost_claim(self, station: str, key: bytes, commitment: bytes) -> Any:
        return self.transact("commitCostClaim", to_checksum_address(station), key, commitment)

    def reveal_cost_claim(self, station: str, key: bytes, cost_params: list[int], salt: bytes,
                          gas: int | None = None) -> Any:
        """Opens the sealed claim. `gas`: skip estimation, which a node runs against its latest block (still
        before the reveal window when no block was mined since it opened)."""
        return self.transact("revealCostClaim", to_checksum_address(station), key, [int(c) for c in cost_params], salt,
                             gas=gas)

    def post_payouts(self, key: bytes, tree: PayoutTree, claim_window: int, gas: int | None = None) -> Any:
        """Posts `tree`'s root and funds exactly its total (`gas`: skip estimation, see reveal_cost_claim)."""
        return self.transact("postPayouts", key, tree.root, int(claim_window), value=tree.total, gas=gas)

    def claim(self, station: str, key: bytes, tree: PayoutTree) -> Any:
        """Claims this party's own leaf of `tree` (the station's published tree)."""
        return self.claim_with(station, key, tree.amount(self.address), tree.proof(self.address))

    def claim_with(self, station: str, key: bytes, amount: int, proof: list[bytes]) -> Any:
        return self.transact("claim", to_checksum_address(station), key, int(amount), list(proof))

    def reclaim(self, key: bytes) -> Any:
        return self.transact("reclaim", key)


def audit_posting(contract: EdgePayoutsClient, manifest: PayoutManifest, *, rule_hash: bytes | None = None,
                  training_start: int | None = None, from_block: int = 0) -> list[str]:
    """What disagrees between a station's published manifest and the chain ([] when nothing does): the
    manifest's own root and total, the posted root and funding, the leaves' total against the station's final
    HCFLCore reward (to the wei), the announced rule (and, given
    `training_start`, that it was announced before), and every `Claimed` event against its leaf."""
    try:
        tree = manifest.tree()
    except ValueError as exc:
        return [f"manifest: {exc}"]
    station, key = to_checksum_address(manifest.station), bytes.fromhex(manifest.round_key[2:])
    rule, posted = contract.rule(station, key), contract.payout(station, key)
    problems: list[str] = []
    if rule.rule_hash == bytes(32):
        problems.append("no rule announced")
    elif rule_hash is not None and rule.rule_hash != rule_hash:
        problems.append(f"announced rule 0x{rule.rule_hash.hex()} is not the expected 0x{rule_hash.hex()}")
    if training_start is not None and rule.announced_at >= training_start:
        problems.append(f"rule announced at {rule.announced_at}, not before training started at {training_start}")
    if posted.root == bytes(32):
        return problems + ["no payouts posted"]
    if posted.root != tree.root:
        problems.append(f"posted root 0x{posted.root.hex()} is not the manifest's 0x{tree.root.hex()}")
    if posted.funded != tree.total:
        problems.append(f"funded {posted.funded} wei but the leaves sum to {tree.total}")
    try:
        reward = contract.station_reward(station, key)
    except Exception as exc:  # noqa: BLE001 - the bound core does not know the round: say so
        problems.append(f"the bound HCFLCore has no reward record for this round: {type(exc).__name__}")
    else:
        if not reward.final:
            problems.append("the station's HCFLCore reward for this round is not final")
        elif tree.total != reward.reward:
            problems.append(f"the leaves sum to {tree.total} wei, the station's HCFLCore reward is {reward.reward}")
    paid = 0
    for ev in contract.events(from_block):
        if ev.name != "Claimed" or ev.args["station"] != station or bytes(ev.args["roundKey"]) != key:
            continue
        client, amount = ev.args["client"], int(ev.args["amount"])
        paid += amount
        if tree.amounts.get(client) != amount:
            problems.append(f"{client} claimed {amount} wei, its leaf says {tree.amounts.get(client)}")
    if paid != posted.claimed:
        problems.append(f"Claimed events sum to {paid} wei, the contract counts {posted.claimed}")
    return problems


def audit_settlement(contract: EdgePayoutsClient, settlement: Any, from_block: int = 0) -> list[str]:
    """A station's published edge settlement (hcfl.edge.round_settle.EdgeSettlement) against the chain: the
    announced rule hash, the revealed cost claims, every client's amount recomputed from the published inputs
    by the committed rule, and the posting (root, funding, claims) via `audit_posting`. [] when all agree."""
    from hcfl.edge.round_settle import audit_settlement as recompute

    s = settlement
    station, key = to_checksum_address(s.station), bytes.fromhex(s.round_key[2:])
    problems: list[str] = []
    rule = contract.rule(station, key)
    if rule.rule_hash != s.rule.hash():
        problems.append(f"the published rule hashes to 0x{s.rule.hash().hex()}, the station announced "
                        f"0x{rule.rule_hash.hex()}")
    chain_claims = contract.revealed_claims(station, key, from_block)
    published = {to_checksum_address(a): list(v) for a, v in s.claims.items()}
    if chain_claims != published:
        problems.append(f"published cost claims {published} are not the ones revealed on chain {chain_claims}")
    problems += recompute(s)
    try:
        reward = contract.station_reward(station, key)
        if not reward.final or reward.reward != s.budget:
            problems.append(f"the settlement splits {s.budget} wei, the station's final HCFLCore reward is "
                            f"{reward.reward if reward.final else 'not final'}")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(f"the bound HCFLCore has no reward record for round {s.round_id}: {type(exc).__name__}")
    try:
        paid = settlement_leaves(station, s.amounts, s.returned)
    except ValueError as exc:
        return problems + [str(exc)]
    posted = contract.payout(station, key)
    if not paid:
        if posted.root != bytes(32):
            problems.append("payouts posted although the settlement pays nobody")
        return problems
    tree = PayoutTree.build(paid)
    if s.root and s.root.lower() != "0x" + tree.root.hex():
        problems.append(f"the settlement names root {s.root}, its amounts give 0x{tree.root.hex()}")
    problems += audit_posting(contract, tree.manifest(station, key), rule_hash=s.rule.hash(), from_block=from_block)
    return problems

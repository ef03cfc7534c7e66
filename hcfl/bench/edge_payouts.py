"""`hcfl bench edge-payouts`: gas of EdgePayouts (announce, post, claim, reclaim) and gas per claim as the
number of edge clients in one posting grows (1, 8, 64, 1024 leaves by default).

Every number is a receipt's `gasUsed` on a real chain (anvil by default; `--chain embedded|anvil|URL`).
For each size one station announces a rule and posts one tree of seeded random amounts; a few of its
clients (own funded keys, at random positions among filler addresses) claim in turn. A claim's cost
depends on the tree only through the proof it carries (ceil(log2 n) sibling hashes), which the table
shows as gas per proof element over the one-leaf claim.

The posting funds the station's HCFLCore reward; to post trees of any total, the bench binds EdgePayouts to
contracts/test/StationRewardsStub.sol (same `stationReward` view), so postPayouts' gas includes the stub's
view, not HCFLCore's (tests/edge_payouts/test_edge_payouts_core.py measures that one). Claims never call
the core.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from tqdm import tqdm

from hcfl.bench.gas import _ensure_anvil_on_path, _int_list
from hcfl.chain.accounts import derive_key, fund
from hcfl.chain.client import deploy_contract
from hcfl.chain.compile import artifact
from hcfl.chain.edge_payouts import EdgePayoutsClient, PayoutTree, round_key
from hcfl.chain.provider import Chain, connect

log = logging.getLogger(__name__)

COMMAND = "hcfl bench edge-payouts"
SIZES: tuple[int, ...] = (1, 8, 64, 1024)
CLAIMS_PER_SIZE = 4
WINDOW = 7 * 24 * 3600
FUND = 10**19  # per key: gas at dev prices (the station also gets every posting's total)
MAX_AMOUNT = 10**15  # leaf amounts are uniform in [1, MAX_AMOUNT] wei


@dataclass
class ClaimRow:
    leaves: int
    proof_length: int
    claim_gas: list[int]
    post_gas: int

    @property
    def median(self) -> int:
        return int(statistics.median(self.claim_gas))


@dataclass
class EdgeBench:
    chain: str
    deployed_bytes: int
    deploy_gas: int
    announce_gas: int
    reclaim_gas: int
    rows: list[ClaimRow]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["command"] = COMMAND
        return out


def measure(chain: Chain, sizes: Sequence[int] = SIZES, claims: int = CLAIMS_PER_SIZE, seed: int = 0,
            progress: bool = False) -> EdgeBench:
    """Deploy EdgePayouts on `chain` and measure; leaves the chain with the postings made."""
    sizes = sorted(set(sizes))
    if not sizes or sizes[0] < 1 or claims < 1:
        raise ValueError("sizes must be >= 1 and at least one claim per size")
    rng = random.Random(seed)
    stub_address = deploy_contract(chain, "StationRewardsStub")["contractAddress"]
    stub = chain.w3.eth.contract(address=stub_address, abi=artifact("StationRewardsStub")["abi"])
    contract = EdgePayoutsClient.deploy(chain, stub_address)
    station_key = derive_key("station", f"bench-edge/{seed}")
    claimant_keys = [derive_key(f"client/{n}/{i}", f"bench-edge/{seed}") for n in sizes for i in range(min(claims, n))]
    fund(chain, [k.address for k in claimant_keys], FUND)
    fund(chain, [station_key.address], FUND + MAX_AMOUNT * sum(sizes))
    station = contract.as_party(station_key)
    keys = iter(claimant_keys)
    rows: list[ClaimRow] = []
    announce_gas = 0
    last_key = b""
    for n in tqdm(sizes, desc="tree sizes", unit="tree", disable=not progress, file=sys.stderr):
        mine = [next(keys) for _ in range(min(claims, n))]
        filler = [to_checksum_address(keccak(text=f"filler/{n}/{i}")[-20:]) for i in range(n - len(mine))]
        amounts = {a: rng.randint(1, MAX_AMOUNT) for a in [k.address for k in mine] + filler}
        tree = PayoutTree.build(amounts)
        key = round_key(stub_address, n)
        announce_gas = int(station.announce_rule(key, keccak(text="rule/equal"))["gasUsed"])
        _set_reward(chain, stub, n, station_key.address, tree.total)
        post_gas = int(station.post_payouts(key, tree, WINDOW)["gasUsed"])
        gas = [int(contract.as_party(k).claim(station_key.address, key, tree)["gasUsed"]) for k in mine]
        lengths = {len(tree.proof(k.address)) for k in mine}
        if len(lengths) != 1:  # only for sizes that are not powers of two
            log.warning("n=%d: proof lengths %s differ between claimants", n, sorted(lengths))
        rows.append(ClaimRow(leaves=n, proof_length=max(lengths), claim_gas=gas, post_gas=post_gas))
        last_key = key
    chain.wait_until(contract.payout(station_key.address, last_key).deadline)
    reclaim_gas = int(station.reclaim(last_key)["gasUsed"])
    deployed = len(bytes.fromhex(artifact("EdgePayouts")["deployedBytecode"][2:]))
    return EdgeBench(chain=chain.kind, deployed_bytes=deployed, deploy_gas=int(contract.deploy_receipt["gasUsed"]),
                     announce_gas=announce_gas, reclaim_gas=reclaim_gas, rows=rows)


def _set_reward(chain: Chain, stub: Any, round_id: int, station: str, amount: int) -> None:
    f = chain.funder
    tx = stub.functions.setReward(round_id, station, True, True, amount).build_transaction(
        {"from": f.address, "nonce": chain.w3.eth.get_transaction_count(f.address, "pending"), "gas": 200_000,
         "gasPrice": chain.w3.eth.gas_price, "chainId": chain.w3.eth.chain_id})
    r = chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(f.sign_transaction(tx).raw_transaction))
    if r["status"] != 1:
        raise RuntimeError("StationRewardsStub.setReward failed")


def run_bench(chain: str = "anvil", sizes: Sequence[int] = SIZES, claims: int = CLAIMS_PER_SIZE, seed: int = 0,
              progress: bool = True) -> EdgeBench:
    if chain == "anvil":
        _ensure_anvil_on_path()
    with connect(chain) as ch:
        return measure(ch, sizes, claims, seed, progress)


def per_element(res: EdgeBench) -> list[float | None]:
    """Gas per proof element over the smallest tree's median claim, per row (None for that row)."""
    base = res.rows[0]
    return [None if r.proof_length == base.proof_length
            else (r.median - base.median) / (r.proof_length - base.proof_length) for r in res.rows]


def render(res: EdgeBench) -> str:
    lines = [
        f"EdgePayouts on {res.chain}: {res.deployed_bytes} bytes deployed, deploy {res.deploy_gas:,} gas, "
        f"announceRule {res.announce_gas:,}, reclaim {res.reclaim_gas:,}",
        "",
        "| leaves | proof length | postPayouts gas | claim gas (min / median / max) | per proof element |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r, pe in zip(res.rows, per_element(res)):
        lines.append(f"| {r.leaves} | {r.proof_length} | {r.post_gas:,} | {min(r.claim_gas):,} / {r.median:,} / "
                     f"{max(r.claim_gas):,} | {'-' if pe is None else f'{pe:,.0f}'} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chain", default="anvil", help="embedded | anvil (default: spawned from node_modules) | RPC URL")
    parser.add_argument("--sizes", type=_int_list, default=list(SIZES), help=f"comma-separated leaf counts (default {list(SIZES)})")
    parser.add_argument("--claims", type=int, default=CLAIMS_PER_SIZE, help="claims measured per tree")
    parser.add_argument("--seed", type=int, default=0, help="seed of the amounts and keys")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the measurements as JSON")


def run(args: argparse.Namespace) -> int:
    res = run_bench(args.chain, args.sizes, args.claims, args.seed)
    sys.stdout.write(render(res))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res.to_json(), indent=2) + "\n")
        log.info("wrote %s", args.json)
    return 0

"""Write a one-round v2 campaign (JSON for `hcfl settle --rules v2 [--on-chain]`) with many participants.

    python scripts/make_campaign.py OWNERS STATIONS K [--seed N] > campaign.json

Posted payment rule, Stake owners, Equal stations, deposits 0.001 ETH, owner values 50-100 Gwei and station
costs 0-40 Gwei per proposal, K proposals posted round-robin by the owners at 10-40 Gwei, t = 1 and every
station reports (the instances of docs/benchmarks.md, "hcfl settle --rules v2 --on-chain at scale").
"""
from __future__ import annotations

import argparse
import json
import random
import sys

GWEI = 10**9


def campaign(n_owners: int, n_stations: int, k: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    owners = [f"o{i}" for i in range(n_owners)]
    stations = [f"s{i}" for i in range(n_stations)]

    def part(pid: str, role: str, lo: int, hi: int) -> dict:
        return {"id": pid, "role": role, "deposit": 10**15, "claims": [rng.randint(lo, hi) * GWEI for _ in range(k)],
                "salt": "0x" + rng.getrandbits(256).to_bytes(32, "big").hex()}

    parts = [part(o, "owner", 50, 100) for o in owners] + [part(s, "station", 0, 40) for s in stations]
    proposals = [{"proposer": owners[m % len(owners)], "price": rng.randint(10, 40) * GWEI, "bond": 10**14}
                 for m in range(k)]
    return {"config": {"payment_rule": "posted", "owner_share_rule": "stake", "station_share_rule": "equal",
                       "min_owner_deposit": 10**14, "min_station_deposit": 10**14, "min_bond": 10**14},
            "rounds": [{"participants": parts, "proposals": proposals,
                        "training": {"t": 1, "reported": {s: 1 for s in stations}, "finalized": True}}]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("owners", type=int)
    p.add_argument("stations", type=int)
    p.add_argument("k", type=int, help="proposals (1..20)")
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    if a.owners < 1 or a.stations < 1 or not 1 <= a.k <= 20:
        p.error("need at least one owner and one station, and 1 <= K <= 20")
    json.dump(campaign(a.owners, a.stations, a.k, a.seed), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

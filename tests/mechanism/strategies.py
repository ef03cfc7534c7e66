"""Hypothesis strategies for random round instances (hypothesis 6.27 API)."""
from __future__ import annotations

from hypothesis import strategies as st

from hcfl.mechanism import Instance


@st.composite
def instances(
    draw,
    rule: str | None = None,
    deposits: bool | None = None,
    pools: bool | None = None,
    statuses: bool = True,
    proposals: bool | None = None,
    min_owners: int = 0,
    min_stations: int = 0,
) -> Instance:
    k = draw(st.integers(1, 4))
    n_owners = draw(st.integers(min_owners, 5))
    n_stations = draw(st.integers(max(min_stations, 1 if n_owners == 0 else 0), 5))
    rule = rule or draw(st.sampled_from(["paper-random", "posted"]))
    scale = draw(st.sampled_from([1, 1, 10**9, 10**20]))  # small numbers give ties; big ones test wide ints
    claim = st.integers(0, 20).map(lambda v: v * scale)
    with_deposits = draw(st.booleans()) if deposits is None else deposits
    with_pools = draw(st.booleans()) if pools is None else pools

    prices = None
    if rule == "posted" or draw(st.booleans()):
        prices = [draw(claim) for _ in range(k)]
    max_price = max(prices) if rule == "posted" else 0

    def participant(pid: str, field: str) -> dict:
        p: dict = {"id": pid, field: [draw(claim) for _ in range(k)], "capability": draw(st.integers(0, 4))}
        if with_deposits:
            p["deposit"] = max_price + 1 + draw(st.integers(0, 25)) * scale
        if statuses and with_deposits:
            p["status"] = draw(st.sampled_from(["revealed"] * 6 + ["committed", "joined"]))
        return p

    owners = [participant(f"o{i}", "values") for i in range(n_owners)]
    stations = [participant(f"s{j}", "costs") for j in range(n_stations)]
    everyone = owners + stations
    if not any(p.get("status", "revealed") == "revealed" for p in everyone):
        everyone[0]["status"] = "revealed"
    data: dict = {
        "owners": owners,
        "stations": stations,
        "payment_rule": rule,
        "share_rule": draw(st.sampled_from(["equal", "capability"])),
        "station_share_rule": draw(st.sampled_from([None, "equal", "capability", "contribution"])),
        "seed": draw(st.integers(0, 2**256 - 1)),
        "posted_prices": prices,
        "non_reveal_penalty_bps": draw(st.sampled_from([0, 1000, 10000])),
    }
    if with_pools:
        data["owner_pool"] = draw(claim)
        data["station_pool"] = draw(claim)
    if (draw(st.booleans()) if proposals is None else proposals) and n_owners:
        data["proposals"] = [
            {"proposer": f"o{draw(st.integers(0, n_owners - 1))}", "bond": draw(st.integers(0, 5)) * scale}
            for _ in range(k)
        ]
    return Instance.model_validate(data)

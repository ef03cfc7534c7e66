"""v2 settlement of one round (docs/mechanism.md, "v2: settlement"): running sums per proposal,
eligibility, m*, C, pool draws, and every participant's lazy payment and clipped Clarke tax.

The contract computes each participant's figures lazily in its own claim transaction, in O(K), from
the round totals kept at reveal time; this reference computes the same integers for everyone at once.
Selection reuses v1's first-maximal rule (`hcfl.mechanism.clarke.first_argmax`), with ineligible
proposals masked out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from hcfl.mechanism.clarke import first_argmax, value_at
from hcfl.mechanism.models import BPS
from hcfl.mechanism.v2.cumfloor import effective, shares
from hcfl.mechanism.v2.models import CampaignConfig, Participant, Round
from hcfl.protocol import commitments

NEG_INF = -math.inf


def salt_seed(salts: list[str | None]) -> int:
    """uint256(keccak256(abi.encode(bytes32 xorOfRevealedSalts))) (hcfl.protocol.commitments, the one
    definition); the reference lets a missing salt count as zero."""
    return commitments.salt_seed([bytes.fromhex(s[2:]) for s in salts if s is not None])


def non_reveal_penalty(deposit: int, bps: int, floor: int) -> int:
    """min(deposit, max(ceil(deposit*bps/BPS), floor)) (defect 7: rounded up, with a floor)."""
    return min(deposit, max(-(-deposit * bps // BPS), floor))


def cap(claims: list[int], deposit: int) -> list[int]:
    """Every claim capped to deposit - 1 (both roles, both rules)."""
    return [min(c, deposit - 1) for c in claims]


@dataclass
class Settled:
    """Everything a settled round keeps for its end (training, vote) and its result."""

    cfg: CampaignConfig
    rnd: Round
    k: int
    owners: list[Participant]  # revealed owners, reveal order
    stations: list[Participant]  # revealed stations, reveal order
    capped: dict[str, list[int]]
    sum_b: list[int]
    sum_k: list[int]
    surplus: list[int]
    afford: int | None  # A (None = unbounded, Proportional owners)
    draw_owner: int
    draw_station: int
    eligible: list[bool]
    argmax: int | None
    selected: int | None
    unfunded: bool
    c_max: int | None
    total: int | None  # C
    seed: int
    owner_discount: int
    station_bonus: int
    pools_before: dict[str, int]
    owner_weight: dict[str, int] = field(default_factory=dict)  # at m* (m = 0 when none), effective
    station_weight: dict[str, int] = field(default_factory=dict)
    payment: dict[str, int] = field(default_factory=dict)
    nominal_share: dict[str, int] = field(default_factory=dict)  # cumfloor(C, weights at m*) (0 when none)
    station_share: dict[str, int] = field(default_factory=dict)  # share of E by the station rule at m*
    m_minus: dict[str, int | None] = field(default_factory=dict)
    clarke_difference: dict[str, int] = field(default_factory=dict)  # S_-p(m_-p) - S_-p(m*), signed
    tax_raw: dict[str, int] = field(default_factory=dict)
    tax: dict[str, int] = field(default_factory=dict)
    penalty: dict[str, int] = field(default_factory=dict)
    bond_credit: dict[str, int] = field(default_factory=dict)
    winner: str | None = None
    bond_held: int = 0

    @property
    def escrow(self) -> int:
        return 0 if self.total is None else self.total + self.station_bonus


def side_weights(rule: str, people: list[Participant], capped: dict[str, list[int]], m: int | None) -> list[int]:
    """Raw weights of one side at proposal m (reveal order). Contribution counts as Equal here."""
    if rule == "stake":
        return [p.deposit for p in people]
    if rule == "proportional":
        return [0 if m is None else capped[p.id][m] for p in people]
    return [1] * len(people)


def affordability(owners: list[Participant], rule: str) -> int | None:
    """A = floor(minRatio * W_O), minRatio = min over owners with w > 0 of (deposit-1)/w; 0 if no owner;
    None (unbounded) for Proportional owners."""
    if rule == "proportional":
        return None
    if not owners:
        return 0
    ws = side_weights(rule, owners, {}, None)
    ratio = min(Fraction(o.deposit - 1, w) for o, w in zip(owners, ws) if w > 0)
    return math.floor(ratio * sum(ws))


def settle_round(cfg: CampaignConfig, rnd: Round, owner_pool: int, station_pool: int) -> Settled:
    """Settle one validated round (models.check_round) with the campaign's pools before it."""
    k = rnd.k
    by_id = {p.id: p for p in rnd.participants}
    order = rnd.reveal_order if rnd.reveal_order is not None else [p.id for p in rnd.participants if p.revealed]
    revealed = [by_id[i] for i in order]
    owners = [p for p in revealed if p.role == "owner"]
    stations = [p for p in revealed if p.role == "station"]
    capped = {p.id: cap(p.claims or [], p.deposit) for p in revealed}
    sum_b = [sum(capped[o.id][m] for o in owners) for m in range(k)]
    sum_k = [sum(capped[s.id][m] for s in stations) for m in range(k)]
    surplus = [b - c for b, c in zip(sum_b, sum_k)]
    prices = [prop.price for prop in rnd.proposals]
    posted = cfg.payment_rule == "posted"
    afford = affordability(owners, cfg.owner_share_rule)
    draw_o = owner_pool * cfg.pool_draw_bps // BPS
    draw_s = station_pool * cfg.pool_draw_bps // BPS
    # the contract XORs the salts only under PaperRandom (docs/v2-deviations.md, 1): under Posted the recorded
    # (unused) seed is keccak256(abi.encode(bytes32(0)))
    seed = rnd.seed if rnd.seed is not None else salt_seed([p.salt for p in revealed] if not posted else [])

    def affordable(m: int) -> bool:
        if not posted:
            return True  # PaperRandom: checked through Cmax after selection
        if afford is not None and prices[m] > afford + draw_o:
            return False
        if cfg.owner_share_rule == "proportional" and prices[m] > sum_b[m]:
            return False  # a Proportional owner would pay more than its claim
        return not (cfg.station_share_rule == "proportional" and sum_k[m] > prices[m])  # station below its cost

    afford_ok = [affordable(m) for m in range(k)]

    def pick(s: list[int], b: list[int]) -> int | None:
        masked = [s[m] if b[m] > 0 and afford_ok[m] else NEG_INF for m in range(k)]
        return first_argmax(masked) if k else None

    eligible = [sum_b[m] > 0 and afford_ok[m] for m in range(k)]
    argmax = pick(surplus, sum_b)
    st = Settled(cfg=cfg, rnd=rnd, k=k, owners=owners, stations=stations, capped=capped, sum_b=sum_b,
                 sum_k=sum_k, surplus=surplus, afford=afford, draw_owner=draw_o, draw_station=draw_s,
                 eligible=eligible, argmax=argmax, selected=argmax, unfunded=False, c_max=None, total=None,
                 seed=seed, owner_discount=0, station_bonus=0,
                 pools_before={"owner_pool": owner_pool, "station_pool": station_pool})

    if not owners or not stations:
        st.unfunded = True
    elif argmax is not None:
        if posted:
            st.total = prices[argmax]
        else:
            c_max = min(sum_b[argmax], cfg.max_price)
            if afford is not None:
                c_max = min(c_max, afford + draw_o)
            st.c_max = c_max
            if c_max < sum_k[argmax]:
                st.unfunded = True
            else:
                st.total = sum_k[argmax] + seed % (c_max - sum_k[argmax] + 1)
    else:
        st.total = 0  # "none": nothing is paid, pivots are taxed
    if st.unfunded:
        st.selected, st.total = None, None
    m_star = st.selected
    c = st.total or 0
    st.owner_discount = min(draw_o, c)
    st.station_bonus = min(draw_s, c)

    # Weights at m* (effective: Equal fallback when a side's total is 0), payments, station shares of E.
    ow = side_weights(cfg.owner_share_rule, owners, capped, m_star)
    sw = side_weights(cfg.station_share_rule, stations, capped, m_star)
    st.owner_weight = {o.id: w for o, w in zip(owners, effective(ow))}
    st.station_weight = {s.id: w for s, w in zip(stations, effective(sw))}
    pays = shares(c - st.owner_discount, ow) if owners else []
    st.payment = {o.id: v for o, v in zip(owners, pays)}
    escrow = st.escrow
    st.station_share = {s.id: v for s, v in zip(stations, shares(escrow, sw) if stations else [])}

    # Nominal shares of every posted price (Posted net values), and of C at m* (before the pool discount
    # and bonus; the vote weight s_p(m*); equal to the posted price's share under Posted).
    s_nom = [shares(prices[m], side_weights(cfg.owner_share_rule, owners, capped, m)) for m in range(k)] if owners else []
    r_nom = [shares(prices[m], side_weights(cfg.station_share_rule, stations, capped, m)) for m in range(k)] if stations else []
    st.nominal_share.update(zip([o.id for o in owners], shares(c, ow) if owners else []))
    st.nominal_share.update(zip([s.id for s in stations], shares(c, sw) if stations else []))

    # Lazy Clarke tax per revealed participant, with the clips.
    for i, o in enumerate(owners):
        b = capped[o.id]
        x = [b[m] - (s_nom[m][i] if posted else 0) for m in range(k)]
        _tax(st, o, x, [sum_b[m] - b[m] for m in range(k)], pick)
    for j, s in enumerate(stations):
        kk = capped[s.id]
        x = [(r_nom[m][j] if posted else 0) - kk[m] for m in range(k)]
        _tax(st, s, x, sum_b, pick)

    for p in rnd.participants:
        if p.status == "committed":
            st.penalty[p.id] = non_reveal_penalty(p.deposit, cfg.non_reveal_penalty_bps, cfg.non_reveal_penalty_floor)
    for m, prop in enumerate(rnd.proposals):
        if m == m_star:
            st.winner, st.bond_held = prop.proposer, prop.bond
        else:
            st.bond_credit[prop.proposer] = st.bond_credit.get(prop.proposer, 0) + prop.bond
    return st


def _tax(st: Settled, p: Participant, x: list[int], sum_b_minus: list[int], pick) -> None:
    k, m_star = st.k, st.selected
    s_minus = [st.surplus[m] - x[m] for m in range(k)]
    m_p = pick(s_minus, sum_b_minus)
    st.m_minus[p.id] = m_p
    diff = value_at(s_minus, m_p) - value_at(s_minus, m_star)
    st.clarke_difference[p.id] = 0 if st.unfunded else diff
    raw = 0 if st.unfunded else max(0, diff)
    st.tax_raw[p.id] = raw
    if p.role == "owner":
        pay = st.payment[p.id]
        tax = min(raw, p.deposit - pay)
        if st.cfg.owner_share_rule == "proportional":
            claimed = 0 if m_star is None else st.capped[p.id][m_star]
            tax = min(tax, max(0, claimed - pay))
    else:
        tax = min(raw, p.deposit)
        if st.cfg.station_share_rule == "proportional":
            cost = 0 if m_star is None else st.capped[p.id][m_star]
            tax = min(tax, max(0, st.station_share[p.id] - cost))
    st.tax[p.id] = tax

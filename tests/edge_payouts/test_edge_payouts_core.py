"""EdgePayouts bound to a real HCFLCore (contract v2): a station's on-chain reward for a round is what its
edge clients are paid, to the wei. Attacks first: a rule announced by a non-station or after training
started, a rule changed after training, a posting before the reward is final, funding less (or more) than
the reward, funding twice, a root whose leaves do not sum to the reward (flagged by the audit); then the
honest path with the unclaimed rest returning to the station."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).parents[1] / "contracts_v2"))

from ep_helpers import fee  # noqa: E402
from v2_helpers import CFG, ETH, V2, salt_of, spec  # noqa: E402

from hcfl.chain.accounts import funded_accounts  # noqa: E402
from hcfl.chain.client import ContractRevert  # noqa: E402
from hcfl.chain.edge_payouts import EdgePayoutsClient, PayoutTree, allocate, audit_posting, round_key  # noqa: E402
from hcfl.chain.provider import connect  # noqa: E402
from hcfl.chain.v2.client import CoreClient  # noqa: E402
from hcfl.protocol import Phase, Role  # noqa: E402

NAMES = ["creator", "o1", "o2", "s1", "s2", "s3", "c1", "c2", "c3", "x"]
RULE = keccak(text='{"name":"equal","params":{}}')
CLAIM_RULE = keccak(text='{"name":"ifedcrowd","params":{}}')
WINDOW = 3600


@pytest.fixture(scope="module")
def env():
    chain = connect("embedded")
    core = CoreClient.deploy(chain)
    edge = EdgePayoutsClient.deploy(chain, core.address)
    accounts = dict(zip(NAMES, funded_accounts(chain, NAMES, 10**22, namespace="hcfl-edge-core-tests")))
    v = V2(chain=chain, core=core, acct={n: core.as_participant(a) for n, a in accounts.items()})
    parties = {n: edge.as_party(a) for n, a in accounts.items()}
    yield chain, v, edge, parties
    chain.close()


@pytest.fixture
def w(env):
    chain, v, edge, parties = env
    snap = chain.snapshot()
    yield env
    chain.revert(snap)
    for p in v.acct.values():
        v.core.nonces.forget(p.address)
    edge.nonces._next.clear()


def _reverts(fn, error: str, args: tuple | None = None) -> None:
    with pytest.raises(ContractRevert) as exc:
        fn()
    assert exc.value.error == error, (exc.value.error, exc.value.error_args)
    if args is not None:
        norm = lambda vs: tuple(a.lower() if isinstance(a, str) else a for a in vs)  # noqa: E731
        assert norm(exc.value.error_args) == norm(args), exc.value.error_args


def _round_to_training(v: V2, p: dict, announce_in_time: bool = True) -> tuple[int, bytes]:
    """A round with stations s1, s2, s3; s1 announces a claim rule while joining, s2 a claim-free one while
    revealing (its last chance), s3 none. Returns (round id, key) in Training."""
    cid = v.campaign(CFG)
    rid = v.open(cid)
    key = round_key(v.core.address, rid)
    for n, d in {"o1": 2 * ETH, "o2": 2 * ETH, "s1": ETH, "s2": ETH, "s3": ETH}.items():
        v[n].join(rid, Role.STATION if n.startswith("s") else Role.OWNER, d)
    if announce_in_time:
        p["s1"].announce_rule(key, CLAIM_RULE, True)
        p["s1"].keep_reward(key)
    v.goto(rid, Phase.PROPOSING)
    v["o1"].propose(rid, spec(ETH, 2), 10**15)
    v.goto(rid, Phase.COMMITTING)
    claims = {"o1": [2 * ETH], "o2": [2 * ETH], "s1": [ETH // 10], "s2": [ETH // 10], "s3": [ETH // 10]}
    for n, c in claims.items():
        v[n].commit_claims(rid, c, salt_of(f"{rid}/{n}"))
    v.goto(rid, Phase.REVEALING)
    for n, c in claims.items():
        v[n].reveal(rid, c, salt_of(f"{rid}/{n}"))
    if announce_in_time:
        p["s2"].announce_rule(key, RULE, False)
        p["s2"].keep_reward(key)
    v.joined[rid] = list(claims)
    v.settle(rid)
    assert v.core.state(rid) == Phase.TRAINING
    return rid, key


def _finish(v: V2, rid: int) -> None:
    for s in ("s1", "s2", "s3"):
        for g in range(2):
            v[s].report_training(rid, g, b"\x22" * 32, 100, 9000, b"\x33" * 32)
    v["o1"].finalize_training(rid, b"\x44" * 32, 9100, b"\0" * 32, 0, b"\x55" * 32)
    v.goto(rid, Phase.FINISHED)


def test_rule_must_come_from_a_station_before_training_and_never_change(w) -> None:
    chain, v, edge, p = w
    cid = v.campaign(CFG)
    rid = v.open(cid)
    key = round_key(v.core.address, rid)
    _reverts(lambda: p["s1"].announce_rule(round_key(v.core.address, rid + 5), RULE), "UnknownCoreRound", (rid + 5,))
    _reverts(lambda: p["s1"].announce_rule(key, RULE), "NotAStation", (p["s1"].address, rid))  # not joined yet
    v["o1"].join(rid, Role.OWNER, ETH)
    _reverts(lambda: p["o1"].announce_rule(key, RULE), "NotAStation", (p["o1"].address, rid))  # an owner
    rid2, key2 = _round_to_training(v, p)
    r = v.core.round(rid2)
    # training started: a station that had not announced can no longer do so, with or without claims
    _reverts(lambda: p["s3"].announce_rule(key2, RULE, False), "AnnounceClosed", (r.reveal_end,))
    _reverts(lambda: p["s3"].announce_rule(key2, CLAIM_RULE, True), "AnnounceClosed", (r.commit_end,))
    # and a rule announced before training cannot be changed after it started
    _reverts(lambda: p["s1"].announce_rule(key2, RULE, False), "RuleAlreadyAnnounced", (p["s1"].address, key2))
    assert edge.rule(p["s1"].address, key2).rule_hash == CLAIM_RULE
    assert edge.rule(p["s1"].address, key2).announced_at <= r.commit_end
    # the claim windows are the round's own: commits until commitEnd, reveals until revealEnd
    assert edge.claim_windows(p["s1"].address, key2) == (r.commit_end + 1, r.reveal_end + 1)
    assert edge.claim_windows(p["s2"].address, key2) == (0, 0)


def test_funding_must_equal_the_final_reward_once(w) -> None:
    chain, v, edge, p = w
    rid, key = _round_to_training(v, p)
    s1 = p["s1"]
    clients = {p[c].address: i + 1 for i, c in enumerate(("c1", "c2", "c3"))}
    tree0 = PayoutTree.build(allocate(10**15, clients))
    _finish(v, rid)
    # the reward is not final until claimed on HCFLCore
    _reverts(lambda: s1.transact("postPayouts", key, tree0.root, WINDOW, value=10**15), "RewardNotFinal",
             (s1.address, rid))
    v.claim_all(rid)
    sr = edge.station_reward(s1.address, key)
    assert sr.final and sr.is_station and sr.reward > 0
    rewarded = [ev for ev in v.core.events() if ev.name == "StationRewarded" and ev.args["station"] == s1.address]
    assert [int(ev.args["reward"]) for ev in rewarded] == [sr.reward]  # the credited amount, not a re-derivation
    tree = PayoutTree.build(allocate(sr.reward, clients))
    assert tree.total == sr.reward
    # fund less, or more, than the reward: refused
    for value in (sr.reward - 1, sr.reward // 2, sr.reward + 1):
        _reverts(lambda: s1.transact("postPayouts", key, tree.root, WINDOW, value=value), "FundingNotReward",  # noqa: B023 - called at once
                 (value, sr.reward))
    # an account that is not a station of the round cannot announce (NotAStation), so it cannot post
    _reverts(lambda: p["x"].transact("postPayouts", key, tree.root, WINDOW, value=1), "RuleNotAnnounced",
             (p["x"].address, key))
    s1.post_payouts(key, tree, WINDOW)
    assert edge.payout(s1.address, key).funded == sr.reward == edge.balance()
    # fund twice: refused
    _reverts(lambda: s1.post_payouts(key, tree, WINDOW), "PayoutsAlreadyPosted", (s1.address, key))
    # clients claim by themselves; c3 lets its claim lapse: its amount returns to the station
    got = 0
    for c in ("c1", "c2"):
        before = chain.w3.eth.get_balance(p[c].address)
        r = p[c].claim(s1.address, key, tree)
        got += chain.w3.eth.get_balance(p[c].address) - before + fee(r)
    assert got == tree.amount(p["c1"].address) + tree.amount(p["c2"].address)
    assert audit_posting(edge, tree.manifest(s1.address, key), rule_hash=CLAIM_RULE) == []
    chain.wait_until(edge.payout(s1.address, key).deadline)
    before = chain.w3.eth.get_balance(s1.address)
    r = s1.reclaim(key)
    assert chain.w3.eth.get_balance(s1.address) - before + fee(r) == tree.amount(p["c3"].address)
    pv = edge.payout(s1.address, key)
    assert pv.claimed + pv.reclaimed == pv.funded == sr.reward and edge.balance() == 0


def test_a_root_whose_total_is_not_the_reward_is_flagged(w) -> None:
    chain, v, edge, p = w
    rid, key = _round_to_training(v, p)
    _finish(v, rid)
    v.claim_all(rid)
    s2 = p["s2"]
    reward = edge.station_reward(s2.address, key).reward
    c1, c2 = p["c1"].address, p["c2"].address
    # over-promising leaves (Σ = reward + 1000), funded with exactly the reward: the last claim cannot be paid
    over = PayoutTree.build({c1: reward // 2, c2: reward - reward // 2 + 1000})
    s2.transact("postPayouts", key, over.root, WINDOW, value=reward)
    problems = audit_posting(edge, over.manifest(s2.address, key))
    assert f"the leaves sum to {reward + 1000} wei, the station's HCFLCore reward is {reward}" in problems
    p["c1"].claim(s2.address, key, over)
    _reverts(lambda: p["c2"].claim(s2.address, key, over), "ExceedsFunding",
             (reward - reward // 2 + 1000, reward - reward // 2))
    # under-paying leaves (a station keeping part of the reward) are flagged too
    under = PayoutTree.build({c1: reward // 2, c2: reward // 4})
    problems = audit_posting(edge, under.manifest(s2.address, key))
    assert any("the station's HCFLCore reward is" in x for x in problems)


def test_no_rule_no_payout_and_unknown_stations(w) -> None:
    chain, v, edge, p = w
    rid, key = _round_to_training(v, p, announce_in_time=False)
    _finish(v, rid)
    # the credited reward is kept only for a station that asked before its claim (keepRewardRecord, which
    # announce_rule sends): s3 asks, s2 does not, an owner cannot
    p["s3"].keep_reward(key)
    _reverts(lambda: p["o1"].keep_reward(key), "WrongRole")
    v.claim_all(rid)
    _reverts(lambda: p["s3"].keep_reward(key), "NothingToClaim")  # after its claim: too late
    reward = edge.station_reward(p["s3"].address, key).reward
    assert reward > 0
    assert edge.station_reward(p["s2"].address, key).reward == 0 and edge.station_reward(p["s2"].address, key).final
    tree = PayoutTree.build({p["c1"].address: reward})
    _reverts(lambda: p["s3"].post_payouts(key, tree, WINDOW), "RuleNotAnnounced", (p["s3"].address, key))
    _reverts(lambda: p["s3"].announce_rule(key, RULE), "AnnounceClosed")


def test_station_reward_view_gas(w) -> None:
    """The one HCFLCore view EdgePayouts calls stays cheap (postPayouts reads it once)."""
    chain, v, edge, p = w
    rid, key = _round_to_training(v, p)
    gas = chain.w3.eth.estimate_gas({"to": v.core.address, "data": v.core.contract.encode_abi(
        "stationReward", args=[rid, p["s1"].address])})
    assert gas < 40_000, gas

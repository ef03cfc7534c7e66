"""v2 on anvil with the EIP-7825 per-transaction gas cap enforced (--enable-tx-gas-limit): a whole round and
the heaviest transactions the contract accepts (K = 20 reveal, settle and claim) fit under 16,777,216 gas."""
from __future__ import annotations

import pytest
from v2_helpers import ETH, NAMES, V2, cfg, salt_of
from web3.exceptions import Web3RPCError

from hcfl.bench.gas import _ensure_anvil_on_path
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import TX_GAS_CAP, connect
from hcfl.chain.v2.client import CoreClient
from hcfl.protocol import PaymentRule, Phase, ShareRule


@pytest.fixture(scope="module")
def chain():
    _ensure_anvil_on_path()
    ch = connect("anvil-7825")
    yield ch
    ch.close()


def test_anvil_rejects_a_transaction_above_the_cap(chain) -> None:
    w3, f = chain.w3, chain.funder
    tx = {"from": f.address, "to": f.address, "value": 0, "gas": TX_GAS_CAP + 1, "gasPrice": w3.eth.gas_price,
          "nonce": w3.eth.get_transaction_count(f.address), "chainId": w3.eth.chain_id}
    with pytest.raises(Web3RPCError):
        w3.eth.send_raw_transaction(f.sign_transaction(tx).raw_transaction)


@pytest.mark.parametrize("rule", [PaymentRule.POSTED, PaymentRule.PAPER_RANDOM])
def test_k20_round_under_the_cap(v: V2, rule: PaymentRule) -> None:
    c = cfg(payment_rule=rule, max_proposals_per_owner=20, owner_share_rule=ShareRule.PROPORTIONAL,
            station_share_rule=ShareRule.PROPORTIONAL)
    cid = v.campaign(c)
    k = 20
    claims = {"o1": [ETH - 1 - m for m in range(k)], "o2": [2 * ETH - m for m in range(k)],
              "s1": [m * 10**15 for m in range(k)], "s2": [m * 10**14 for m in range(k)]}
    rid = v.round_to_reveal(cid, {"o1": 3 * ETH, "o2": 3 * ETH, "s1": ETH, "s2": ETH},
                            [("o1", ETH // 2 + m) for m in range(k)], claims)
    gas = [v.settle(rid)["gasUsed"]]
    r = v.core.round(rid)
    assert r.selected
    for n in ("o1", "o2", "s1", "s2"):
        gas.append(v["x"].claim(rid, v.addr(n))["gasUsed"])
    assert max(gas) < TX_GAS_CAP
    v.assert_solvent()


@pytest.fixture(scope="module")
def core(chain):
    return CoreClient.deploy(chain)


@pytest.fixture(scope="module")
def v(chain, core) -> V2:
    accounts = funded_accounts(chain, NAMES, 10**20, namespace="hcfl-v2-anvil")
    return V2(chain=chain, core=core, acct={n: core.as_participant(a) for n, a in zip(NAMES, accounts)})


def test_full_round_on_anvil(v: V2) -> None:
    cid = v.campaign(cfg())
    rid = v.round_to_reveal(cid, {"o1": 2 * ETH, "o2": ETH, "s1": ETH}, [("o1", ETH)],
                            {"o1": [2 * ETH], "o2": [ETH // 2], "s1": [ETH // 10]})
    v.settle(rid)
    for g in range(2):
        v["s1"].report_training(rid, g, b"\1" * 32, 1, 9000)
    v["o1"].finalize_training(rid, b"\2" * 32, 9000)
    v["o2"].commit_vote(rid, False, salt_of("v"))
    v.goto(rid, Phase.VOTE_REVEALING)
    v["o2"].reveal_vote(rid, False, salt_of("v"))
    v.goto(rid, Phase.FINISHED)
    v.claim_all(rid)
    v.withdraw_all()
    acc = v.core.accounting()
    assert acc.deposits == acc.escrow == acc.bonds == acc.credits == 0 and acc.balance == acc.pools

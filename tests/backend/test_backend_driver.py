"""The deadline driver on its own (embedded chain, in-process): it advances phases whose deadline passed,
refuses nothing early, and with fast-forward jumps a commit/reveal phase once everybody acted."""
from __future__ import annotations

import time

from backend.chain_watch import ChainGateway, DeadlineDriver
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.client import HCFLClient
from hcfl.chain.commitments import new_salt
from hcfl.chain.provider import embedded
from hcfl.chain.types import Phase, ProposalSpec, Role, RoundConfig


def _sleep_past(deadline: int) -> None:
    """eth-tester's clock is max(wall clock, parent + 1 s): wait until the wall clock is past the deadline."""
    time.sleep(max(0.0, deadline + 1.2 - time.time()))


def test_driver_advances_and_fast_forwards():
    chain = embedded()
    client = HCFLClient.deploy(chain)
    gw = ChainGateway(chain, client, chain.funder)
    driver = DeadlineDriver(gw, poll=0.1, fast_forward=True)
    o, s = (client.as_participant(a) for a in funded_accounts(chain, ["drv-owner", "drv-station"]))
    cfg = RoundConfig(join_duration=3, propose_duration=2, commit_duration=3600, reveal_duration=3600,
                      train_duration=3600, vote_commit_duration=3600, vote_reveal_duration=3600)
    rid = o.create_round(cfg)
    o.join(rid, Role.OWNER, deposit=10**18)
    s.join(rid, Role.STATION, deposit=10**18)
    driver.tick()
    assert client.round(rid).phase == Phase.JOINING  # deadline not passed: nothing sent
    _sleep_past(client.round(rid).phase_end)
    driver.tick()
    assert client.round(rid).phase == Phase.PROPOSING  # Joining is never fast-forwarded, only timed out
    o.propose(rid, ProposalSpec(spec_hash=b"\x01" * 32, promised_acc_bps=1, global_rounds=1, label_mask=1), bond=1)
    _sleep_past(client.round(rid).phase_end)
    driver.tick()
    assert client.round(rid).phase == Phase.COMMITTING
    salts = {p.address: new_salt() for p in (o, s)}
    o.commit_claims(rid, [100], salts[o.address])
    driver.tick()
    assert client.round(rid).phase == Phase.COMMITTING  # the station has not committed yet
    s.commit_claims(rid, [10], salts[s.address])
    driver.tick()  # everybody committed: the clock jumps over the hour
    assert client.round(rid).phase == Phase.REVEALING
    o.reveal(rid, [100], salts[o.address])
    s.reveal(rid, [10], salts[s.address])
    driver.tick()
    view = client.round(rid)
    assert view.settled and view.phase == Phase.TRAINING  # settled by the gas payer
    driver.tick()
    assert client.round(rid).phase == Phase.TRAINING  # Training is never fast-forwarded


def test_driver_without_fast_forward_waits(tmp_path):
    chain = embedded()
    client = HCFLClient.deploy(chain)
    gw = ChainGateway(chain, client, chain.funder)
    o = client.as_participant(funded_accounts(chain, ["drv2-owner"])[0])
    rid = o.create_round(RoundConfig(join_duration=3600))
    driver = DeadlineDriver(gw, poll=0.1, fast_forward=False)
    driver.start()
    time.sleep(0.5)
    driver.stop()
    assert client.round(rid).phase == Phase.JOINING
    chain.increase_time(3601)
    driver.tick()
    assert client.round(rid).phase == Phase.PROPOSING

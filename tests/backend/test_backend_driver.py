"""The deadline driver on its own (embedded chain, in-process, contract v2): it settles once the reveal
deadline passed, sends nothing early, and with fast-forward jumps each phase once everybody expected acted
(Joining/Proposing after a quiet period, Committing/Revealing when every member acted)."""
from __future__ import annotations

import time

from backend.gateway import ChainGateway
from backend.services.deadlines import DeadlineDriver
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import embedded
from hcfl.chain.v2.client import CoreClient
from hcfl.protocol import CampaignConfig, Phase, ProposalSpec, Role, new_salt

HOUR = 3600
LONG = CampaignConfig(join_duration=HOUR, propose_duration=HOUR, commit_duration=HOUR, reveal_duration=HOUR,
                      train_duration=HOUR, vote_commit_duration=HOUR, vote_reveal_duration=HOUR)


def _quiet_ticks(driver: DeadlineDriver) -> None:
    driver.tick()  # records the activity
    time.sleep(driver.quiet + 0.05)
    driver.tick()  # quiet long enough: the clock jumps


def test_driver_fast_forwards_every_phase_and_settles():
    chain = embedded()
    core = CoreClient.deploy(chain)
    gw = ChainGateway(chain, core, chain.funder)
    driver = DeadlineDriver(gw, poll=0.1, fast_forward=True, quiet=0.3)
    o, s = (core.as_participant(a) for a in funded_accounts(chain, ["drv-owner", "drv-station"]))
    rid = o.open_round(o.create_campaign(LONG))
    o.join(rid, Role.OWNER, deposit=10**18)
    driver.tick()
    time.sleep(0.4)
    driver.tick()
    assert core.state(rid) == Phase.JOINING  # no station yet: nobody to train, no jump
    s.join(rid, Role.STATION, deposit=10**18)
    driver.tick()
    assert core.state(rid) == Phase.JOINING  # a new join restarts the quiet period
    _quiet_ticks(driver)
    assert core.state(rid) == Phase.PROPOSING
    driver.tick()
    assert core.state(rid) == Phase.PROPOSING  # no proposal yet
    o.propose(rid, ProposalSpec(spec_hash=b"\x01" * 32, promised_acc_bps=1, global_rounds=1, label_mask=1,
                                price=10**15), bond=10**16)
    _quiet_ticks(driver)
    assert core.state(rid) == Phase.COMMITTING
    salts = {p.address: new_salt() for p in (o, s)}
    o.commit_claims(rid, [10**16], salts[o.address])
    driver.tick()
    assert core.state(rid) == Phase.COMMITTING  # the station has not committed yet
    s.commit_claims(rid, [10**14], salts[s.address])
    driver.tick()  # everybody committed: the clock jumps over the hour
    assert core.state(rid) == Phase.REVEALING
    o.reveal(rid, [10**16], salts[o.address])
    driver.tick()
    assert core.state(rid) == Phase.REVEALING and not core.round(rid).settled
    s.reveal(rid, [10**14], salts[s.address])
    driver.tick()
    view = core.round(rid)
    assert view.settled and view.selected and core.state(rid) == Phase.TRAINING  # settled by the gas payer
    driver.tick()
    assert core.state(rid) == Phase.TRAINING  # Training is never fast-forwarded


def test_driver_without_fast_forward_waits_then_settles():
    chain = embedded()
    core = CoreClient.deploy(chain)
    gw = ChainGateway(chain, core, chain.funder)
    o, s = (core.as_participant(a) for a in funded_accounts(chain, ["drv2-owner", "drv2-station"]))
    rid = o.open_round(o.create_campaign(LONG))
    o.join(rid, Role.OWNER, deposit=10**18)
    s.join(rid, Role.STATION, deposit=10**18)
    driver = DeadlineDriver(gw, poll=0.1, fast_forward=False, quiet=0.0)
    driver.start()
    time.sleep(0.5)
    driver.stop()
    assert core.state(rid) == Phase.JOINING
    chain.increase_time(HOUR + 1)
    o.propose(rid, ProposalSpec(spec_hash=b"\x02" * 32, global_rounds=1, price=10**15), bond=10**16)
    chain.increase_time(HOUR + 1)
    salts = {p.address: new_salt() for p in (o, s)}
    o.commit_claims(rid, [10**16], salts[o.address])
    s.commit_claims(rid, [10**14], salts[s.address])
    driver.tick()
    assert core.state(rid) == Phase.COMMITTING  # everybody acted, but no fast-forward
    chain.increase_time(HOUR + 1)
    o.reveal(rid, [10**16], salts[o.address])
    s.reveal(rid, [10**14], salts[s.address])
    driver.tick()
    assert not core.round(rid).settled  # reveal deadline not passed: settle is never sent early
    chain.increase_time(HOUR + 1)
    assert core.state(rid) == Phase.AWAITING_SETTLEMENT
    driver.tick()
    assert core.round(rid).settled and core.state(rid) == Phase.TRAINING

"""The aggregator daemon (`hcfl aggregator`) as a real subprocess, over real HTTP on loopback, against the
test coordinator in daemon_driver.py and a spawned anvil: a full multi-round session, a station killed
mid-session, SIGTERM, a tampered global model, and a coordinator restart."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fl_worker.daemon import TrainingPlan
from fl_worker.models import ModelSpec
from fl_worker.wire import state_hash
from hcfl.chain.accounts import funded_accounts
from hcfl.chain.provider import Chain, spawn_anvil
from hcfl.chain.v2.client import CoreClient as HCFLClient
from hcfl.chain.v2.client import ParticipantV2 as Participant
from hcfl.protocol import sign, update_message

from .daemon_driver import Driver, setup_training_round

pytestmark = pytest.mark.anvil

HCFL = Path(sys.executable).with_name("hcfl")
SPEC = ModelSpec(arch="mlp", input_shape=(1, 8, 8), hidden=(16,))
PLAN = TrainingPlan(dataset="digits", clients_per_station=2, partition="dirichlet", alpha=1.0, local_epochs=1,
                    batch_size=32, lr=0.1, seed=1)
MASK = 0x3FF  # all ten digits


class Env:
    def __init__(self, chain: Chain, client: HCFLClient, owners: list[Participant], stations: list[Participant]):
        self.chain, self.client, self.owners, self.stations = chain, client, owners, stations

    def training_round(self, t: int) -> int:
        return setup_training_round(self.chain, self.client, self.owners, self.stations, SPEC, PLAN, t, MASK)

    def driver(self, rid: int, t: int, **kw: object) -> Driver:
        return Driver(self.chain, self.client, rid, SPEC, PLAN, t, MASK, **kw)  # type: ignore[arg-type]

    def reports(self, rid: int) -> list[dict]:
        return [e.args for e in self.client.events(round_id=rid) if e.name == "TrainingReported"]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    chain = spawn_anvil()
    try:
        client = HCFLClient.deploy(chain)
        accounts = funded_accounts(chain, ["d-owner-1", "d-owner-2", "d-station-1", "d-station-2"], 10**20,
                                   namespace="hcfl-daemon-test")
        parts = [client.as_participant(a) for a in accounts]
        yield Env(chain, client, parts[:2], parts[2:])
    finally:
        chain.close()


class Daemon:
    """One `hcfl aggregator` subprocess with its log file."""

    def __init__(self, tmp: Path, station: Participant, url: str, rid: int, *extra: str) -> None:
        self.station = station
        key = tmp / f"{station.address}.key"
        key.write_text("0x" + bytes(station.account.key).hex() + "\n")
        key.chmod(0o600)
        self.log_path = tmp / f"{station.address}.log"
        self._log = open(self.log_path, "wb")
        cmd = [str(HCFL), "aggregator", "--coordinator", url, "--key", str(key), "--round", str(rid),
               "--poll", "0.2", "--max-backoff", "1", *(extra or ("--simulate",))]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"daemon {self.station.address} did not exit in {timeout}s; log:\n{self.log}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(station: Participant, url: str, rid: int, *extra: str) -> Daemon:
        d = Daemon(tmp_path, station, url, rid, *extra)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, logs: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs()}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_reports(env: Env, driver: Driver, rid: int, t: int) -> None:
    reports = env.reports(rid)
    got = {(r["station"], r["globalRound"]): r for r in reports}
    assert len(got) == len(reports) == 2 * t
    for g in range(t):
        for st in env.stations:
            r = got[(st.address, g)]
            up = driver.state.uploads[g][st.address]
            assert "0x" + bytes(r["updateHash"]).hex() == up.update_hash
            assert (r["samples"], r["accuracyBps"]) == (up.samples, up.accuracy_bps)
            assert up.samples > 0 and 0 < up.accuracy_bps <= 10_000


# ============================================================================ tests
def test_two_daemons_complete_a_session(env: Env, daemons: Callable[..., Daemon]) -> None:
    t = 2
    rid = env.training_round(t)
    driver = env.driver(rid, t).start()
    try:
        procs = [daemons(st, driver.url, rid) for st in env.stations]
        for d in procs:
            assert d.wait(120) == 0, d.log
        assert driver.done and not driver.state.rejected
        _check_reports(env, driver, rid, t)
        for d in procs:
            for g in range(t):
                assert f"round {rid} g={g}: samples=" in d.log and "tx=0x" in d.log
            assert "training is over" in d.log
        # the station models really trained: the accuracy recorded rises over the session
        first = sum(u.accuracy_bps for u in driver.state.uploads[0].values())
        last = sum(u.accuracy_bps for u in driver.state.uploads[t - 1].values())
        assert last >= first
    finally:
        driver.stop()


def test_killed_daemon_is_tolerated_and_paid_less(env: Env, daemons: Callable[..., Daemon]) -> None:
    t = 3
    rid = env.training_round(t)
    survivor, victim = env.stations
    # the victim is held (told to wait) from g=1 on, so it dies with exactly one report; g=0 closes when both
    # uploaded, later rounds by the driver's round timeout, lowered once the victim is gone
    driver = env.driver(rid, t, round_timeout=3600.0, hold={victim.address: 1}).start()
    try:
        a = daemons(survivor, driver.url, rid)
        b = daemons(victim, driver.url, rid)
        wait_for(lambda: env.client.has_reported(rid, victim.address, 0), 90, "the victim's first report",
                 lambda: b.log)
        b.proc.send_signal(signal.SIGKILL)
        assert b.proc.wait(10) == -signal.SIGKILL
        # g=0 closes only once both stations uploaded (the timeout is still 3600 s): lower it only after that,
        # else a slow survivor's first upload races the timeout and g=0 closes with the victim's update alone
        wait_for(lambda: driver.state.g >= 1, 90, "g=0 closed with both uploads", lambda: a.log)
        driver.round_timeout = 1.0
        assert a.wait(120) == 0, a.log
        assert driver.done
    finally:
        driver.stop()
    c = env.client
    assert c.participant(rid, survivor.address).reported == t, a.log
    killed_rounds = c.participant(rid, victim.address).reported
    assert killed_rounds == 1
    # the rounds after the kill were closed by the timeout with the survivor's model only
    assert [sorted(driver.state.uploads[g]) for g in range(t)] == [sorted([survivor.address, victim.address])] + [
        [survivor.address]] * (t - 1)
    # finish the round: rewards are share * reportedRounds / t
    winner = env.owners[0]
    winner.finalize_training(rid, b"\x01" * 32, 5000)  # no scores root: the stations' split is by stake
    # the victim never reports again: training closes at its deadline, then the vote windows (nobody votes)
    env.chain.wait_until(c.round(rid).train_end + 2 * 60)
    for st in (survivor, victim):
        c.nonces.forget(st.address)
    for st in (survivor, victim):
        st.claim(rid)
    rewards = {e.args["station"]: e.args for e in c.events(round_id=rid) if e.name == "StationRewarded"}
    share = rewards[survivor.address]["share"]
    assert rewards[survivor.address]["reward"] == share > 0
    assert rewards[victim.address]["reward"] == rewards[victim.address]["share"] * killed_rounds // t < share


def test_sigterm_exits_cleanly(env: Env, daemons: Callable[..., Daemon]) -> None:
    t = 2
    rid = env.training_round(t)
    driver = env.driver(rid, t, round_timeout=600).start()  # the other station never comes: g=0 stays open
    try:
        d = daemons(env.stations[0], driver.url, rid)
        wait_for(lambda: env.client.has_reported(rid, env.stations[0].address, 0), 90, "the first report",
                 lambda: d.log)
        time.sleep(0.5)  # now polling: {"status": "wait"}
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        assert d.wait(10) == 0, d.log
        assert time.monotonic() - t0 < 5
        assert "SIGTERM received: stopping" in d.log and "stopped cleanly" in d.log
        assert "Traceback" not in d.log
    finally:
        driver.stop()


def test_refuses_global_model_with_wrong_hash(env: Env, daemons: Callable[..., Daemon]) -> None:
    t = 2
    rid = env.training_round(t)
    driver = env.driver(rid, t, tamper_global=True).start()
    try:
        d = daemons(env.stations[0], driver.url, rid)
        wait_for(lambda: "hash mismatch" in d.log, 90, "the hash-mismatch error", lambda: d.log)
        wait_for(lambda: d.log.count("hash mismatch") >= 2, 30, "a second (refused) attempt", lambda: d.log)
        assert "ERROR" in d.log and "not training it" in d.log
        assert not any(r.startswith("PUT") for r in driver.state.requests)
        assert not driver.state.uploads.get(0)
        assert env.reports(rid) == []
        d.proc.send_signal(signal.SIGTERM)
        assert d.wait(10) == 0, d.log
    finally:
        driver.stop()


def test_survives_coordinator_restart(env: Env, daemons: Callable[..., Daemon]) -> None:
    t = 2
    rid = env.training_round(t)
    port = free_port()
    driver = env.driver(rid, t)
    procs = [daemons(st, f"http://127.0.0.1:{port}", rid) for st in env.stations]  # coordinator not up yet
    try:
        time.sleep(1.0)
        driver.start(port)
        wait_for(lambda: driver.state.g >= 1, 90, "global round 0 to close", lambda: procs[0].log + procs[1].log)
        driver.stop()  # the coordinator goes away mid-session ...
        time.sleep(3.0)
        driver.start(port)  # ... and comes back on the same port with its state
        for d in procs:
            assert d.wait(120) == 0, d.log
        assert driver.done
        _check_reports(env, driver, rid, t)
        for d in procs:
            assert "retrying in" in d.log and "reachable again" in d.log
    finally:
        driver.stop()


def test_reports_uploads_left_unreported(env: Env, daemons: Callable[..., Daemon]) -> None:
    """Both stations uploaded g=0 (signed, as a daemon does) but died before reportTraining: restarted daemons
    report g=0 from the coordinator's history, then train g=1."""
    t = 2
    rid = env.training_round(t)
    driver = env.driver(rid, t).start()
    try:
        body = driver.state.globals_[0]  # the initial model stands in for a trained one
        update_hash = state_hash(body)
        for st in env.stations:
            msg = update_message(env.client.chain_id, env.client.address, rid, 0, update_hash, 100, 1234)
            r = httpx.put(f"{driver.url}/api/rounds/{rid}/updates/0", content=body, headers={
                "X-HCFL-Station": st.address, "X-HCFL-Samples": "100", "X-HCFL-Accuracy-Bps": "1234",
                "X-HCFL-Signature": sign(st.account, msg)})
            assert r.status_code == 200, r.text
        assert driver.state.g == 1 and env.reports(rid) == []
        procs = [daemons(st, driver.url, rid) for st in env.stations]
        for d in procs:
            assert d.wait(120) == 0, d.log
            assert "reported an earlier upload" in d.log
        zero = [r for r in env.reports(rid) if r["globalRound"] == 0]
        assert sorted(r["station"] for r in zero) == sorted(st.address for st in env.stations)
        assert all(("0x" + bytes(r["updateHash"]).hex(), r["samples"], r["accuracyBps"]) == (update_hash, 100, 1234)
                   for r in zero)
        assert len(env.reports(rid)) == 2 * t
    finally:
        driver.stop()


def test_station_silo_trains_on_its_own_data(env: Env, daemons: Callable[..., Daemon], tmp_path: Path) -> None:
    """`--data DIR`: a station without edge clients trains on its own folder (the plan assigns it nothing)."""
    import numpy as np

    from fl_worker.data import load_digits

    t = 2
    rid = env.training_round(t)
    train = load_digits(seed=0).train
    own = tmp_path / "own-data"
    own.mkdir()
    np.savez(own / "part.npz", X=train.X[:300].numpy().reshape(300, 64), y=train.y[:300].numpy())
    driver = env.driver(rid, t).start()
    try:
        silo = daemons(env.stations[0], driver.url, rid, "--data", str(own))
        sim = daemons(env.stations[1], driver.url, rid, "--simulate")
        for d in (silo, sim):
            assert d.wait(120) == 0, d.log
        assert "station data: 300 samples (part.npz)" in silo.log and "silo mode" in silo.log
        expected = int(sum(1 for y in train.y[:300].tolist() if (MASK >> y) & 1))
        assert [driver.state.uploads[g][env.stations[0].address].samples for g in range(t)] == [expected] * t
    finally:
        driver.stop()
    bad = tmp_path / "bad-data"
    bad.mkdir()
    np.savez(bad / "part.npz", X=np.zeros((5, 64), np.float32), y=np.zeros(4, np.int64))
    d = daemons(env.stations[0], driver.url, rid, "--data", str(bad))
    assert d.wait(60) == 1 and "y must have shape (5,)" in d.log and "Traceback" not in d.log


def test_edge_station_without_reachable_edge_clients_says_so(env: Env, daemons: Callable[..., Daemon]) -> None:
    """`--edge` with nobody in the cell: after --edge-timeout a clear error, no upload, no report; the daemon
    keeps serving (edge clients may still come) and stops cleanly on SIGTERM."""
    t = 2
    rid = env.training_round(t)
    driver = env.driver(rid, t).start()
    try:
        d = daemons(env.stations[0], driver.url, rid, "--edge", "--edge-flower", f"127.0.0.1:{free_port()}",
                    "--edge-http", f"127.0.0.1:{free_port()}", "--edge-timeout", "2")
        wait_for(lambda: "no update from the edge" in d.log, 90, "the no-edge-clients error", lambda: d.log)
        assert "only 0 edge client(s) connected" in d.log and "within 2s, 1 needed" in d.log
        assert not driver.state.uploads.get(0) and env.reports(rid) == []
        d.proc.send_signal(signal.SIGTERM)
        assert d.wait(30) == 0, d.log
        assert "Traceback" not in d.log
    finally:
        driver.stop()

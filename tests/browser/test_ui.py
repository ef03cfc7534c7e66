"""The web UI end to end in headless Debian chromium (playwright-core from node_modules, no browser download).

The test spawns anvil, starts the real coordinator (`hcfl serve --chain URL --fast-forward`) on a free port,
creates a round and drives the other participants (one owner, two base stations) and the chain clock from
Python and the two stations' aggregator daemons (`hcfl aggregator`, real training on `digits`), while
`ui_flow.mjs` makes an owner join, propose, commit, reveal, follow training, finalize as the winner, withdraw
and check the stations and auditor tabs in the browser with an anvil dev key. Screenshots land in
reports/screenshots/.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from backend.health import wait_until_serving
from hcfl.chain import commitments
from hcfl.chain.client import ContractRevert, HCFLClient, TxFailed
from hcfl.chain.provider import anvil_key, spawn_anvil
from hcfl.chain.types import Phase, Role, RoundConfig

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HCFL_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "reports" / "screenshots"
GWEI = 10**9

pytestmark = [pytest.mark.browser, pytest.mark.anvil, pytest.mark.slow]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install Debian chromium: `make browser-deps` or `apt-get install -y chromium`)"
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (npm install)"
    if shutil.which("node") is None:
        return "node is not on PATH"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build_ui() -> None:
    if not (ROOT / "backend" / "static" / "dist" / "app.js").exists() or os.environ.get("HCFL_REBUILD_UI"):
        subprocess.run(["node", "scripts/build_ui.mjs"], cwd=ROOT, check=True, timeout=120)


class Others(threading.Thread):
    """The rest of the round, from Python: owner B and two stations act in each phase, and the chain's clock
    jumps over the join and propose deadlines once the browser's owner has acted (the coordinator's
    deadline driver then advances; with --fast-forward it also ends commit/reveal once everybody acted)."""

    def __init__(self, chain, client: HCFLClient, rid: int, browser_addr: str) -> None:
        super().__init__(daemon=True)
        self.chain, self.client, self.rid, self.browser = chain, client, rid, browser_addr
        self.owner = client.as_participant(anvil_key(2))
        self.stations = [client.as_participant(anvil_key(3)), client.as_participant(anvil_key(4))]
        self.claims = {self.owner.address: [100 * GWEI], self.stations[0].address: [50 * GWEI],
                       self.stations[1].address: [60 * GWEI]}
        self.salts = {a: commitments.new_salt() for a in self.claims}
        self.vote_salt = commitments.new_salt()
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def people(self):
        return [self.owner, *self.stations]

    def _jump(self, phase_end: int) -> None:
        if self.chain.now() <= phase_end:
            self.chain.increase_time(phase_end - self.chain.now() + 1)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
                time.sleep(0.3)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def once(self, key: str, fn) -> None:
        if key in self.done:
            return
        try:
            fn()
        except (ContractRevert, TxFailed) as exc:
            if getattr(exc, "error", "") in ("AlreadyCommitted", "AlreadyRevealed", "VoteAlreadyCommitted",
                                             "VoteAlreadyRevealed"):
                self.done.add(key)
                return
            raise
        self.done.add(key)

    def step(self) -> None:
        view = self.client.round(self.rid)
        if view.phase == Phase.JOINING:
            owners, _ = self.client.members(self.rid)
            if self.browser in owners:
                self._jump(view.phase_end)
        elif view.phase == Phase.PROPOSING and view.proposal_count >= 1:
            self._jump(view.phase_end)
        elif view.phase == Phase.COMMITTING:
            for p in self.people():
                self.once(f"commit:{p.address}", lambda p=p: p.commit_claims(self.rid, self.claims[p.address], self.salts[p.address]))
        elif view.phase == Phase.REVEALING:
            for p in self.people():
                self.once(f"reveal:{p.address}", lambda p=p: p.reveal(self.rid, self.claims[p.address], self.salts[p.address]))
        elif view.phase == Phase.VOTE_COMMITTING:  # the stations' daemons trained; owner B votes to keep
            self.once("vote-commit", lambda: self.owner.commit_vote(self.rid, False, self.vote_salt))
        elif view.phase == Phase.VOTE_REVEALING:
            self.once("vote-reveal", lambda: self.owner.reveal_vote(self.rid, False, self.vote_salt))


@pytest.fixture
def coordinator(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    _build_ui()
    chain = spawn_anvil()
    port = _free_port()
    log = open(tmp_path / "coordinator.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcfl.cli", "serve", "--chain", chain.rpc_url, "--port", str(port),
         "--db", str(tmp_path / "coord.sqlite"), "--data-dir", str(tmp_path / "data"), "--poll", "0.5",
         "--fast-forward", "--log-level", "warning"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_until_serving(base, proc=proc, timeout=120, log_path=tmp_path / "coordinator.log")
        yield chain, base, health["contract"], tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        chain.close()


def test_owner_flow_in_the_browser(coordinator):
    chain, base, contract, tmp_path = coordinator
    client = HCFLClient(chain.w3, contract)
    host = client.as_participant(anvil_key(5))
    long = 3600  # nothing ends by wall-clock time; the test and the coordinator move the clock
    rid = host.create_round(RoundConfig(join_duration=long, propose_duration=long, commit_duration=long,
                                        reveal_duration=long, train_duration=long))
    browser_key = anvil_key(1)
    others = Others(chain, client, rid, browser_key.address)
    for p in others.people():
        p.join(rid, Role.OWNER if p is others.owner else Role.STATION, 10**17)
    others.start()
    daemons = []
    for i, st in enumerate(others.stations):  # the stations' aggregator daemons train for real (digits)
        key_file = tmp_path / f"station-{i}.key"
        key_file.write_text("0x" + bytes(st.account.key).hex())
        daemons.append(subprocess.Popen(
            [sys.executable, "-m", "hcfl.cli", "aggregator", "--coordinator", base, "--key", str(key_file),
             "--round", str(rid), "--poll", "0.5", "--simulate"],
            cwd=ROOT, stdout=open(tmp_path / f"daemon-{i}.log", "w"), stderr=subprocess.STDOUT))
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASE_URL": base, "DEV_KEY": "0x" + bytes(browser_key.key).hex(), "SHOTS": str(SHOTS),
           "CHROMIUM": str(CHROMIUM)}
    try:
        res = subprocess.run(["node", str(Path(__file__).with_name("ui_flow.mjs"))], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=420)
    finally:
        others.stop.set()
        others.join(timeout=10)
        for d in daemons:
            d.terminate()
            try:
                d.wait(timeout=20)
            except subprocess.TimeoutExpired:
                d.kill()
    steps = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    coord_log = (tmp_path / "coordinator.log").read_text()[-3000:]
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\ncoordinator log:\n{coord_log}"
    assert others.error is None, others.error
    names = [s["step"] for s in steps]
    for step in ("signer", "joined", "proposed", "committed", "revealed", "revert", "trained", "finalized", "finished",
                 "withdrawn", "stations", "audit", "done"):
        assert step in names, names
    by = {s["step"]: s for s in steps}
    assert by["signer"]["address"] == browser_key.address
    assert by["audit"]["status"] == "verified"
    assert "RoundSettled" in by["audit"]["events"] and "ClaimsRevealed" in by["audit"]["events"]
    stored = by["committed"]["stored"]
    assert stored and stored[0]["claims"] == [str(120 * GWEI)]
    # the browser's commitment is the one hcfl/chain/commitments.py computes
    salt = bytes.fromhex(stored[0]["salt"][2:])
    assert stored[0]["commitment"] == "0x" + commitments.claims_commitment(rid, browser_key.address, [120 * GWEI], salt).hex()
    assert by["trained"]["points"] == 2  # one accuracy point per global round on the chart
    # on chain: the browser owner's proposal won, its revealed claim is the one typed in gwei, the winner
    # finalized with the coordinator's result, owner B kept the bond, the stations were paid, all withdrawn
    view = client.round(rid)
    assert view.phase == Phase.FINISHED and view.selected_index == 0 and view.finalized and not view.punished
    result = httpx.get(f"{base}/api/rounds/{rid}/training", timeout=30).json()["result"]
    assert view.achieved_acc_bps == result["achieved_acc_bps"]
    assert client.outcome(rid)[1] == result["scores"]
    rewarded = [e for e in client.events(round_id=rid) if e.name == "StationRewarded"]
    assert len(rewarded) == 2 and all(e.args["reward"] == e.args["share"] > 0 for e in rewarded)
    prop = client.proposals(rid)[0]
    assert prop.proposer == browser_key.address and prop.label_mask == 0x1FF and prop.bond == 10**15
    assert prop.promised_acc_bps == 9000 and prop.global_rounds == 2
    assert client.participant(rid, browser_key.address).claims == [120 * GWEI]
    assert client.credit_of(browser_key.address) == 0
    audit = httpx.get(f"{base}/api/audit", timeout=30).json()
    assert audit["ok"] is True and audit["rounds"][rid]["status"] == "verified"
    assert audit["rounds"][rid]["finished"] and "round_end_pools" in audit["rounds"][rid]["checks"]
    for name in ("01-start", "02-proposed", "03-committed", "04-owners-training", "05-finalized", "06-stations",
                 "07-auditors"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000

"""The web UI (contract v2) end to end in headless Debian chromium (playwright-core from node_modules, no
browser download), against the real coordinator (`hcfl serve`) and the stations' real aggregator daemons.

`test_v2_flow_in_the_browser`: anvil; the browser (an anvil dev key) creates a campaign with typed values
(kept through refreshes), opens a round, joins as an owner (a stale validation error clears), proposes,
commits with a double click (one commitment, the salt kept), exports its salt, loses it, imports it and
reveals, follows training (chart >= 150 px tall at 390 px), finalizes after the below-promise warning,
claims and withdraws; then a station's and the auditor's screens. Owner B, two stations, the daemons
(`hcfl aggregator --simulate`) and the chain clock are driven from Python.
`test_embedded_dev_key_creates_a_round`: the default embedded chain; the page offers its funded dev keys and
one of them creates a campaign and opens two rounds back to back; then a page with an injected EIP-1193 wallet
(window.ethereum, signed in Node) creates a campaign and opens a round. Every /rpc exchange is logged and none
may be refused. Screenshots land in reports/screenshots/ (each role's screen at desktop width and 390 px).
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
from hcfl.chain.provider import anvil_key, spawn_anvil
from hcfl.chain.v2.client import CoreClient
from hcfl.protocol import Phase, Role, commitments

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HCFL_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "reports" / "screenshots"
ETH = 10**18

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
        subprocess.run(["node", "scripts/build_ui.mjs"], cwd=ROOT, check=True, timeout=300)


def _serve(tmp_path: Path, *chain_args: str):
    port = _free_port()
    log = open(tmp_path / "coordinator.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcfl.cli", "serve", *chain_args, "--port", str(port), "--db", str(tmp_path / "coord.sqlite"),
         "--data-dir", str(tmp_path / "data"), "--poll", "0.5", "--log-level", "warning"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_until_serving(base, proc=proc, timeout=180, log_path=tmp_path / "coordinator.log")
    except BaseException:
        proc.kill()
        log.close()
        raise
    return proc, log, base, health


def _stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _browser(script: str, env: dict[str, str], timeout: int) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["node", str(Path(__file__).with_name(script))], cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "SHOTS": str(SHOTS), "CHROMIUM": str(CHROMIUM), **env})
    steps = {}
    (SHOTS / f"{script}.log").write_text(res.stdout + res.stderr)
    for line in res.stdout.splitlines():
        if line.startswith("{"):
            s = json.loads(line)
            steps[s["step"]] = s
    return res, steps


class Others(threading.Thread):
    """Owner B and two stations act in each phase of the browser's round; the chain's clock jumps over a
    deadline once everybody, the browser included, has done what that phase is for."""

    def __init__(self, chain, core: CoreClient, browser_addr: str) -> None:
        super().__init__(daemon=True)
        self.chain, self.core, self.browser = chain, core, browser_addr
        self.owner = core.as_participant(anvil_key(2))
        self.stations = [core.as_participant(anvil_key(3)), core.as_participant(anvil_key(4))]
        self.claims = {self.owner.address: [4 * 10**16], self.stations[0].address: [5 * 10**15],
                       self.stations[1].address: [6 * 10**15]}
        self.salts = {a: commitments.new_salt() for a in self.claims}
        self.vote_salt = commitments.new_salt()
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.rid = 0
        self.base = ""
        self.opened = threading.Event()

    def people(self):
        return [self.owner, *self.stations]

    def _jump(self, end: int) -> None:
        if self.chain.now() <= end:
            self.chain.increase_time(end - self.chain.now() + 1)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
                time.sleep(0.4)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def once(self, key: str, fn) -> None:
        if key not in self.done:
            fn()
            self.done.add(key)

    def step(self) -> None:
        if self.core.counts()[1] == 0:
            return
        self.opened.set()
        rid = self.rid
        view = self.core.round(rid)
        me = self.core.participant(rid, self.browser)
        if view.phase == Phase.JOINING:
            for p in self.people():
                self.once(f"join:{p.address}", lambda p=p: p.join(rid, Role.OWNER if p is self.owner else Role.STATION, ETH // 10))
            if me.role != Role.NONE:
                self._jump(view.join_end)
        elif view.phase == Phase.PROPOSING and view.k >= 1:
            self._jump(view.propose_end)
        elif view.phase == Phase.COMMITTING:
            for p in self.people():
                self.once(f"commit:{p.address}", lambda p=p: p.commit_claims(rid, self.claims[p.address], self.salts[p.address]))
            if me.committed:
                self._jump(view.commit_end)
        elif view.phase == Phase.REVEALING:
            for p in self.people():
                self.once(f"reveal:{p.address}", lambda p=p: p.reveal(rid, self.claims[p.address], self.salts[p.address]))
            if me.revealed:
                self._jump(view.reveal_end)
        elif view.phase == Phase.VOTE_COMMITTING:  # the daemons trained, the browser finalized; B votes in the browser
            if self.core.vote(rid, self.owner.address).committed:
                cfg = self.core.campaign(view.campaign_id).cfg
                self._jump(view.train_closed_at + cfg.vote_commit_duration)
        elif view.phase == Phase.VOTE_REVEALING:
            if self.core.vote(rid, self.owner.address).revealed:
                cfg = self.core.campaign(view.campaign_id).cfg
                self._jump(view.train_closed_at + cfg.vote_commit_duration + cfg.vote_reveal_duration)
        elif view.phase == Phase.FINISHED:
            for p in (self.stations[1], self.owner):  # station 0 proves and claims in the browser
                self.once(f"claim:{p.address}", lambda p=p: self._claim(rid, p))

    def _claim(self, rid: int, p) -> None:
        """Station 1 proves its inclusion leaf (the coordinator's proof) when the winner recorded a root, then claims."""
        root, proven, _, _ = self.core.inclusion_of(rid, p.address)
        if p is not self.owner and int.from_bytes(root, "big") and not proven:
            result = httpx.get(f"{self.base}/api/rounds/{rid}/training", timeout=30).json()["result"]
            leaf = next(x for x in result["inclusion_leaves"] if x["station"] == p.address)
            p.prove_inclusion(rid, int(leaf["included_rounds"]), [bytes.fromhex(x[2:]) for x in leaf["proof"]])
        p.claim(rid, p.address)


@pytest.fixture
def anvil_coordinator(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    _build_ui()
    chain = spawn_anvil()
    try:
        proc, log, base, health = _serve(tmp_path, "--chain", chain.rpc_url)
        try:
            yield chain, base, health["contract"], tmp_path
        finally:
            _stop(proc, log)
    finally:
        chain.close()


@pytest.mark.anvil
def test_v2_flow_in_the_browser(anvil_coordinator):
    chain, base, contract, tmp_path = anvil_coordinator
    core = CoreClient(chain.w3, contract)
    browser_key = anvil_key(1)
    others = Others(chain, core, browser_key.address)
    others.base = base
    others.start()
    daemons = []

    def start_daemons() -> None:
        others.opened.wait(timeout=300)
        for i, st in enumerate(others.stations):  # the stations' aggregator daemons train for real (simulated edge)
            key_file = tmp_path / f"station-{i}.key"
            key_file.write_text("0x" + bytes(st.account.key).hex())
            daemons.append(subprocess.Popen(
                [sys.executable, "-m", "hcfl.cli", "aggregator", "--coordinator", base, "--key", str(key_file),
                 "--round", "0", "--poll", "0.5", "--simulate"],
                cwd=ROOT, stdout=open(tmp_path / f"daemon-{i}.log", "w"), stderr=subprocess.STDOUT))

    starter = threading.Thread(target=start_daemons, daemon=True)
    starter.start()
    try:
        res, by = _browser("ui_flow.mjs", {"BASE_URL": base, "DEV_KEY": "0x" + bytes(browser_key.key).hex(),
                                           "STATION_KEY": "0x" + bytes(others.stations[0].account.key).hex(),
                                           "OWNER_B_KEY": "0x" + bytes(others.owner.account.key).hex()}, 900)
    finally:
        others.stop.set()
        others.join(timeout=10)
        starter.join(timeout=1)
        for d in daemons:
            d.terminate()
            try:
                d.wait(timeout=20)
            except subprocess.TimeoutExpired:
                d.kill()
    coord_log = (tmp_path / "coordinator.log").read_text()[-3000:]
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\ncoordinator log:\n{coord_log}"
    assert others.error is None, others.error
    for step in ("signer", "typed-kept", "round-opened", "stale-cleared", "proposed", "committed", "salt-lost", "revealed",
                 "settled", "trained", "finalized", "model", "contested", "voted", "withdrawn", "stations", "audit", "done"):
        assert step in by, list(by)
    assert by["signer"]["address"] == browser_key.address
    assert any(anvil_key(1).address[:6] in o for o in by["signer"]["offered"])  # anvil's dev keys on anvil
    # typed input survived the refreshes and is what the contract got
    assert {k: v for k, v in by["typed-kept"].items() if k != "step"} == {"train": "7200", "unit": "gwei", "vote": "1000000"}
    cfg = core.campaign(0).cfg
    assert cfg.train_duration == 7200 and cfg.vote_deposit == 10**15 and cfg.join_duration == 3600
    assert core.campaign(0).creator == browser_key.address
    # a countdown in chain time for the 3600-s join phase
    assert "ends in" in by["round-opened"]["countdown"] and "chain time" in by["round-opened"]["countdown"]
    # the stale validation error was replaced by the confirmation
    assert "deposit is empty" in by["stale-cleared"]["stale"] and not by["stale-cleared"]["hasErr"]
    assert "confirmed" in by["stale-cleared"]["after"]
    # double click: exactly one salt record, committed, whose commitment is on chain and equals Python's
    stored = by["committed"]["stored"]
    assert len(stored) == 1 and stored[0]["status"] == "committed", stored
    salt = bytes.fromhex(stored[0]["salt"][2:])
    assert stored[0]["claims"] == [str(4 * 10**16)]
    expected = commitments.claims_commitment(0, browser_key.address, [4 * 10**16], salt)
    assert stored[0]["commitment"] == "0x" + expected.hex()
    commits = [e for e in core.events(round_id=0) if e.name == "ClaimsCommitted" and e.args["account"] == browser_key.address]
    assert len(commits) == 1
    assert "imported 1" in by["revealed"]["imported"]
    # training, the chart at 390 px, finalize after the warning
    assert by["trained"]["points"] == 2 and by["trained"]["chartH"] >= 150
    assert by["trained"]["pageW"] <= 400, by["trained"]  # nothing forces sideways scrolling of the page
    assert "below your promised 99.00 %" in by["finalized"]["warning"]
    # rewards only for included work: the winner's page recorded the coordinator's roots, then finalized
    result = httpx.get(f"{base}/api/rounds/0/training", timeout=30).json()["result"]
    evs = core.events(round_id=0)
    recorded = [e for e in evs if e.name == "InclusionRecorded"]
    finalized = [e for e in evs if e.name == "TrainingFinalized"]
    assert len(recorded) == 1 and len(finalized) == 1, [e.name for e in evs]
    assert recorded[0].args["winner"] == browser_key.address
    assert "0x" + bytes(recorded[0].args["inclusionRoot"]).hex() == result["inclusion_root"]
    assert "0x" + bytes(recorded[0].args["manifestsRoot"]).hex() == result["manifests_root"]
    assert (recorded[0].block_number, recorded[0].log_index) < (finalized[0].block_number, finalized[0].log_index)
    assert "inclusion root recorded" in by["finalized"]["msg"] and "finalize training: confirmed" in by["finalized"]["msg"]
    leaves = {x["station"]: x for x in result["inclusion_leaves"]}
    assert sorted(r["station"] for r in by["finalized"]["included"]) == sorted(st.address for st in others.stations)
    for row in by["finalized"]["included"]:  # the winner's screen shows each station's included rounds
        assert row["included"] == f"{leaves[row['station']]['included_rounds']} / 2", row
    assert "= the model hash on chain ✓" in by["model"]["msg"]
    # owner B's vote from the browser: warned, kept, revealed; the bond went back to the winner
    assert "KEEP" in by["voted"]["voteWarning"] and "0.001 ETH" in by["voted"]["voteWarning"]
    assert by["voted"]["state"].startswith("revealed: keep")
    assert not {"o-finalize-msg", "o-model-msg"} & set(by["voted"]["staleAfterSwitch"]), by["voted"]  # cleared on a new signer
    vote = core.vote(0, others.owner.address)
    assert vote.revealed and not vote.punish  # downloaded with a signed request, hash checked
    view = core.round(0)
    assert view.phase == Phase.FINISHED and view.selected and view.star == 0 and view.finalized
    assert view.achieved_acc_bps == result["achieved_acc_bps"]
    assert core.participant(0, browser_key.address).claims[0] == 4 * 10**16
    assert core.credit_of(browser_key.address) == 0
    rewarded = [e for e in core.events(round_id=0) if e.name == "StationRewarded"]
    assert len(rewarded) == 2 and all(e.args["reward"] > 0 for e in rewarded)
    # station 0 proved its leaf and claimed through the page (both transactions signed by its key in the browser)
    st0 = others.stations[0].address
    proven = [e for e in core.events(round_id=0) if e.name == "InclusionProven" and e.args["station"] == st0]
    assert len(proven) == 1 and proven[0].args["includedRounds"] == leaves[st0]["included_rounds"]
    assert chain.w3.eth.get_transaction(proven[0].tx_hash)["from"] == st0
    mine = next(e for e in rewarded if e.args["station"] == st0)
    assert chain.w3.eth.get_transaction(mine.tx_hash)["from"] == st0
    _, is_proven, included_on_chain, _ = core.inclusion_of(0, st0)
    counted = min(included_on_chain, core.participant(0, st0).reported)
    assert is_proven and counted == leaves[st0]["included_rounds"] == 2
    # exactly the reward the chain computes: share * min(included, reported) / t, and what the page shows
    assert mine.args["reward"] == mine.args["share"] * counted // 2 and mine.args["forfeited"] == mine.args["share"] - mine.args["reward"]
    assert f"{mine.args['reward']} wei" in by["stations"]["rewardCell"], by["stations"]["rewardCell"]
    withdrawn = [e for e in core.events() if e.name == "Withdrawn" and e.args["account"] == st0]
    settled = next(e for e in core.events(round_id=0) if e.name == "ParticipantSettled" and e.args["account"] == st0)
    assert len(withdrawn) == 1 and withdrawn[0].args["amount"] == settled.args["refund"] + mine.args["reward"]
    assert "included in 2 of 2" in by["stations"]["includedText"] and "not proven" in by["stations"]["provenBefore"]
    assert "inclusion proven (2 of 2 rounds)" in by["stations"]["claimMsg"] and "claim: confirmed" in by["stations"]["claimMsg"]
    assert "paid for 2 of 2" in by["stations"]["provenAfter"]
    # it contested the root through the page (warned that the owners' vote decides); the vote kept the result, so
    # it was paid for its proven leaf
    contested = [e for e in core.events(round_id=0) if e.name == "InclusionContested"]
    assert [e.args["station"] for e in contested] == [st0]
    assert chain.w3.eth.get_transaction(contested[0].tx_hash)["from"] == st0
    assert core.inclusion_of(0, st0)[3] is True
    assert "punishment vote decides" in by["contested"]["contestWarning"] and "confirmed" in by["contested"]["contestMsg"]
    assert "punish the winner" in by["contested"]["contestNote"] and by["contested"]["contestBoxHidden"] is True
    assert by["stations"]["reports"] == 4
    assert by["stations"]["stationCredit"] == "0.11 ETH" and by["stations"]["after"] == "0 ETH"  # deposit + reward, withdrawn
    assert "verified" in by["audit"]["overall"] and "RoundSettled" in by["audit"]["events"]
    assert by["audit"]["colW"] >= 60  # the events table scrolls sideways instead of one-letter columns
    audit = httpx.get(f"{base}/api/audit", timeout=60).json()
    assert audit["ok"] is True
    for name in ("01-creator", "02-proposed", "03-committed", "04-owner-training", "04b-owner-training-390px",
                 "04c-winner-finalize", "04c-winner-finalize-390px", "05-owner-finished", "05-owner-finished-390px",
                 "06-station", "06-station-390px", "07-auditors", "08-auditors-390px", "09-voter", "09-voter-390px"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000


# Regression (issue 12): the page's second transaction right after the first confirmed (createCampaign, then
# openRound) reused the first one's nonce: ethers answers an identical eth_getTransactionCount from a 250-ms
# cache, the embedded chain (eth-tester, unlike geth/anvil) refused the gas estimate for the stale nonce, and
# ethers turned that into "CALL_EXCEPTION, missing revert data". It depended on timing (the two transactions
# within 250 ms). The RPC log makes any refusal visible, and two rounds are opened back to back.
def test_embedded_dev_key_creates_a_round(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    _build_ui()
    from hcfl.protocol.ui import tables

    dev = tables()["DEV_KEYS"]["embedded"]
    proc, log, base, health = _serve(tmp_path)  # the default chain: embedded
    try:
        rpc_log = tmp_path / "rpc.jsonl"  # every /rpc exchange of the page, for a failure's diagnosis
        res, by = _browser("ui_embedded.mjs", {"BASE_URL": base, "RPC_LOG": str(rpc_log), "INJECTED_KEY": dev[2]["key"]}, 400)
        rounds = httpx.get(f"{base}/api/rounds", timeout=30).json()
    finally:
        _stop(proc, log)
    exchanges = [json.loads(line) for line in rpc_log.read_text().splitlines() if line.strip()] if rpc_log.exists() else []
    refused = [x for x in exchanges if x["response"] and "error" in json.loads(x["response"])]
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\nrefused JSON-RPC requests: {refused[:5]}"
    # not one JSON-RPC request of the pages was refused (a stale nonce showed here first)
    assert exchanges and not refused, refused[:5]
    sent = [x for x in exchanges if json.loads(x["request"])["method"] == "eth_sendRawTransaction"]
    assert len(sent) == 3 and all(x["who"] == "dev" for x in sent[:3])  # create + 2 opens; the wallet sends from Node
    funded = [k["address"] for k in dev[1:]]
    assert by["offered"]["count"] == len(funded) and all(a[:6] in " ".join(by["offered"]["labels"]) for a in funded)
    assert by["opened"]["phase"] == "Joining" and by["opened"]["signer"] == funded[0]
    assert by["injected"]["signer"] == funded[1]
    assert [(r["campaign_id"], r["creator"]) for r in rounds] == [(0, funded[0]), (0, funded[0]), (1, funded[1])], rounds

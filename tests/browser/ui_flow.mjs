// Browser flow for tests/browser/test_ui.py (contract v2): with an anvil dev key the browser is the campaign
// creator (creates a campaign with typed values, opens a round) and an owner (join, propose, commit with a
// double click, salt export -> loss -> import -> reveal, settle if needed, training chart, finalize after
// the below-promise warning, claim, withdraw); then a station's and an auditor's screens, and 390-px checks.
// The other participants, their daemons and the chain clock are driven from Python. Screenshots go to $SHOTS.
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const KEY = process.env.DEV_KEY;
const STATION_KEY = process.env.STATION_KEY;
const OWNER_B_KEY = process.env.OWNER_B_KEY;
const SHOTS = process.env.SHOTS || "reports/screenshots";
const T = 120_000;

const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let page;
const errors = [];
const phase = (p) => page.waitForSelector(`#round-phase[data-phase='${p}']`, { timeout: T });
const ok = (sel) => page.waitForSelector(`${sel}[data-kind='ok']`, { timeout: T, state: "attached" });
// a role's screen at desktop width and on a 390-px phone
const shots = async (name) => {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${SHOTS}/${name}-390px.png`, fullPage: true });
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.waitForTimeout(300);
};
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(BASE + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: T });
  const offered = await page.$$eval("#dev-key-pick option", (o) => o.map((x) => x.textContent));
  await page.fill("#dev-key", KEY);
  await page.click("#use-dev-key");
  await page.waitForSelector("#me", { timeout: T });
  log("signer", { address: (await page.textContent("#me")).trim(), offered });

  // creator: typed values survive the 2-s refresh, then create the campaign and open a round
  await page.click("#tab-creator");
  for (const k of ["joinDuration", "proposeDuration", "commitDuration", "revealDuration", "voteCommitDuration", "voteRevealDuration"]) {
    await page.fill(`#c-create input[name=${k}]`, "3600");
  }
  await page.fill("#c-create input[name=trainDuration]", "7200");
  await page.selectOption("#c-create select[name=voteDeposit_unit]", "gwei");
  await page.fill("#c-create input[name=voteDeposit]", "1000000");
  await page.waitForTimeout(5000); // two refreshes at least
  const kept = await page.evaluate(() => ({ train: document.querySelector("#c-create input[name=trainDuration]").value,
    unit: document.querySelector("#c-create select[name=voteDeposit_unit]").value, vote: document.querySelector("#c-create input[name=voteDeposit]").value }));
  log("typed-kept", kept);
  await page.click("#c-create-btn");
  await ok("#c-create-msg");
  await page.click("#c-open-0", { timeout: T });
  await ok("#c-open-msg");
  await phase("Joining");
  await page.screenshot({ path: `${SHOTS}/01-creator.png`, fullPage: true });
  await page.waitForFunction(() => /ends in/.test(document.querySelector("#round-countdown")?.textContent || ""), null, { timeout: T });
  log("round-opened", { countdown: (await page.textContent("#round-countdown")).trim() });

  // owner: a validation error, then a good submit clears it
  await page.click("#tab-owners");
  await page.fill("#o-join input[name=deposit]", "");
  await page.click("#o-join-btn");
  await page.waitForSelector("#o-join-msg .err", { timeout: T });
  const stale = await page.textContent("#o-join-msg");
  await page.fill("#o-join input[name=deposit]", "0.05");
  await page.click("#o-join-btn");
  await ok("#o-join-msg");
  const after = await page.textContent("#o-join-msg");
  log("stale-cleared", { stale, after, hasErr: !!(await page.$("#o-join-msg .err")) });

  await phase("Proposing");
  await page.fill("#o-propose input[name=acc]", "99");
  await page.fill("#o-propose input[name=t]", "2");
  await page.uncheck("#o-propose input[name=label][value='9']");
  await page.fill("#o-propose input[name=bond]", "0.01");
  await page.fill("#o-propose input[name=price]", "0.02");
  await page.click("#o-propose-btn");
  await page.click("#o-propose-msg .warn-continue", { timeout: T });
  await ok("#o-propose-msg");
  log("proposed");
  await page.screenshot({ path: `${SHOTS}/02-proposed.png`, fullPage: true });

  // commit with a double click: one transaction, the salt kept
  await phase("Committing");
  await page.waitForSelector("#o-claims input[name=claim-0]", { timeout: T });
  await page.fill("#o-claims input[name=claim-0]", "0.04");
  await page.dblclick("#o-commit");
  await page.waitForFunction(() => document.querySelector("#o-claims-status")?.textContent.startsWith("committed"), null, { timeout: T });
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("hcfl:salts:")).flatMap((k) => JSON.parse(localStorage.getItem(k))));
  log("committed", { stored });
  await ok("#o-claims-msg");
  await page.screenshot({ path: `${SHOTS}/03-committed.png`, fullPage: true });

  // export the salt, lose it (storage cleared), reload: the page says so; import at the reveal
  await page.click("#o-salts summary");
  await page.click("#o-salt-export");
  const exported = await page.inputValue("#o-salt-text");
  await page.evaluate(() => { for (const k of Object.keys(localStorage)) if (k.startsWith("hcfl:salts:")) localStorage.removeItem(k); });
  await page.reload({ waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: T });
  await page.waitForFunction(() => document.querySelector("#o-claims-status")?.textContent.includes("salt is not in this browser"), null, { timeout: T });
  log("salt-lost");
  await phase("Revealing");
  await page.click("#o-reveal");
  await page.waitForSelector("#o-claims-msg [data-code='NoSalt']", { timeout: T });
  await page.fill("#o-salt-text", exported);
  await page.click("#o-salt-import");
  await ok("#o-salt-msg");
  const imported = await page.textContent("#o-salt-msg");
  await page.click("#o-reveal");
  await page.waitForFunction(() => document.querySelector("#o-claims-status")?.textContent.startsWith("revealed"), null, { timeout: T });
  log("revealed", { imported });

  // settle (anyone) if the coordinator has not yet; then training by the stations' daemons
  await page.waitForSelector("#round-phase[data-phase='AwaitingSettlement'], #round-phase[data-phase='Training']", { timeout: T });
  if ((await page.getAttribute("#round-phase", "data-phase")) === "AwaitingSettlement") {
    await page.click("#o-settle").catch(() => {});
  }
  await phase("Training");
  log("settled");
  await page.waitForFunction(() => document.querySelector("#o-train-status")?.textContent === "done", null, { timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector("#o-training-status")?.textContent.includes("2/2, "), null, { timeout: T }).catch(() => {});
  const points = await page.evaluate(() => document.querySelector("#o-chart")?.dataset.points);
  await page.screenshot({ path: `${SHOTS}/04-owner-training.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  const chartH = await page.evaluate(() => document.querySelector("#o-chart").getBoundingClientRect().height);
  const pageW = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: `${SHOTS}/04b-owner-training-390px.png`, fullPage: true });
  await page.setViewportSize({ width: 1360, height: 900 });
  log("trained", { points: Number(points), chartH, pageW });

  // finalize: the winner is warned that the result is below its promise, then signs
  await page.waitForSelector("#o-finalize:not([hidden])", { timeout: T });
  await shots("04c-winner-finalize");
  await page.click("#o-finalize", { timeout: T });
  await page.waitForSelector("#o-finalize-msg .warning", { timeout: T });
  const warning = await page.textContent("#o-finalize-msg .warning");
  await page.click("#o-finalize-msg .warn-continue");
  await ok("#o-finalize-msg");
  // rewards only for included work: the page recorded the coordinator's inclusion root before finalizing
  await page.waitForFunction(() => /inclusion root on chain/.test(document.querySelector("#o-inclusion-head")?.textContent || ""), null, { timeout: T });
  const included = await page.$$eval("#o-inclusion-table tbody tr", (rows) => rows.map((r) => ({ station: r.dataset.station, included: r.querySelector(".included").textContent })));
  log("finalized", { warning, msg: await page.textContent("#o-finalize-msg"), head: await page.textContent("#o-inclusion-head"), included });
  await page.click("#o-model-download", { timeout: T });
  await page.waitForSelector("#o-model-msg[data-kind='ok']", { timeout: T, state: "attached" });
  log("model", { msg: await page.textContent("#o-model-msg") });

  // owner B votes in the browser: warned before signing, the vote deposit paid, the salt kept, revealed
  const signIn = async (key) => {
    await page.click("#disconnect");
    await page.fill("#dev-key", key);
    await page.click("#use-dev-key");
    await page.waitForSelector("#me", { timeout: T });
  };
  // station 0 contests the inclusion root from its screen (warned that the owners' vote decides), before the vote
  await signIn(STATION_KEY);
  await page.click("#tab-stations");
  await page.waitForSelector("#s-contest:not([hidden])", { timeout: T });
  await page.waitForSelector("#s-contest-box:not([hidden])", { timeout: T });
  const contestNote = await page.textContent("#s-contest-warning");
  await page.click("#s-contest");
  await page.waitForSelector("#s-contest-msg .warning", { timeout: T });
  const contestWarning = await page.textContent("#s-contest-msg .warning");
  await page.click("#s-contest-msg .warn-continue");
  await ok("#s-contest-msg");
  await page.waitForSelector("#s-contested", { timeout: T, state: "attached" });
  const contestBoxHidden = await page.$eval("#s-contest-box", (b) => b.hidden);
  await page.screenshot({ path: `${SHOTS}/06b-station-contested.png`, fullPage: true });
  log("contested", { contestNote, contestWarning, contestMsg: await page.textContent("#s-contest-msg"), contestBoxHidden });
  await page.click("#tab-owners");
  await signIn(OWNER_B_KEY);
  // the winner's finalize and download messages went with the winner
  const staleAfterSwitch = await page.$$eval(".msg", (ms) => ms.filter((m) => m.textContent.trim()).map((m) => m.id));
  await phase("VoteCommitting");
  await page.waitForSelector("#o-vote-commit:not([hidden])", { timeout: T });
  await shots("09-voter");
  await page.check("input[name=o-vote][value='0']");
  await page.click("#o-vote-commit");
  await page.waitForSelector("#o-vote-msg .warning", { timeout: T });
  const voteWarning = await page.textContent("#o-vote-msg .warning");
  await page.click("#o-vote-msg .warn-continue");
  await ok("#o-vote-msg");
  await phase("VoteRevealing");
  await page.click("#o-vote-reveal", { timeout: T });
  await ok("#o-vote-msg");
  await page.waitForFunction(() => document.querySelector("#o-vote-state")?.textContent.startsWith("revealed"), null, { timeout: T });
  log("voted", { voteWarning, state: await page.textContent("#o-vote-state"), staleAfterSwitch });
  await signIn(KEY);

  await phase("Finished");
  await page.click("#o-claim", { timeout: T });
  await ok("#o-payout-msg");
  const credit = await page.textContent("#o-credit");
  await page.click("#o-withdraw", { timeout: T });
  await ok("#o-payout-msg");
  await page.waitForFunction(() => document.querySelector("#o-credit")?.textContent === "0 ETH", null, { timeout: T });
  await shots("05-owner-finished");
  log("withdrawn", { credit });

  // a station's screen (its reports and reward), signed in with the station's key
  await page.click("#disconnect");
  await page.fill("#dev-key", STATION_KEY);
  await page.click("#use-dev-key");
  await page.click("#tab-stations");
  await page.waitForSelector("#s-report-table tbody tr", { timeout: T });
  // its leaf is checked in the page against the root on chain, proven, then the reward claimed
  await page.waitForSelector("#s-proof-check.ok", { timeout: T });
  const includedText = await page.textContent("#s-included");
  const provenBefore = await page.textContent("#s-proven");
  await page.click("#s-claim", { timeout: T }); // the station proves its inclusion, claims its deposit back and its reward
  await ok("#s-payout-msg");
  const claimMsg = await page.textContent("#s-payout-msg");
  await page.waitForSelector("#s-proven.ok", { timeout: T, state: "attached" });
  const provenAfter = await page.textContent("#s-proven");
  const stationCredit = await page.textContent("#s-credit");
  await shots("06-station");
  await page.click("#s-withdraw", { timeout: T });
  await ok("#s-payout-msg");
  await page.waitForSelector("#s-reward-table tbody tr", { timeout: T });
  log("stations", { reports: await page.$$eval("#s-report-table tbody tr", (r) => r.length), stationCredit, includedText, provenBefore, claimMsg, provenAfter,
    rewardCell: await page.$$eval("#s-reward-table tbody tr", (rows) => rows.map((r) => r.children[2].querySelector(".amt")?.title)),
    after: await page.textContent("#s-credit") });

  // auditors: verified settlement, events with names and dates, fund flows; readable at 390 px
  await page.click("#tab-auditors");
  await page.waitForSelector("#a-audit-table tr[data-round='0'] .badge.verified", { timeout: T });
  await page.waitForSelector("#a-event-table tbody tr", { timeout: T });
  await page.waitForSelector("#a-funds-table tbody tr", { timeout: T });
  await page.click("#a-rerun");
  await ok("#a-rerun-msg");
  const events = await page.$$eval("#a-event-table tbody tr", (rows) => rows.map((r) => r.children[2].textContent));
  const txs = await page.$$eval("#a-event-table code.tx", (c) => c.map((x) => x.dataset.tx));
  if (!txs.every((t) => /^0x[0-9a-f]{64}$/.test(t))) throw new Error("an event without its tx hash");
  const overall = await page.textContent("#a-overall");
  await page.screenshot({ path: `${SHOTS}/07-auditors.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  const colW = await page.evaluate(() => document.querySelector("#a-event-table td:nth-child(3)").getBoundingClientRect().width);
  const auditPageH = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({ path: `${SHOTS}/08-auditors-390px.png`, fullPage: true });
  log("audit", { overall, events, colW, auditPageH });

  const bad = errors.filter((e) => !/Failed to load resource/.test(e));
  if (bad.length) log("page-errors", { errors: bad });
  log("done", { ok: true });
} catch (err) {
  if (page) await page.screenshot({ path: `${SHOTS}/failure.png`, fullPage: true }).catch(() => {});
  log("failed", { error: String(err && err.stack ? err.stack : err), pageErrors: errors.slice(-8) });
  process.exitCode = 1;
} finally {
  await browser.close();
}

// Browser flow for tests/browser/test_ui.py: an owner uses the web UI with a dev key (signed in the page,
// sent through the coordinator's /rpc): join, publish a spec and propose, commit and reveal sealed claims,
// see a revert decoded to its custom error, withdraw, and find the round verified on the auditor tab.
// The other participants and the chain clock are driven from Python. Screenshots go to $SHOTS.
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const KEY = process.env.DEV_KEY;
const SHOTS = process.env.SHOTS || "reports/screenshots";
const T = 90_000;

const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let page;
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(BASE + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: T });
  await page.waitForSelector("#round-phase[data-phase='Joining']", { timeout: T });
  await page.screenshot({ path: `${SHOTS}/01-start.png`, fullPage: true });

  // dev-account mode
  await page.fill("#dev-key", KEY);
  await page.click("#use-dev-key");
  await page.waitForSelector("#me", { timeout: T });
  const me = (await page.textContent("#me")).trim();
  log("signer", { address: me });

  // join with a deposit entered in ETH
  await page.fill("#o-join input[name=deposit]", "0.05");
  await page.click("#o-join-btn");
  await page.waitForFunction(() => document.querySelector("#o-join-state")?.textContent.includes("joined as owner"), null, { timeout: T });
  log("joined");

  // propose: spec + plan to the coordinator, then propose on chain with a bond
  await page.waitForSelector("#round-phase[data-phase='Proposing']", { timeout: T });
  await page.fill("#o-propose input[name=acc]", "90");
  await page.fill("#o-propose input[name=t]", "2");
  await page.uncheck("#o-propose input[name=label][value='9']");
  await page.fill("#o-propose input[name=bond]", "1000000");
  await page.selectOption("#o-propose select[name=bond_unit]", "gwei");
  await page.click("#o-propose-btn");
  await page.waitForFunction(() => document.querySelector("#o-omega")?.textContent.includes("ω = 0x"), null, { timeout: T });
  await page.waitForFunction(() => document.querySelectorAll("#o-summary table tbody tr").length >= 1 && document.querySelector("#o-summary")?.textContent.includes("0x1ff"), null, { timeout: T });
  log("proposed");
  await page.screenshot({ path: `${SHOTS}/02-proposed.png`, fullPage: true });

  // sealed claim: commit (salt from crypto.getRandomValues, kept in localStorage), then reveal
  await page.waitForSelector("#round-phase[data-phase='Committing']", { timeout: T });
  await page.waitForSelector("#o-claims input[name=claim-0]", { timeout: T });
  await page.fill("#o-claims input[name=claim-0]", "120");
  await page.click("#o-commit");
  await page.waitForFunction(() => document.querySelector("#o-claims-state")?.textContent.startsWith("committed"), null, { timeout: T });
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith(":claims")).map((k) => JSON.parse(localStorage.getItem(k))));
  log("committed", { stored });
  await page.screenshot({ path: `${SHOTS}/03-committed.png`, fullPage: true });

  await page.waitForSelector("#round-phase[data-phase='Revealing']", { timeout: T });
  await page.click("#o-reveal");
  await page.waitForFunction(() => document.querySelector("#o-claims-state")?.textContent.startsWith("revealed"), null, { timeout: T });
  log("revealed");

  // settled by the coordinator (fast-forward); committing again now reverts with a decoded custom error
  await page.waitForSelector("#round-phase[data-phase='Training']", { timeout: T });
  await page.click("#o-commit");
  await page.waitForSelector("#last-action .err", { timeout: T });
  const revert = await page.textContent("#last-action");
  log("revert", { revert });
  if (!/WrongPhase\(expected Committing, actual Training\)/.test(revert)) throw new Error(`revert not decoded: ${revert}`);

  // training by the stations' daemons: one accuracy point per global round on the chart
  await page.waitForFunction(() => document.querySelector("#o-train-status")?.textContent === "done", null, { timeout: 240_000 });
  await page.waitForTimeout(300);
  const points = await page.evaluate(() => document.querySelector("#o-chart")?.dataset.points);
  log("trained", { points: Number(points) });
  await page.screenshot({ path: `${SHOTS}/04-owners-training.png`, fullPage: true });

  // the winner signs finalizeTraining with the coordinator's published result; owner B votes (Python)
  await page.click("#o-finalize");
  await page.waitForSelector("#round-phase[data-phase='VoteCommitting'], #round-phase[data-phase='VoteRevealing'], #round-phase[data-phase='Finished']", { timeout: T });
  log("finalized");
  await page.waitForSelector("#round-phase[data-phase='Finished']", { timeout: T });
  log("finished");
  await page.screenshot({ path: `${SHOTS}/05-finalized.png`, fullPage: true });

  // withdraw everything credited: deposit - tax - payment, plus the returned bond
  const credit = await page.textContent("#o-credit");
  await page.click("#o-withdraw");
  await page.waitForFunction(() => document.querySelector("#o-credit")?.textContent === "0 gwei", null, { timeout: T });
  log("withdrawn", { credit });

  // base stations: their daemons' reports
  await page.click("#tab-stations");
  await page.waitForSelector("#s-report-table tbody tr", { timeout: T });
  await page.waitForSelector("#s-rewards table tbody tr", { timeout: T });
  await page.screenshot({ path: `${SHOTS}/06-stations.png`, fullPage: true });
  log("stations");

  // auditors: the settlement recomputed and verified
  await page.click("#tab-auditors");
  await page.waitForSelector("#a-audit-table tr[data-round='0'] .badge.verified", { timeout: T });
  await page.waitForSelector("#a-event-table tbody tr", { timeout: T });
  await page.waitForSelector("#a-funds-table tbody tr", { timeout: T });
  const events = await page.$$eval("#a-event-table tbody tr", (rows) => rows.map((r) => r.children[1].textContent));
  const txs = await page.$$eval("#a-event-table code.tx", (c) => c.map((x) => x.dataset.tx));
  if (!txs.every((t) => /^0x[0-9a-f]{64}$/.test(t))) throw new Error("an event without its tx hash");
  const status = await page.textContent("#a-audit-table tr[data-round='0'] .badge");
  log("audit", { status, events });
  await page.screenshot({ path: `${SHOTS}/07-auditors.png`, fullPage: true });

  const bad = errors.filter((e) => !/Failed to load resource/.test(e));
  if (bad.length) log("page-errors", { errors: bad });
  log("done", { ok: true });
} catch (err) {
  if (page) await page.screenshot({ path: `${SHOTS}/failure.png`, fullPage: true }).catch(() => {});
  log("failed", { error: String(err && err.stack ? err.stack : err) });
  process.exitCode = 1;
} finally {
  await browser.close();
}

// tests/browser/test_ui.py::test_embedded_dev_key_creates_a_round: on the embedded chain the page offers
// the dev keys that chain funds; the first offered one creates a campaign (defaults) and opens a round.
import { chromium } from "playwright-core";

const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));
const T = 120_000;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
let page;
try {
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  await page.goto(process.env.BASE_URL + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: T });
  const labels = await page.$$eval("#dev-key-pick option", (o) => o.filter((x) => x.value).map((x) => x.textContent));
  log("offered", { count: labels.length, labels });
  const first = await page.$eval("#dev-key-pick option:nth-child(2)", (o) => o.value);
  await page.selectOption("#dev-key-pick", first);
  await page.click("#use-dev-key");
  await page.waitForSelector("#me", { timeout: T });
  await page.click("#tab-creator");
  await page.click("#c-create-btn");
  await page.waitForSelector("#c-create-msg[data-kind='ok']", { timeout: T });
  await page.click("#c-open-0", { timeout: T });
  await page.waitForSelector("#c-open-msg[data-kind='ok']", { timeout: T });
  await page.waitForSelector("#round-phase[data-phase='Joining']", { timeout: T });
  await page.screenshot({ path: `${process.env.SHOTS}/00-embedded-creator.png`, fullPage: true });
  log("opened", { phase: "Joining", signer: (await page.textContent("#me")).trim() });
} catch (err) {
  if (page) await page.screenshot({ path: `${process.env.SHOTS}/failure-embedded.png`, fullPage: true }).catch(() => {});
  log("failed", { error: String(err && err.stack ? err.stack : err) });
  process.exitCode = 1;
} finally {
  await browser.close();
}

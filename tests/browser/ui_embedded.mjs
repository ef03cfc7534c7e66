// tests/browser/test_ui.py::test_embedded_dev_key_creates_a_round: on the embedded chain the page offers
// the dev keys that chain funds; the first offered one creates a campaign (defaults) and opens two rounds back
// to back (the second right after the first confirmed: the nonce must be fresh). Then a second page whose
// window.ethereum is an injected wallet (EIP-1193; the test's own signer in Node, a funded dev key) creates a
// campaign and opens a round. Every JSON-RPC exchange through /rpc is written to RPC_LOG.
import { writeFileSync } from "node:fs";
import { Wallet } from "ethers";
import { chromium } from "playwright-core";

const log = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));
const T = 120_000;
const BASE = process.env.BASE_URL;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
let page;
const rpc = [];

function recordRpc(p, who) {
  p.on("requestfinished", async (req) => {
    if (!req.url().endsWith("/rpc")) return;
    let response = null;
    try {
      response = await (await req.response()).text();
    } catch {
      /* the page went away */
    }
    rpc.push({ who, request: req.postData(), response });
  });
}

let rpcId = 0;
async function nodeRpc(method, params) {
  const r = await fetch(BASE + "/rpc", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }) });
  return r.json();
}

/** The injected wallet's Node side: accounts and chain id of its own, transactions signed here with a fresh
 *  nonce (like a browser wallet's), everything else forwarded to the coordinator's /rpc. */
async function walletRequest(wallet, method, params) {
  if (method === "eth_requestAccounts" || method === "eth_accounts") return { result: [wallet.address] };
  if (method === "eth_sendTransaction") {
    const tx = params[0];
    const [chainId, nonce, prio, block] = await Promise.all([nodeRpc("eth_chainId", []), nodeRpc("eth_getTransactionCount", [wallet.address, "pending"]),
      nodeRpc("eth_maxPriorityFeePerGas", []), nodeRpc("eth_getBlockByNumber", ["latest", false])]);
    let gas = tx.gas;
    if (!gas) {
      const est = await nodeRpc("eth_estimateGas", [{ from: wallet.address, to: tx.to, data: tx.data, value: tx.value || "0x0" }]);
      if (est.error) return est;
      gas = est.result;
    }
    const base = BigInt(block.result.baseFeePerGas || "0x0");
    const tip = BigInt(prio.result);
    const raw = await wallet.signTransaction({ type: 2, chainId: BigInt(chainId.result), nonce: Number(BigInt(nonce.result)), to: tx.to, data: tx.data || "0x",
      value: BigInt(tx.value || "0x0"), gasLimit: BigInt(gas), maxPriorityFeePerGas: tip, maxFeePerGas: 2n * base + tip });
    return nodeRpc("eth_sendRawTransaction", [raw]);
  }
  return nodeRpc(method, params);
}

async function createAndOpen(p, campaign, rounds) {
  await p.click("#tab-creator");
  await p.click("#c-create-btn");
  await p.waitForSelector("#c-create-msg[data-kind='ok']", { timeout: T });
  for (let i = 0; i < rounds; i++) {
    // the next click comes as soon as the previous transaction confirmed (the button is enabled again)
    await p.click(`#c-open-${campaign}:not([disabled])`, { timeout: T });
    await p.waitForSelector("#c-open-msg[data-kind='ok'], #c-open-msg[data-kind='err']", { timeout: T });
    const kind = await p.$eval("#c-open-msg", (e) => e.dataset.kind);
    if (kind !== "ok") throw new Error(`open ${i + 1}: ${await p.textContent("#c-open-msg")}`);
    await p.evaluate(() => { document.querySelector("#c-open-msg").dataset.kind = ""; document.querySelector("#c-open-msg").textContent = ""; });
  }
  await p.waitForSelector("#round-phase[data-phase='Joining']", { timeout: T });
}

try {
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  recordRpc(page, "dev");
  await page.goto(BASE + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: T });
  const labels = await page.$$eval("#dev-key-pick option", (o) => o.filter((x) => x.value).map((x) => x.textContent));
  log("offered", { count: labels.length, labels });
  const first = await page.$eval("#dev-key-pick option:nth-child(2)", (o) => o.value);
  await page.selectOption("#dev-key-pick", first);
  await page.click("#use-dev-key");
  await page.waitForSelector("#me", { timeout: T });
  await createAndOpen(page, 0, 2);
  await page.screenshot({ path: `${process.env.SHOTS}/00-embedded-creator.png`, fullPage: true });
  log("opened", { phase: "Joining", signer: (await page.textContent("#me")).trim() });

  if (process.env.INJECTED_KEY) {
    const wallet = new Wallet(process.env.INJECTED_KEY);
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await ctx.exposeFunction("__hcflWallet", (method, params) => walletRequest(wallet, method, params));
    await ctx.addInitScript(() => {
      window.ethereum = {
        isTestWallet: true,
        async request({ method, params }) {
          const r = await window.__hcflWallet(method, params || []);
          if (r && r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code, data: r.error.data });
          return r.result;
        },
        on() {},
        removeListener() {},
      };
    });
    const p2 = await ctx.newPage();
    recordRpc(p2, "injected");
    page = p2;
    await p2.goto(BASE + "/", { waitUntil: "domcontentloaded" });
    await p2.waitForSelector("body[data-ready='1']", { timeout: T });
    await p2.click("#connect-injected");
    await p2.waitForSelector("#me", { timeout: T });
    await createAndOpen(p2, 1, 1);
    log("injected", { signer: (await p2.textContent("#me")).trim() });
  }
} catch (err) {
  if (page) await page.screenshot({ path: `${process.env.SHOTS}/failure-embedded.png`, fullPage: true }).catch(() => {});
  log("failed", { error: String(err && err.stack ? err.stack : err) });
  process.exitCode = 1;
} finally {
  await browser.close();
  if (process.env.RPC_LOG) writeFileSync(process.env.RPC_LOG, rpc.map((x) => JSON.stringify(x)).join("\n") + "\n");
}

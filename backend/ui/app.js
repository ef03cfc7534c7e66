// HCFL web UI: one page, three tabs (owners, base stations, auditors). Reads go to the coordinator's API
// and to the chain through /rpc; every transaction is signed by the user (injected wallet or dev key).
import { Chain, DEV_KEYS } from "./wallet.js";
import { api, esc, fmtTime, fmtWei, short, toast } from "./util.js";
import { renderOwners, refreshOwners } from "./owners.js";
import { renderStations, refreshStations } from "./stations.js";
import { renderAuditors, refreshAuditors } from "./auditors.js";
import { createRoundForm, bindCreateRound } from "./create_round.js";

export const state = {
  chain: null, // Chain
  rounds: [],
  rid: null,
  round: null, // GET /api/rounds/{rid}
  credit: 0n,
  balance: 0n,
  tab: "owners",
  busy: false,
};

export const PHASES = ["None", "Joining", "Proposing", "Committing", "Revealing", "Training", "VoteCommitting", "VoteRevealing", "Finished"];

/** Run a transaction (or any async step) with UI feedback; errors show the revert's custom-error name. */
export async function act(label, fn) {
  const status = document.getElementById("last-action");
  try {
    if (status) status.textContent = `${label}…`;
    const out = await fn();
    toast(`${label}: done`, "ok");
    if (status) status.innerHTML = `<span class="ok">${esc(label)}: done</span>`;
    await refresh();
    return out;
  } catch (err) {
    const msg = err && err.message ? err.message : String(err);
    toast(`${label}: ${msg}`, "error");
    if (status) status.innerHTML = `<span class="err" data-error="${esc(msg)}">${esc(label)}: ${esc(msg)}</span>`;
    return undefined;
  }
}

export function me() {
  return state.chain && state.chain.address;
}

export function myParticipant() {
  const r = state.round;
  const a = me();
  if (!r || !a) return null;
  return [...r.owners, ...r.stations].find((p) => p.address.toLowerCase() === a.toLowerCase()) || null;
}

export function storageKey(kind) {
  const c = state.chain.info;
  return `hcfl:${c.chain_id}:${c.contract}:${state.rid}:${me()}:${kind}`;
}

function renderWallet() {
  const el = document.getElementById("wallet");
  const c = state.chain;
  const connected = c && c.signer;
  const injected = !!window.ethereum;
  el.innerHTML = `
    <div class="wallet-row">
      <strong>Signer</strong>
      ${
        connected
          ? `<span id="me" class="addr" title="${esc(me())}">${esc(me())}</span> <span class="muted">(${c.mode === "dev" ? "dev key, signed in the browser, sent via /rpc" : "injected wallet"})</span>
             <span>balance <b id="my-balance">${fmtWei(state.balance)}</b></span>
             <button id="disconnect" class="ghost">switch</button>`
          : `${injected ? `<button id="connect-injected">Connect wallet</button><span class="muted">or</span>` : `<span class="muted">no injected wallet found —</span>`}
             <label>dev key <select id="dev-key-pick"><option value="">anvil dev account…</option>${DEV_KEYS.map(
               (k, i) => `<option value="${k}">#${i}</option>`,
             ).join("")}</select></label>
             <input id="dev-key" type="password" placeholder="or paste a dev private key (0x…)" size="40" autocomplete="off">
             <button id="use-dev-key">Use dev key</button>
             <span class="muted small">dev keys are for local dev chains only</span>`
      }
      <span id="last-action" class="last-action"></span>
    </div>`;
  if (connected) {
    el.querySelector("#disconnect").onclick = () => {
      c.disconnect();
      sessionStorage.removeItem("hcfl:devkey");
      renderWallet();
      refresh();
    };
    return;
  }
  const pick = el.querySelector("#dev-key-pick");
  pick.onchange = () => (el.querySelector("#dev-key").value = pick.value);
  el.querySelector("#use-dev-key").onclick = () => {
    const key = el.querySelector("#dev-key").value;
    try {
      c.connectDevKey(key);
      sessionStorage.setItem("hcfl:devkey", key);
      toast(`dev key ${me()} selected`, "ok");
    } catch (err) {
      toast(`not a private key: ${err.message}`, "error");
    }
    renderWallet();
    refresh();
  };
  const inj = el.querySelector("#connect-injected");
  if (inj)
    inj.onclick = async () => {
      try {
        await c.connectInjected();
      } catch (err) {
        toast(err.message, "error");
      }
      renderWallet();
      refresh();
    };
}

function renderRoundBar() {
  const el = document.getElementById("round-bar");
  const r = state.round;
  const opts = state.rounds
    .map((x) => `<option value="${x.round_id}"${x.round_id === state.rid ? " selected" : ""}>round ${x.round_id} — ${esc(x.phase)}</option>`)
    .join("");
  const phaseIdx = r ? r.phase_id : 0;
  const steps = PHASES.slice(1)
    .map((p, i) => `<li class="${i + 1 < phaseIdx ? "done" : i + 1 === phaseIdx ? "current" : ""}">${p}</li>`)
    .join("");
  el.innerHTML = `
    <div class="round-row">
      <label>Round <select id="round-pick">${opts || "<option>no rounds yet</option>"}</select></label>
      ${
        r
          ? `<span id="round-phase" class="phase" data-phase="${esc(r.phase)}">${esc(r.phase)}</span>
             <span class="muted">${r.phase === "Finished" ? "" : `until ${esc(fmtTime(r.phase_end))}`}</span>
             <span>${esc(r.cfg.payment_rule)} · owners share ${esc(r.cfg.owner_share_rule)} · stations share ${esc(r.cfg.station_share_rule)}</span>
             <span>${r.owner_count} owners · ${r.station_count} stations · ${r.proposal_count} proposals</span>`
          : ""
      }
      <details class="create"><summary>New round</summary>${createRoundForm()}</details>
    </div>
    ${r ? `<ol class="phases">${steps}</ol>` : ""}`;
  el.querySelector("#round-pick").onchange = (e) => {
    state.rid = Number(e.target.value);
    localStorage.setItem("hcfl:rid", String(state.rid));
    refresh(true);
  };
  bindCreateRound(el);
}

let refreshing = false;
let lastRoundKey = "";

export async function refresh(force = false) {
  if (refreshing && !force) return;
  refreshing = true;
  try {
    state.rounds = await api("/api/rounds");
    if (state.rid === null || !state.rounds.some((x) => x.round_id === state.rid)) {
      const saved = Number(localStorage.getItem("hcfl:rid"));
      state.rid = state.rounds.some((x) => x.round_id === saved) ? saved : state.rounds.length ? state.rounds[state.rounds.length - 1].round_id : null;
    }
    state.round = state.rid === null ? null : await api(`/api/rounds/${state.rid}`);
    if (me()) {
      state.balance = await state.chain.read.getBalance(me());
      state.credit = await state.chain.contract.credits(me());
    }
    const key = JSON.stringify([state.rounds, state.round && state.round.phase, state.round && state.round.proposal_count]);
    if (key !== lastRoundKey || force) {
      lastRoundKey = key;
      const open = document.querySelector("#round-bar details.create")?.open;
      renderRoundBar();
      if (open) document.querySelector("#round-bar details.create").open = true;
    }
    const bal = document.getElementById("my-balance");
    if (bal) bal.textContent = fmtWei(state.balance);
    await Promise.all([refreshOwners(state, force), refreshStations(state, force), refreshAuditors(state, force)]);
  } catch (err) {
    console.error(err);
    document.getElementById("chain-info").innerHTML = `<span class="err">${esc(err.message)}</span>`;
  } finally {
    refreshing = false;
  }
}

function bindTabs() {
  for (const b of document.querySelectorAll("nav.tabs button")) {
    b.onclick = () => {
      state.tab = b.dataset.tab;
      for (const x of document.querySelectorAll("nav.tabs button")) x.classList.toggle("active", x === b);
      for (const v of document.querySelectorAll(".view")) v.classList.toggle("active", v.id === `view-${state.tab}`);
      location.hash = state.tab;
      refresh(true);
    };
  }
  const initial = location.hash.slice(1);
  if (initial) document.querySelector(`nav.tabs button[data-tab="${initial}"]`)?.click();
}

async function main() {
  let info;
  try {
    info = await api("/api/chain");
  } catch (err) {
    document.getElementById("chain-info").innerHTML = `<span class="err">coordinator unreachable: ${esc(err.message)}</span>`;
    return;
  }
  state.chain = new Chain(info);
  document.getElementById("chain-info").innerHTML =
    `chain <b>${esc(info.chain_id)}</b> (${esc(info.kind || "rpc")}) · contract <span class="addr" title="${esc(info.contract)}">${esc(short(info.contract))}</span>`;
  const saved = sessionStorage.getItem("hcfl:devkey");
  if (saved) {
    try {
      state.chain.connectDevKey(saved);
    } catch {
      sessionStorage.removeItem("hcfl:devkey");
    }
  }
  renderWallet();
  renderOwners(document.getElementById("view-owners"));
  renderStations(document.getElementById("view-stations"));
  renderAuditors(document.getElementById("view-auditors"));
  bindTabs();
  await refresh(true);
  document.body.dataset.ready = "1";
  setInterval(() => refresh(), 2000);
}

main();

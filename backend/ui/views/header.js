// The top of the page: chain and contract, the signer (injected wallet, or the dev keys funded on THIS
// chain), the round picker, the phase steps with a countdown in chain time, and the connection banner.
import { DEV_KEYS, PHASES } from "../generated/protocol.js";
import { chainTime, clockSkew, me, refresh, selectRound, state } from "../store.js";
import { humanError } from "../errors.js";
import { put, say } from "../widgets.js";
import { esc, fmtDate, fmtDuration, fmtWeiText, short } from "../util.js";

const STEPS = PHASES.filter((p) => p.name !== "None");

function devKeys() {
  const kind = state.info.kind;
  const keys = DEV_KEYS[kind] || [];
  // index 0 pays the coordinator's gas on both dev chains: offer the others
  return keys.map((k, i) => ({ ...k, i })).filter((k) => k.i > 0);
}

export function renderWallet() {
  const el = document.getElementById("wallet");
  const c = state.chain;
  if (c.signer) {
    el.innerHTML = `<div class="wallet-row"><strong>Signer</strong>
      <span id="me" class="addr" title="${esc(me())}">${esc(me())}</span>
      <span class="muted small">${c.mode === "dev" ? "dev key: signed in this page, sent through /rpc" : "browser wallet"}</span>
      <span>balance <b id="my-balance">—</b></span><button id="disconnect" class="ghost">switch signer</button></div>`;
    el.querySelector("#disconnect").onclick = () => {
      c.disconnect();
      clearMessages(); // the previous signer's confirmations and errors are not the next one's
      sessionStorage.removeItem("hcfl:devkey");
      renderWallet();
      refresh();
    };
    return;
  }
  const keys = devKeys();
  const injected = !!window.ethereum;
  el.innerHTML = `<div class="wallet-row"><strong>Signer</strong>
    ${injected ? `<button id="connect-injected">Connect wallet</button><span class="muted">or</span>` : `<span class="muted small">no browser wallet found;</span>`}
    ${keys.length ? `<label>dev account <select id="dev-key-pick"><option value="">funded on this ${esc(state.info.kind)} chain…</option>${keys.map((k) => `<option value="${k.key}">#${k.i} ${short(k.address)}</option>`).join("")}</select></label>` : ""}
    <input id="dev-key" type="password" placeholder="or paste a private key (0x…)" size="34" autocomplete="off">
    <button id="use-dev-key">Use key</button></div>
    <div class="small muted">${keys.length ? `The dev accounts listed are the ones the ${esc(state.info.kind)} chain funds (public test keys, local dev chains only; #0 pays the coordinator's gas).` : "This chain has no known dev accounts: use a browser wallet or your own key."}</div>
    <div class="msg" id="wallet-msg"></div>`;
  const pick = el.querySelector("#dev-key-pick");
  if (pick) pick.onchange = () => (el.querySelector("#dev-key").value = pick.value);
  el.querySelector("#use-dev-key").onclick = () => {
    const key = el.querySelector("#dev-key").value;
    try {
      c.connectDevKey(key);
      sessionStorage.setItem("hcfl:devkey", key.trim());
    } catch (err) {
      say(el.querySelector("#wallet-msg"), "err", esc(humanError(err, c.iface).text));
      return;
    }
    renderWallet();
    refresh();
  };
  const inj = el.querySelector("#connect-injected");
  if (inj) inj.onclick = async () => {
    try {
      await c.connectInjected();
    } catch (err) {
      say(el.querySelector("#wallet-msg"), "err", esc(humanError(err, c.iface).text));
      return;
    }
    renderWallet();
    refresh();
  };
}

/** Empties every action message (on a change of signer). */
function clearMessages() {
  for (const m of document.querySelectorAll(".msg")) {
    m.innerHTML = "";
    m.dataset.kind = "";
  }
}

export function renderRoundBar() {
  const el = document.getElementById("round-bar");
  el.innerHTML = `<div class="round-row"><label>Round <select id="round-pick"></select></label>
    <span id="round-phase" class="phase" data-phase="">—</span><span id="round-countdown" class="countdown"></span>
    <span id="round-rules" class="small"></span></div>
    <ol class="phases" id="round-steps"></ol><div id="round-clock" class="small muted"></div>`;
  el.querySelector("#round-pick").onchange = (e) => {
    selectRound(Number(e.target.value));
    refresh();
  };
}

/** Countdown text for the current phase (chain time), refreshed every second between loads. */
export function tickCountdown() {
  const r = state.round;
  const el = document.getElementById("round-countdown");
  if (!el) return;
  if (!r) return put(el, "");
  const name = PHASES[r.phase].name;
  if (name === "AwaitingSettlement") return put(el, "reveal is over: waiting for anyone to settle");
  if (r.phaseEnd === null || name === "Finished") return put(el, "");
  const left = r.phaseEnd - chainTime();
  put(el, left >= 0 ? `ends in <b>${esc(fmtDuration(left + 1))}</b> <span class="muted small">(chain time, ${esc(fmtDate(r.phaseEnd))})</span>`
    : `<b>deadline passed</b> <span class="muted small">(the next block moves the phase)</span>`);
}

export function updateHeader(st) {
  const bal = document.getElementById("my-balance");
  if (bal) bal.textContent = fmtWeiText(st.balance);
  const pick = document.getElementById("round-pick");
  const opts = st.rounds.length
    ? st.rounds.map((x) => `<option value="${x.id}"${x.id === st.rid ? " selected" : ""}>round ${x.id} (campaign ${x.campaignId ?? "?"}) — ${esc(PHASES[x.phase].label)}</option>`).join("")
    : `<option value="">no rounds yet</option>`;
  if (pick.__html !== opts && document.activeElement !== pick) {
    pick.__html = opts;
    pick.innerHTML = opts;
  }
  const r = st.round;
  const ph = document.getElementById("round-phase");
  const name = r ? PHASES[r.phase].name : "";
  ph.dataset.phase = name;
  ph.textContent = r ? PHASES[r.phase].label : "no round";
  const cfg = r && r.cfg;
  put(document.getElementById("round-rules"), cfg ? `campaign ${r.campaign.id} · ${r.people.filter((p) => p.role === 1).length} owners · ${r.people.filter((p) => p.role === 2).length} stations · ${r.proposals.length} proposals` : "");
  put(document.getElementById("round-steps"), r ? STEPS.map((p) => `<li class="${p.id < r.phase ? "done" : p.id === r.phase ? "current" : ""}">${esc(p.label)}</li>`).join("") : "");
  const skew = clockSkew();
  put(document.getElementById("round-clock"), st.chainNow
    ? `chain clock ${esc(fmtDate(st.chainNow))} (block ${st.block})${Math.abs(skew) > 30 ? ` — <span class="warn-text" id="clock-skew">the chain's clock is ${esc(fmtDuration(Math.abs(skew)))} ${skew > 0 ? "ahead of" : "behind"} this computer's clock (a dev chain was fast-forwarded, or no block was mined for a while); deadlines follow the chain's clock</span>` : ""}`
    : "");
  tickCountdown();
  const banner = document.getElementById("banner");
  const err = st.chainError;
  banner.hidden = !err;
  if (err) banner.innerHTML = `<span class="err">${esc(humanError(err, st.chain.iface).text)}</span> <span class="muted small">(retrying every 2 s; last good update ${st.loadedAt ? esc(new Date(st.loadedAt).toLocaleTimeString()) : "never"})</span>`;
}

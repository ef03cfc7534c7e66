// Widgets shared by the views: the transaction runner (disabled while pending, pending -> confirmed with the
// tx hash, or the decoded failure), message lines, inline warnings before signing, amount fields, tables.
import { humanError } from "./errors.js";
import { refreshAfter, state } from "./store.js";
import { esc } from "./util.js";

/** Replaces the message in `el` (every new attempt clears the previous one). */
export function say(el, kind, html) {
  if (!el) return;
  el.className = `msg ${kind || ""}`;
  el.dataset.kind = kind || "";
  el.innerHTML = html || "";
}

export function txLink(hash) {
  return `<code class="tx" title="${esc(hash)}" data-tx="${esc(hash)}">${esc(hash.slice(0, 10))}…${esc(hash.slice(-6))}</code>`;
}

/** Shows `warnings` in `el` with Continue / Cancel; resolves true to go on. No warnings: true at once. */
export function warnFirst(el, warnings) {
  if (!warnings.length) return Promise.resolve(true);
  return new Promise((resolve) => {
    say(el, "warn", `<div class="warning"><b>Before you sign:</b><ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>
      <button type="button" class="warn-continue">Sign anyway</button> <button type="button" class="ghost warn-cancel">Cancel</button></div>`);
    el.querySelector(".warn-continue").onclick = () => resolve(true);
    el.querySelector(".warn-cancel").onclick = () => {
      say(el, "", "cancelled; nothing was sent");
      resolve(false);
    };
  });
}

const busy = new Set();

/** Runs one user action. `button` is disabled at once (a double click sends nothing twice) and stays
 *  disabled until the transaction is mined or failed. `fn(ctx)` returns a receipt (or anything);
 *  ctx.sent(hash) marks the pending transaction, ctx.step(text) shows progress, ctx.warn(list) asks first. */
export async function runAction(button, msgEl, label, fn) {
  const key = button.id || label;
  if (busy.has(key) || button.disabled) return undefined;
  busy.add(key);
  button.disabled = true;
  button.classList.add("pending");
  button.dataset.pending = "1";
  say(msgEl, "pending", `${esc(label)}: preparing…`);
  const ctx = {
    step: (text) => say(msgEl, "pending", `${esc(label)}: ${esc(text)}`),
    sent: (hash) => {
      ctx.hash = hash;
      say(msgEl, "pending", `${esc(label)}: pending ${txLink(hash)} — waiting for confirmation…`);
    },
    warn: (list) => warnFirst(msgEl, list),
    hash: null,
    doneText: null,
  };
  try {
    const out = await fn(ctx);
    if (out === CANCELLED) return undefined;
    const hash = out && out.hash ? out.hash : ctx.hash;
    // an action that sends no transaction (ctx.doneText set) says what it did instead of "confirmed"
    const done = ctx.doneText || `${esc(label)}: confirmed${out && out.blockNumber ? ` in block ${out.blockNumber}` : ""}${hash ? ` ${txLink(hash)}` : ""}`;
    say(msgEl, "pending", `${done} — updating the page…`);
    await refreshAfter(); // the page shows the new state before the action counts as done
    say(msgEl, "ok", done);
    return out;
  } catch (err) {
    const h = humanError(err, state.chain && state.chain.iface);
    const hash = (err && err.txHash) || ctx.hash;
    say(msgEl, "err", `<span class="err" data-code="${esc(h.code || "")}">${esc(label)} failed: ${esc(h.text)}</span>${hash ? ` ${txLink(hash)}` : ""}`);
    return undefined;
  } finally {
    busy.delete(key);
    button.disabled = false;
    button.classList.remove("pending");
    delete button.dataset.pending;
  }
}

export const CANCELLED = Symbol("cancelled");

export function unitSelect(name, value = "ETH") {
  return `<select name="${esc(name)}" class="unit" aria-label="unit">${["ETH", "gwei", "wei"].map((u) => `<option${u === value ? " selected" : ""}>${u}</option>`).join("")}</select>`;
}

export function amountField(label, name, value, unit = "ETH", hint = "") {
  return `<label>${esc(label)}${hint ? ` <span class="muted small">${esc(hint)}</span>` : ""}<span class="amount"><input name="${esc(name)}" value="${esc(value)}" inputmode="decimal" autocomplete="off">${unitSelect(`${name}_unit`, unit)}</span></label>`;
}

/** A table that scrolls sideways on narrow screens instead of squeezing its columns. */
export function table(id, head, rows) {
  return `<div class="table-wrap"><table${id ? ` id="${esc(id)}"` : ""}><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

/** Sets innerHTML only when it changed (keeps focus, selection and scroll of what did not change). */
export function put(el, html) {
  if (el && el.__html !== html) {
    el.__html = html;
    el.innerHTML = html;
  }
}

export function show(el, on) {
  if (el) el.hidden = !on;
}

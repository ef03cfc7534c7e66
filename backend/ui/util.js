// Small helpers: escaping, amounts (exact wei with ethers' parseUnits/formatUnits), HTTP, toasts.
import { formatUnits, parseUnits } from "ethers";

export const GWEI = 9;
export const ETH = 18;

export function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** "1.5" + "gwei" -> 1500000000n, exactly (throws on more decimals than the unit has). */
export function toWei(text, unit) {
  const t = String(text ?? "").trim();
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`not an amount: "${t}"`);
  return parseUnits(t, unit === "ETH" ? ETH : GWEI);
}

/** wei (bigint | decimal string) -> readable string in gwei or ETH. */
export function fmtWei(wei) {
  if (wei === null || wei === undefined || wei === "") return "—";
  const v = BigInt(wei);
  const abs = v < 0n ? -v : v;
  if (abs >= 10n ** 15n) return `${trim(formatUnits(v, ETH))} ETH`;
  if (abs >= 10n ** 3n || abs === 0n) return `${trim(formatUnits(v, GWEI))} gwei`;
  return `${v} wei`;
}

function trim(s) {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

export function short(addr) {
  if (!addr) return "—";
  return addr.length > 14 ? `${addr.slice(0, 6)}…${addr.slice(-4)}` : addr;
}

export async function api(path, opts = {}) {
  const res = await fetch(path, {
    ...opts,
    headers: { "content-type": "application/json", ...(opts.headers || {}) },
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : text;
    throw new Error(`${opts.method || "GET"} ${path}: ${res.status} ${detail}`);
  }
  return body;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = message;
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === "error" ? 12000 : 5000);
}

export function unitSelect(name, value = "gwei") {
  return `<select name="${esc(name)}" class="unit">${["gwei", "ETH"]
    .map((u) => `<option${u === value ? " selected" : ""}>${u}</option>`)
    .join("")}</select>`;
}

export function fmtTime(ts) {
  if (!ts) return "—";
  return new Date(Number(ts) * 1000).toLocaleString();
}

export function randomSalt() {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return "0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function badge(text, kind) {
  return `<span class="badge ${esc(kind || text)}">${esc(text)}</span>`;
}

// Leaf helpers (no imports from the UI): escaping, exact amounts (ethers' parseUnits/formatUnits), times,
// HTTP to the coordinator. Amounts are shown rounded, with the exact wei in the title (hover).
import { formatUnits, parseUnits } from "ethers";

export const UNITS = { ETH: 18, gwei: 9, wei: 0 };

export function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** "1.5" + "gwei" -> 1500000000n exactly; a clear error for anything else (empty, sign, exponent, too many decimals). */
export function toWei(text, unit, field = "amount") {
  const t = String(text ?? "").trim();
  if (t === "") throw new Error(`${field} is empty: type an amount`);
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`${field}: “${t}” is not an amount (digits and one decimal point)`);
  const dec = UNITS[unit];
  if (dec === undefined) throw new Error(`${field}: unknown unit ${unit}`);
  const frac = t.split(".")[1] || "";
  if (frac.length > dec) throw new Error(`${field}: at most ${dec} decimals in ${unit}`);
  return parseUnits(t, dec);
}

/** A whole number typed into a field, checked against [min, max]; never a silent default. */
export function toInt(text, field, min = 0n, max = 2n ** 256n - 1n) {
  const t = String(text ?? "").trim();
  if (t === "") throw new Error(`${field} is empty`);
  if (!/^\d+$/.test(t)) throw new Error(`${field}: “${t}” is not a whole number`);
  const v = BigInt(t);
  if (v < BigInt(min) || v > BigInt(max)) throw new Error(`${field} must be between ${min} and ${max}`);
  return v;
}

function trim(s) {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

function round(s, digits) {
  const [i, f = ""] = s.split(".");
  if (f.length <= digits) return trim(s);
  return trim(`${i}.${f.slice(0, digits)}`) + "…";
}

/** wei -> "0.0123 ETH" / "50 gwei" / "12 wei" (one unit per magnitude, ≤ 6 significant decimals). */
export function fmtWeiText(wei) {
  if (wei === null || wei === undefined || wei === "") return "—";
  const v = BigInt(wei);
  const abs = v < 0n ? -v : v;
  if (abs === 0n) return "0 ETH";
  if (abs >= 10n ** 14n) return `${round(formatUnits(v, 18), 6)} ETH`;
  if (abs >= 10n ** 5n) return `${round(formatUnits(v, 9), 4)} gwei`;
  return `${v} wei`;
}

/** The same as HTML with the exact wei on hover. */
export function fmtWei(wei) {
  if (wei === null || wei === undefined || wei === "") return "—";
  return `<span class="amt" title="${esc(String(BigInt(wei)))} wei">${esc(fmtWeiText(wei))}</span>`;
}

export function short(addr) {
  if (!addr) return "—";
  const a = String(addr);
  return a.length > 14 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

export function fmtDate(ts) {
  if (!ts) return "—";
  return new Date(Number(ts) * 1000).toLocaleString();
}

/** 3725 -> "1 h 2 min"; negative -> "passed". */
export function fmtDuration(seconds) {
  let s = Number(seconds);
  if (!Number.isFinite(s)) return "—";
  if (s <= 0) return "0 s";
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}

export function randomSalt() {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return "0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function same(a, b) {
  return !!a && !!b && String(a).toLowerCase() === String(b).toLowerCase();
}

/** An HTTP error from the coordinator, with its status and (pydantic) detail kept for humanError. */
export class ApiError extends Error {
  constructor(method, path, status, detail) {
    super(`${method} ${path}: ${status}`);
    this.status = status;
    this.detail = detail;
    this.path = path;
  }
}

export async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: { "content-type": "application/json", ...(opts.headers || {}) } });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) throw new ApiError(opts.method || "GET", path, res.status, body && body.detail !== undefined ? body.detail : body);
  return body;
}

// Auditors: every round's settlement as recomputed by the coordinator's auditor (GET /api/audit, which
// replays the chain's events through hcfl.mechanism), the rounds, every event of the selected round with
// names and dates, and fund flows per account and per campaign pool, computed here from the chain's events.
import { CREDIT_REASONS, PHASES, POOL_KINDS, ROLES } from "../generated/protocol.js";
import { ROLE, state } from "../store.js";
import { put, runAction, say, table } from "../widgets.js";
import { api, esc, fmtDate, fmtWei, short } from "../util.js";

let root;
let audit = null;
let auditAt = 0;
let auditError = null;
let accounting = null;

export function renderAuditors(el) {
  root = el;
  el.innerHTML = `
    <section class="card wide"><h3>Verified settlements <span class="muted small">recomputed by the coordinator's auditor (hcfl audit) from the chain's events alone</span></h3>
      <div class="buttons"><button id="a-rerun" class="ghost">Re-run audit</button></div><div class="msg" id="a-rerun-msg"></div><div id="a-audit">loading…</div></section>
    <section class="card wide"><h3>Rounds</h3><div id="a-rounds"></div></section>
    <section class="card wide"><h3>Events of the selected round</h3><div id="a-events"></div></section>
    <section class="card wide"><h3>Fund flows per account <span class="muted small">(from the chain's events)</span></h3><div id="a-funds"></div></section>`;
  const b = el.querySelector("#a-rerun");
  b.onclick = () => runAction(b, el.querySelector("#a-rerun-msg"), "audit", async (ctx) => {
    ctx.step("replaying every event…");
    await loadAudit(true);
    if (auditError) throw auditError;
    ctx.doneText = `audit re-run at ${new Date().toLocaleTimeString()}: ${esc(verdict(audit).text)}`;
    return undefined;
  });
}

async function loadAudit(force) {
  if (!force && audit && Date.now() - auditAt < 6000) return;
  try {
    audit = await api("/api/audit");
    auditError = null;
  } catch (err) {
    auditError = err;
  }
  auditAt = Date.now();
}

function roundStatus(r) {
  if (r.mismatches && r.mismatches.length) return "mismatched";
  const s = r.state || r.status;
  if (s === "open" || s === "pending") return "pending";
  return "verified";
}

function verdict(rep) {
  if (!rep) return { kind: "pending", text: "no audit yet" };
  const rounds = rep.rounds || [];
  const bad = rounds.filter((r) => roundStatus(r) === "mismatched").length + (rep.books && rep.books.mismatches ? rep.books.mismatches.length : 0);
  const pending = rounds.filter((r) => roundStatus(r) === "pending").length;
  const ok = rounds.length - pending - rounds.filter((r) => roundStatus(r) === "mismatched").length;
  if (bad) return { kind: "mismatched", text: `${bad} mismatch(es)` };
  if (!rounds.length) return { kind: "pending", text: "no rounds to audit yet" };
  if (pending && !ok) return { kind: "pending", text: `${pending} round(s) still open: nothing to verify yet` };
  return { kind: "verified", text: pending ? `${ok} round(s) verified, ${pending} still open` : `all ${ok} round(s) verified` };
}

function auditHtml(rep) {
  const v = verdict(rep);
  const rows = (rep.rounds || []).map((r) => {
    const st = roundStatus(r);
    return `<tr data-round="${r.round_id}" class="audit-${st}"><td>${r.round_id}</td><td>${r.campaign_id ?? "—"}</td><td><span class="badge ${st}">${st}</span></td>
      <td>${esc(r.state || "")}</td><td>${r.claimed ?? "—"} / ${r.participants ?? "—"}</td>
      <td class="small">${(r.mismatches || []).map((m) => `<div class="err">${esc(typeof m === "string" ? m : JSON.stringify(m))}</div>`).join("") || (st === "pending" ? "settles after the reveal deadline" : "every claimed settlement equals the reference")}</td></tr>`;
  });
  const b = rep.books;
  const books = b ? `<p class="small" id="a-books">Books: ${b.mismatches && b.mismatches.length ? `<span class="badge mismatched">broken</span> ${esc(b.mismatches.join("; "))}` : '<span class="badge verified">balanced</span>'}
      balance ${fmtWei(b.balance)} ≥ owed ${fmtWei(b.owed)} (surplus ${fmtWei(b.surplus)}) · paid in ${fmtWei(b.paid_in)} · withdrawn ${fmtWei(b.withdrawn)}</p>` : "";
  return `<p id="a-overall"><span class="badge ${v.kind}">${esc(v.text)}</span> <span class="muted small">${rep.events ?? "?"} events · block ${rep.cursor ?? rep.block ?? "?"}</span></p>
    ${table("a-audit-table", ["round", "campaign", "status", "state", "claimed / participants", "details"], rows)}${books}`;
}

const TIME_ARGS = /^(joinEnd|proposeEnd|commitEnd|revealEnd|closedAt|settledAt)$/;
const AMOUNT_ARGS = /deposit|amount|bond|tax|payment|penalty|share|reward|forfeited|Discount|Bonus|price|refund|newBalance|delta|weight|minBond|maxPrice|Floor|toWinner|^prefix$/i;

function argText(ev, k, v) {
  if (k === "role") return ROLES[Number(v)] ? ROLES[Number(v)].label : v;
  if (k === "reason") return CREDIT_REASONS[Number(v)] ? CREDIT_REASONS[Number(v)].label : v;
  if (k === "pool") return POOL_KINDS[Number(v)] ? `${POOL_KINDS[Number(v)].label} pool` : v;
  if (TIME_ARGS.test(k)) return fmtDate(v);
  if (k === "cfg") return "campaign config";
  if (/Bps$/.test(k)) return `${(Number(v) / 100).toFixed(2)} %`;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (Array.isArray(v)) return `[${v.map((x) => (AMOUNT_ARGS.test(k) || /claims/i.test(k) ? fmtWei(x) : esc(String(x)))).join(", ")}]`;
  const s = String(v);
  if (/^0x[0-9a-fA-F]{40}$/.test(s)) return `<span class="addr" title="${esc(s)}">${esc(short(s))}</span>`;
  if (/^0x[0-9a-fA-F]{64}$/.test(s)) return `<code title="${esc(s)}">${esc(s.slice(0, 10))}…</code>`;
  if (AMOUNT_ARGS.test(k) && !/Bps$|affordMask/.test(k)) return fmtWei(v);
  if (k === "seed" && s.length > 14) return `<span title="${esc(s)}">${esc(s.slice(0, 10))}…</span>`;
  return esc(s);
}

function argsHtml(ev) {
  return Object.entries(ev.args).filter(([k]) => k !== "roundId" && !/^\d+$/.test(k))
    .map(([k, v]) => `<span class="arg"><span class="k">${esc(k)}</span> ${argText(ev, k, v)}</span>`).join(" ");
}

const blockTimes = new Map();

async function times(blocks) {
  const need = [...new Set(blocks)].filter((b) => !blockTimes.has(b)).slice(0, 40);
  await Promise.all(need.map(async (b) => {
    const blk = await state.chain.read.getBlock(b);
    if (blk) blockTimes.set(b, Number(blk.timestamp));
  }));
}

function fundFlows(logs) {
  const acc = new Map();
  const row = (a) => {
    const k = a.toLowerCase();
    if (!acc.has(k)) acc.set(k, { address: a, deposits: 0n, bonds: 0n, payments: 0n, taxes: 0n, penalties: 0n, rewards: 0n, credited: 0n, withdrawn: 0n });
    return acc.get(k);
  };
  const pools = new Map();
  for (const e of logs) {
    const a = e.args;
    if (e.name === "Joined") row(a.account).deposits += BigInt(a.deposit);
    else if (e.name === "Proposed") row(a.proposer).bonds += BigInt(a.bond);
    // ParticipantSettled.refund and StationRewarded.reward are credits (no Credited event repeats them)
    else if (e.name === "ParticipantSettled") Object.assign(row(a.account), { payments: row(a.account).payments + BigInt(a.payment), taxes: row(a.account).taxes + BigInt(a.tax), penalties: row(a.account).penalties + BigInt(a.penalty), credited: row(a.account).credited + BigInt(a.refund) });
    else if (e.name === "StationRewarded") Object.assign(row(a.station), { rewards: row(a.station).rewards + BigInt(a.reward), credited: row(a.station).credited + BigInt(a.reward) });
    else if (e.name === "Credited") row(a.account).credited += BigInt(a.amount);
    else if (e.name === "Withdrawn") row(a.account).withdrawn += BigInt(a.amount);
    else if (e.name === "PoolChanged") pools.set(`${a.campaignId}:${a.pool}`, { campaign: a.campaignId, pool: Number(a.pool), balance: a.newBalance });
  }
  return { accounts: [...acc.values()], pools: [...pools.values()] };
}

export async function updateAuditors(st) {
  if (!root || st.tab !== "auditors") return;
  await loadAudit(false);
  put(root.querySelector("#a-audit"), audit ? auditHtml(audit) : auditError ? `<p class="err">the coordinator's audit is unavailable: ${esc(auditError.message)}</p>` : "loading…");
  put(root.querySelector("#a-rounds"), st.rounds.length
    ? table("a-round-table", ["round", "campaign", "phase"], st.rounds.map((r) => `<tr class="${r.id === st.rid ? "selected" : ""}"><td>${r.id}</td><td>${r.campaignId ?? "—"}</td><td>${esc(PHASES[r.phase].label)}</td></tr>`))
    : `<p class="muted">no rounds</p>`);
  if (st.round) {
    const evs = st.round.events;
    await times(evs.map((e) => e.block));
    put(root.querySelector("#a-events"), evs.length
      ? table("a-event-table", ["time (chain)", "block", "event", "details", "tx hash"], evs.map((e) => `<tr><td class="small">${blockTimes.has(e.block) ? esc(fmtDate(blockTimes.get(e.block))) : "—"}</td><td>${e.block}</td><td><b>${esc(e.name)}</b></td>
        <td class="small">${argsHtml(e)}</td><td><code class="tx" title="${esc(e.tx)}" data-tx="${esc(e.tx)}">${esc(e.tx.slice(0, 10))}…${esc(e.tx.slice(-6))}</code></td></tr>`))
      : `<p class="muted">no events</p>`);
  }
  try {
    accounting = await st.chain.contract.accounting();
  } catch {
    /* keep the last one */
  }
  const f = fundFlows(st.logs);
  const acct = accounting ? `<p class="small" id="a-accounting">contract balance ${fmtWei(accounting.balance)} · deposits ${fmtWei(accounting.deposits)} · bonds ${fmtWei(accounting.bonds)} · escrow ${fmtWei(accounting.escrow)} · pools ${fmtWei(accounting.pools)} · vote deposits ${fmtWei(accounting.voteDeposits)} · credits ${fmtWei(accounting.credited)} · surplus ${fmtWei(accounting.surplus)}</p>` : "";
  put(root.querySelector("#a-funds"), `${acct}${table("a-funds-table", ["account", "deposits", "bonds", "payments", "taxes", "penalties", "rewards", "credited", "withdrawn", "credit now"],
    f.accounts.map((a) => `<tr><td class="addr" title="${esc(a.address)}">${esc(short(a.address))}</td><td>${fmtWei(a.deposits)}</td><td>${fmtWei(a.bonds)}</td><td>${fmtWei(a.payments)}</td>
      <td>${fmtWei(a.taxes)}</td><td>${fmtWei(a.penalties)}</td><td>${fmtWei(a.rewards)}</td><td>${fmtWei(a.credited)}</td><td>${fmtWei(a.withdrawn)}</td><td>${fmtWei(a.credited - a.withdrawn)}</td></tr>`))}
    ${f.pools.length ? `<h4>Campaign pools</h4>${table("a-pool-table", ["campaign", "pool", "balance"], f.pools.map((p) => `<tr><td>${p.campaign}</td><td>${esc(POOL_KINDS[p.pool].label)}</td><td>${fmtWei(p.balance)}</td></tr>`))}` : ""}`);
  void ROLE;
}

// Auditors: every settlement recomputed by the coordinator's auditor (GET /api/audit), round history,
// every event with its tx hash, and fund flows per participant (GET /api/funds).
import { state } from "./app.js";
import { api, badge, esc, fmtWei, short } from "./util.js";

let root;
let auditCache = null;
let auditAt = 0;

export function renderAuditors(el) {
  root = el;
  el.innerHTML = `
    <section class="card wide"><h3>Settlements <span class="muted small">recomputed with hcfl.mechanism from the events alone</span>
      <button id="a-rerun" class="ghost">re-run audit</button></h3><div id="a-audit">loading…</div></section>
    <section class="card wide"><h3>Round history</h3><div id="a-rounds"></div></section>
    <section class="card wide"><h3>Events of the selected round</h3><div id="a-events"></div></section>
    <section class="card wide"><h3>Fund flows per participant</h3><div id="a-funds"></div></section>`;
  el.querySelector("#a-rerun").onclick = () => {
    auditAt = 0;
    refreshAuditors(state, true);
  };
}

function auditHtml(rep) {
  const rows = rep.rounds.map((r) => `<tr data-round="${r.round_id}" class="audit-${esc(r.status)}">
      <td>${r.round_id}</td><td>${badge(r.status)}</td><td>${esc(r.phase)}</td><td>${esc(r.payment_rule || "")}</td>
      <td>${r.settled ? (r.unfunded ? "unfunded" : r.selected === null ? "none" : `#${r.selected}`) : "—"}</td>
      <td>${r.total_payment !== null && r.total_payment !== undefined ? fmtWei(r.total_payment) : "—"}</td>
      <td>${r.settle_tx ? `<code class="tx" title="${esc(r.settle_tx)}">${esc(r.settle_tx.slice(0, 12))}…</code>` : "—"}</td>
      <td class="small">${r.mismatches.length
        ? r.mismatches.map((m) => `<div class="err"><b>${esc(m.field)}</b>: expected ${esc(JSON.stringify(m.expected))}, chain ${esc(JSON.stringify(m.actual))}</div>`).join("")
        : r.checks.length ? `${r.checks.length} checks agree` : esc(r.note || "")}</td></tr>`).join("");
  const c = rep.conservation;
  return `<p id="a-overall">${rep.ok ? badge("all verified", "verified") : badge("mismatch", "mismatched")}
      <span class="muted small">block ${rep.block}, ${rep.events} events</span></p>
    <table id="a-audit-table"><thead><tr><th>round</th><th>status</th><th>phase</th><th>rule</th><th>selected</th><th>C</th><th>settlement tx</th><th>details</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="small">Books: ${c.ok ? badge("balanced", "verified") : badge("broken", "mismatched")} in ${fmtWei(BigInt(c.deposits_in) + BigInt(c.bonds_in))}
      = withdrawn ${fmtWei(c.withdrawn)} + credits ${fmtWei(c.outstanding_credits)} + pools ${fmtWei(c.pools)} + escrow ${fmtWei(c.escrow)}
      + locked ${fmtWei(BigInt(c.locked_deposits) + BigInt(c.locked_bonds))}; contract balance ${fmtWei(c.balance)}</p>`;
}

function argsHtml(args) {
  return Object.entries(args)
    .filter(([k]) => k !== "roundId")
    .map(([k, v]) => {
      let s = typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.entries(v).map(([a, b]) => `${a.replace(/Duration$/, "")}:${b}`).join(" ")
        : Array.isArray(v) ? `[${v.map((x) => (/^\d{7,}$/.test(String(x)) ? fmtWei(x) : String(x))).join(", ")}]` : String(v);
      if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) s = short(v);
      else if (typeof v === "string" && /^0x[0-9a-fA-F]{64}$/.test(v)) s = v.slice(0, 12) + "…";
      else if (typeof v === "string" && /^\d{21,}$/.test(v) && k === "seed") s = `${v.slice(0, 12)}…`;
      else if (typeof v === "string" && /^\d{7,}$/.test(v) && /deposit|amount|bond|tax|payment|penalty|share|reward|forfeited|Pool|Discount|Bonus|totalPayment|postedPrice/i.test(k)) s = fmtWei(v);
      return `<span class="arg"><span class="k">${esc(k)}</span>=${esc(s)}</span>`;
    })
    .join(" ");
}

export async function refreshAuditors(st, force) {
  if (!root || st.tab !== "auditors") return;
  const now = Date.now();
  if (force || !auditCache || now - auditAt > 6000) {
    try {
      auditCache = await api("/api/audit");
      auditAt = now;
      root.querySelector("#a-audit").innerHTML = auditHtml(auditCache);
    } catch (err) {
      root.querySelector("#a-audit").innerHTML = `<p class="err">${esc(err.message)}</p>`;
    }
  }
  root.querySelector("#a-rounds").innerHTML = st.rounds.length
    ? `<table><thead><tr><th>round</th><th>phase</th><th>creator</th><th>owners</th><th>stations</th><th>proposals</th><th>selected</th><th>C</th><th>punished</th></tr></thead><tbody>
      ${st.rounds.map((r) => `<tr class="${r.round_id === st.rid ? "selected" : ""}"><td>${r.round_id}</td><td>${esc(r.phase)}</td><td class="addr">${esc(short(r.creator))}</td>
        <td>${r.owner_count}</td><td>${r.station_count}</td><td>${r.proposal_count}</td>
        <td>${r.settled ? (r.unfunded ? "unfunded" : r.selected_some ? `#${r.selected}` : "none") : "—"}</td>
        <td>${r.selected_some ? fmtWei(r.total_payment) : "—"}</td><td>${r.phase === "Finished" && r.selected_some ? (r.punished ? "yes" : "no") : "—"}</td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">no rounds</p>`;
  if (st.rid !== null) {
    const events = await api(`/api/rounds/${st.rid}/events`);
    root.querySelector("#a-events").innerHTML = events.length
      ? `<table id="a-event-table"><thead><tr><th>block</th><th>event</th><th>arguments</th><th>tx hash</th></tr></thead><tbody>
        ${events.map((e) => `<tr><td>${e.block}:${e.log_index}</td><td><b>${esc(e.name)}</b></td><td class="small">${argsHtml(e.args)}</td>
          <td><code class="tx" title="${esc(e.tx_hash)}" data-tx="${esc(e.tx_hash)}">${esc(e.tx_hash.slice(0, 18))}…${esc(e.tx_hash.slice(-6))}</code></td></tr>`).join("")}</tbody></table>`
      : `<p class="muted">no events</p>`;
  }
  const funds = await api("/api/funds");
  root.querySelector("#a-funds").innerHTML = `<p class="small">contract balance ${fmtWei(funds.balance)} · ${funds.solvent ? badge("solvent", "verified") : badge("insolvent", "mismatched")}
      · ${Object.entries(funds.accounting).map(([k, v]) => `${esc(k)} ${fmtWei(v)}`).join(" · ")}</p>
    <table id="a-funds-table"><thead><tr><th>account</th><th>deposits</th><th>bonds</th><th>payments</th><th>taxes</th><th>penalties</th><th>rewards</th><th>credited</th><th>withdrawn</th><th>credit now</th></tr></thead><tbody>
    ${funds.accounts.map((a) => `<tr><td class="addr" title="${esc(a.address)}">${esc(short(a.address))}</td><td>${fmtWei(a.deposits)}</td><td>${fmtWei(a.bonds)}</td>
      <td>${fmtWei(a.payments)}</td><td>${fmtWei(a.taxes)}</td><td>${fmtWei(a.penalties)}</td><td>${fmtWei(a.rewards)}</td><td>${fmtWei(a.credits)}</td>
      <td>${fmtWei(a.withdrawn)}</td><td>${fmtWei(a.credit_balance)}</td></tr>`).join("")}</tbody></table>`;
}

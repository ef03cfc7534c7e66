// Base stations: join, sealed costs, their aggregator daemons' on-chain reports (TrainingReported) and rewards.
import { me, myParticipant, state } from "./app.js";
import { bindClaims, claimsSkeleton, refreshClaims } from "./claims.js";
import { bindJoin, bindWithdraw, joinForm, withdrawCard } from "./owners.js";
import { api, esc, fmtWei, short } from "./util.js";

let root;

export function renderStations(el) {
  root = el;
  el.innerHTML = `
    <div class="grid">
      ${joinForm("s", 2)}
      ${claimsSkeleton("s", "cost")}
      ${withdrawCard("s")}
      <section class="card wide"><h3>Stations of this round</h3><div id="s-stations"></div></section>
      <section class="card wide"><h3>Training reports <span class="muted small">(TrainingReported, signed by each station's daemon)</span></h3><div id="s-reports"></div></section>
      <section class="card wide"><h3>Rewards <span class="muted small">(StationRewarded at the end of the round)</span></h3><div id="s-rewards"></div></section>
    </div>`;
  bindJoin(el, "s");
  bindClaims(el, "s");
  bindWithdraw(el, "s");
}

export async function refreshStations(st, force) {
  if (!root) return;
  const r = st.round;
  const p = myParticipant();
  root.querySelector("#s-join-state").textContent = !me() ? "choose a signer first" : p ? `joined as ${p.role} with ${fmtWei(p.deposit)}` : r && r.phase === "Joining" ? "open for joining" : "joining is closed";
  root.querySelector("#s-credit").textContent = me() ? fmtWei(st.credit) : "—";
  refreshClaims(root, "s", "cost", force);
  if (st.tab !== "stations" || !r) return;
  const events = await api(`/api/rounds/${st.rid}/events`);
  const t = r.selected_some && r.proposals[r.selected] ? r.proposals[r.selected].global_rounds : null;
  const reports = events.filter((e) => e.name === "TrainingReported");
  const rewards = events.filter((e) => e.name === "StationRewarded");
  const settled = Object.fromEntries(events.filter((e) => e.name === "ParticipantSettled").map((e) => [e.args.account, e.args]));
  root.querySelector("#s-stations").innerHTML = r.stations.length
    ? `<table><thead><tr><th>station</th><th>deposit</th><th>capability</th><th>revealed</th><th>costs (capped)</th><th>tax</th><th>reported</th></tr></thead><tbody>
       ${r.stations.map((s) => `<tr class="${me() && s.address.toLowerCase() === me().toLowerCase() ? "mine" : ""}"><td class="addr" title="${esc(s.address)}">${esc(short(s.address))}</td>
       <td>${fmtWei(s.deposit)}</td><td>${esc(s.capability)}</td><td>${s.revealed ? "✓" : ""}</td><td>${s.claims.map(fmtWei).join(", ")}</td>
       <td>${settled[s.address] ? fmtWei(settled[s.address].tax) : "—"}</td><td>${s.reported_rounds}${t ? ` / ${t}` : ""}</td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">no station joined yet</p>`;
  root.querySelector("#s-reports").innerHTML = reports.length
    ? `<table id="s-report-table"><thead><tr><th>station</th><th>global round</th><th>update hash</th><th>samples</th><th>local accuracy</th><th>block</th><th>tx</th></tr></thead><tbody>
       ${reports.map((e) => `<tr><td class="addr" title="${esc(e.args.station)}">${esc(short(e.args.station))}</td><td>${e.args.globalRound}</td>
       <td><code title="${esc(e.args.updateHash)}">${esc(e.args.updateHash.slice(0, 14))}…</code></td><td>${esc(e.args.samples)}</td>
       <td>${(e.args.accuracyBps / 100).toFixed(2)}%</td><td>${e.block}</td><td><code class="tx" title="${esc(e.tx_hash)}">${esc(e.tx_hash.slice(0, 14))}…</code></td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">no training report yet</p>`;
  root.querySelector("#s-rewards").innerHTML = rewards.length
    ? `<table><thead><tr><th>station</th><th>share of escrow</th><th>reward</th><th>forfeited</th><th>tx</th></tr></thead><tbody>
       ${rewards.map((e) => `<tr><td class="addr">${esc(short(e.args.station))}</td><td>${fmtWei(e.args.share)}</td><td>${fmtWei(e.args.reward)}</td><td>${fmtWei(e.args.forfeited)}</td>
       <td><code class="tx" title="${esc(e.tx_hash)}">${esc(e.tx_hash.slice(0, 14))}…</code></td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">${r.escrow && r.escrow !== "0" ? `escrow of ${fmtWei(r.escrow)} is released when the round finishes` : "no rewards yet"}</p>`;
}

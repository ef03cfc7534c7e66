// Base stations: join, sealed costs, how to run the aggregator daemon for this round, the daemons'
// on-chain reports (TrainingReported), objections to the winner's scores, rewards, claim and withdraw.
import { ROLE, me, state } from "../store.js";
import { userError } from "../errors.js";
import { CANCELLED, put, runAction, show, table } from "../widgets.js";
import { isRoot, leafOf, verifyInclusion } from "../inclusion.js";
import { esc, fmtDate, fmtWei, same, short } from "../util.js";
import { SHARE_RULES } from "../generated/protocol.js";
import { bindClaims, bindJoin, bindPayout, bindSettle, claimsCard, inPhase, joinCard, payoutCard, positionCard, settleButton,
  updateClaims, updateJoin, updatePayout, updatePosition, updateSettle } from "./common.js";

let root;

export function renderStations(el) {
  root = el;
  el.innerHTML = `
    <div class="grid">
      ${positionCard("s")}
      <section class="card" id="s-daemon"><h3>Your aggregator daemon</h3><div id="s-daemon-body" class="small"></div></section>
      ${joinCard("s", ROLE.Station)}
      ${settleButton("s")}
      ${claimsCard("s", "cost")}
      ${payoutCard("s")}
      <section class="card" id="s-inclusion-card"><h3>Included work <span class="muted small">(rewards only for global rounds whose aggregate had your update)</span></h3>
        <div id="s-inclusion-body" class="small"></div>
        <div id="s-contest-box"><p class="small warning" id="s-contest-warning">If the inclusion root leaves out rounds your update was in, contest it until the vote-commit deadline. Contesting sends no money and changes nothing by itself: the owners' punishment vote decides. If they punish the winner, you are paid for all the rounds you reported; if they keep the result, you are paid for the rounds in your proven leaf, as if you had not contested.</p>
        <button id="s-contest" class="ghost">Contest inclusion</button></div><div class="msg" id="s-contest-msg"></div></section>
      <section class="card" id="s-object-card"><h3>Object to the scores</h3>
        <p class="small">Under the contribution rule the winner posts every station's score. If they are wrong, any revealed station may object until the vote-commit deadline: the stations' split then falls back to equal shares.</p>
        <button id="s-object">Object to the scores</button><div class="msg" id="s-object-msg"></div></section>
      <section class="card wide"><h3>Stations of this round</h3><div id="s-stations"></div></section>
      <section class="card wide"><h3>Training reports <span class="muted small">(TrainingReported, signed by each station's daemon)</span></h3><div id="s-reports"></div></section>
      <section class="card wide"><h3>Rewards <span class="muted small">(StationRewarded, when each station claims after the round)</span></h3><div id="s-rewards"></div></section>
    </div>`;
  bindJoin(el, "s", ROLE.Station);
  bindClaims(el, "s", "cost");
  bindPayout(el, "s");
  bindSettle(el, "s");
  const cb = el.querySelector("#s-contest");
  cb.onclick = () => runAction(cb, el.querySelector("#s-contest-msg"), "contest inclusion", async (ctx) => {
    const mine = state.mine;
    if (!mine || mine.role !== ROLE.Station || !mine.participant.revealed) throw userError("only a station that revealed its costs can contest the inclusion root");
    if (!mine.inclusion || !isRoot(mine.inclusion.root)) throw userError("the winner has not recorded an inclusion root: there is nothing to contest (you are paid for your reported rounds)");
    if (!(await ctx.warn(["you contest the winner's inclusion root: the owners' punishment vote decides; if they punish the winner you are paid for every global round you reported, else for the rounds in your proven leaf; a station contests once"]))) return CANCELLED;
    return state.chain.send("contestInclusion", [state.rid], 0n, ctx.sent);
  });
  const ob = el.querySelector("#s-object");
  ob.onclick = () => runAction(ob, el.querySelector("#s-object-msg"), "object to the scores", async (ctx) => {
    if (!state.mine || state.mine.role !== ROLE.Station || !state.mine.participant.revealed) throw userError("only a station that revealed its costs can object");
    return state.chain.send("objectScores", [state.rid], 0n, ctx.sent);
  });
}

function daemonHelp(r, mine) {
  const cmd = `hcfl aggregator --coordinator ${location.origin} --key station.key --round ${r ? r.id : "ROUND"} --data ./my-data`;
  const mineRow = r && me() ? r.people.find((p) => same(p.address, me())) : null;
  let seen = "";
  if (r && r.data.selected && mineRow && mineRow.revealed && inPhase("Training")) {
    const polled = state.training && state.training.stations_seen
      ? Object.entries(state.training.stations_seen).find(([a]) => same(a, me())) : null;
    if (mineRow.reported > 0) {
      seen = `<p class="ok">daemon seen: ${mineRow.reported} of ${r.winner.globalRounds} global rounds reported on chain (last in block ${mineRow.reports[mineRow.reports.length - 1].block})</p>`;
    } else if (polled) {
      seen = `<p class="ok" id="s-daemon-seen">daemon seen: it last asked the coordinator for its task ${Math.max(0, Math.round(Date.now() / 1000 - polled[1]))} s ago; no global round reported on chain yet</p>`;
    } else {
      seen = `<p class="err" id="s-no-daemon">no daemon seen: no daemon of this station has asked the coordinator for its task, and it has not reported any global round. Start the daemon now or its reward is forfeited.</p>`;
    }
  }
  if (r && (inPhase("VoteCommitting") || inPhase("VoteRevealing") || inPhase("Finished"))) {
    const reported = mineRow && mineRow.reported > 0 ? ` Your daemon reported ${mineRow.reported} global round(s) on chain.` : "";
    return `<p id="s-daemon-done">Training of round ${r.id} is over: its daemon can be stopped.${esc(reported)}</p>`;
  }
  return `<p>Training runs in your own process, with your key (the coordinator never holds it). Save this station's private key in <code>station.key</code>, then run:</p>
    <pre class="cmd" id="s-daemon-cmd">${esc(cmd)}</pre>
    <p class="muted">With edge devices in your cell use <code>--edge --edge-flower 0.0.0.0:9091 --edge-http 0.0.0.0:9090</code> instead of <code>--data</code>; edge devices join your station with <code>hcfl edge-client --station http://YOUR-STATION:9090 --key device.key --data ./data</code>.</p>${seen}`;
}

/** "included in X of t global rounds", from the coordinator's manifests, checked against the root on chain. */
function inclusionHtml(r, mine) {
  const t = r.winner.globalRounds;
  const inc = mine.inclusion || {};
  const res = state.training && state.training.result;
  const leaf = leafOf(res, me());
  const reported = Number(mine.participant.reported);
  const lines = [];
  if (leaf) lines.push(`<p id="s-included">included in <b>${Number(leaf.included_rounds)} of ${t}</b> global rounds (the coordinator's manifests; you reported ${reported})</p>`);
  else lines.push(`<p id="s-included" class="muted">included rounds: ${res ? "the coordinator's result lists no leaf for you" : "when the coordinator publishes the training result"} (you reported ${reported} of ${t})</p>`);
  if (!isRoot(inc.root)) {
    lines.push(`<p id="s-root-state" class="muted">no inclusion root on chain${r.data.finalized ? ": the winner finalized without one, so you are paid for your reported rounds" : " yet: the winner records it before finalizing"}</p>`);
  } else {
    const verified = leaf ? verifyInclusion(inc.root, me(), leaf.included_rounds, leaf.proof) : null;
    lines.push(`<p id="s-root-state">inclusion root on chain <code title="${esc(inc.root)}">${esc(String(inc.root).slice(0, 12))}…</code>${verified === null ? "" : verified
      ? ' · <span class="ok" id="s-proof-check">your proof verifies against it in this browser ✓</span>'
      : ' · <span class="err" id="s-proof-check">the coordinator\'s proof does NOT verify against it ✗ (contest)</span>'}</p>`);
    lines.push(inc.proven
      ? `<p id="s-proven" class="ok">proven on chain: paid for ${Math.min(inc.includedRounds, reported)} of ${t} global rounds (min of included ${inc.includedRounds} and reported ${reported})</p>`
      : `<p id="s-proven" class="muted">your leaf is not proven on chain yet: “Claim” proves it first (or anyone may)</p>`);
    if (inc.contested) lines.push(`<p id="s-contested">you contested the root: the owners' punishment vote decides</p>`);
  }
  return lines.join("");
}

export function updateStations(st) {
  if (!root) return;
  const r = st.round;
  const mine = st.mine;
  for (const [name, fn] of [["position", () => updatePosition(root, "s")], ["daemon", () => put(root.querySelector("#s-daemon-body"), daemonHelp(r, mine))],
    ["join", () => updateJoin(root, "s", ROLE.Station)], ["settle", () => updateSettle(root, "s")], ["claims", () => updateClaims(root, "s", "cost")],
    ["payout", () => updatePayout(root, "s")]]) {
    try {
      fn();
    } catch (err) {
      console.error(`stations view: ${name}: ${err && err.stack ? err.stack : err}`);
    }
  }
  try {
    const isStation = !!r && !!r.winner && !!mine && mine.role === ROLE.Station && mine.participant.revealed && !!r.data.selected;
    show(root.querySelector("#s-inclusion-card"), isStation && inPhase("Training", "VoteCommitting", "VoteRevealing", "Finished"));
    if (isStation) put(root.querySelector("#s-inclusion-body"), inclusionHtml(r, mine));
    show(root.querySelector("#s-contest-box"), isStation && inPhase("Training", "VoteCommitting") && !!mine.inclusion && isRoot(mine.inclusion.root) && !mine.inclusion.contested);
  } catch (err) {
    console.error(`stations view: inclusion: ${err && err.stack ? err.stack : err}`);
  }
  const contribution = r && r.cfg && SHARE_RULES[Number(r.cfg.stationShareRule)].name === "Contribution";
  show(root.querySelector("#s-object-card"), !!contribution && inPhase("Training", "VoteCommitting") && !!mine && mine.role === ROLE.Station && !r.data.objected);
  if (!r) return;
  const t = r.winner ? r.winner.globalRounds : null;
  const stations = r.people.filter((p) => p.role === ROLE.Station);
  put(root.querySelector("#s-stations"), stations.length
    ? table("s-station-table", ["station", "deposit", "revealed", "costs (capped)", "tax", "reported"], stations.map((s) => `<tr class="${same(s.address, me()) ? "mine" : ""}">
      <td class="addr" title="${esc(s.address)}">${esc(short(s.address))}${same(s.address, me()) ? " (you)" : ""}</td><td>${fmtWei(s.deposit)}</td><td>${s.revealed ? "✓" : ""}</td>
      <td>${s.claims.map(fmtWei).join(", ")}</td><td>${s.settlement ? fmtWei(s.settlement.tax) : "—"}</td><td>${s.reported}${t ? ` / ${t}` : ""}</td></tr>`))
    : `<p class="muted">no station joined yet</p>`);
  const reports = r.events.filter((e) => e.name === "TrainingReported");
  put(root.querySelector("#s-reports"), reports.length
    ? table("s-report-table", ["station", "global round", "update hash", "samples", "local accuracy", "block", "tx"], reports.map((e) => `<tr>
      <td class="addr" title="${esc(e.args.station)}">${esc(short(e.args.station))}</td><td>g${Number(e.args.globalRound)}</td>
      <td><code title="${esc(e.args.updateHash)}">${esc(String(e.args.updateHash).slice(0, 12))}…</code></td><td>${esc(String(e.args.samples))}</td>
      <td>${(Number(e.args.accuracyBps) / 100).toFixed(2)} %</td><td>${e.block}</td><td><code class="tx" title="${esc(e.tx)}">${esc(e.tx.slice(0, 12))}…</code></td></tr>`))
    : `<p class="muted">no training report yet</p>`);
  const rewards = r.events.filter((e) => e.name === "StationRewarded");
  put(root.querySelector("#s-rewards"), rewards.length
    ? table("s-reward-table", ["station", "share of escrow", "reward", "forfeited", "by contribution", "tx"], rewards.map((e) => `<tr>
      <td class="addr">${esc(short(e.args.station))}</td><td>${fmtWei(e.args.share)}</td><td>${fmtWei(e.args.reward)}</td><td>${fmtWei(e.args.forfeited)}</td>
      <td>${e.args.byContribution ? "yes" : "no"}</td><td><code class="tx" title="${esc(e.tx)}">${esc(e.tx.slice(0, 12))}…</code></td></tr>`))
    : `<p class="muted">${r.data.selected ? `escrow of ${fmtWei(r.data.escrow)} is paid out as each station claims after the round finishes` : "no rewards in this round"}</p>`);
  void fmtDate;
}

// Owners: join, propose (spec + plan to the coordinator, then propose on chain), sealed claims, training
// progress, finalization (winner), the punishment vote and withdrawal.
import { Chart, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import { act, me, myParticipant, state, storageKey } from "./app.js";
import { bindClaims, claimsSkeleton, refreshClaims } from "./claims.js";
import { api, esc, fmtWei, randomSalt, short, toWei, unitSelect } from "./util.js";
import { Chain } from "./wallet.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend, Filler);

let root;
let chart;

export function joinForm(prefix, role) {
  return `<section class="card"><h3>Join as ${role === 1 ? "model owner" : "base station"}</h3>
    <form id="${prefix}-join" class="form-grid">
      <label>deposit<span class="amount"><input name="deposit" value="0.01" inputmode="decimal">${unitSelect("unit", "ETH")}</span></label>
      <label>capability <span class="muted small">(share weight)</span><input name="capability" type="number" min="0" value="1"></label>
      <input type="hidden" name="role" value="${role}">
      <button type="submit" id="${prefix}-join-btn">Join</button>
    </form><div class="small muted" id="${prefix}-join-state"></div></section>`;
}

export function bindJoin(root, prefix) {
  const f = root.querySelector(`#${prefix}-join`);
  f.onsubmit = (e) => {
    e.preventDefault();
    const d = new FormData(f);
    act("join", () => state.chain.send("join", [state.rid, Number(d.get("role")), BigInt(d.get("capability"))], toWei(d.get("deposit"), d.get("unit"))));
  };
}

export function withdrawCard(prefix) {
  return `<section class="card"><h3>Withdraw</h3>
    <p>credit: <b id="${prefix}-credit">—</b> <span class="muted small">(pull payment of everything credited to you)</span></p>
    <button id="${prefix}-withdraw">Withdraw</button></section>`;
}

export function bindWithdraw(root, prefix) {
  root.querySelector(`#${prefix}-withdraw`).onclick = () => act("withdraw", () => state.chain.send("withdraw", []));
}

const LABELS = [...Array(10).keys()];

export function renderOwners(el) {
  root = el;
  el.innerHTML = `
    <section class="card" id="o-summary"></section>
    <div class="grid">
      ${joinForm("o", 1)}
      ${claimsSkeleton("o", "value")}
      ${withdrawCard("o")}
      <section class="card wide"><h3>Propose a model</h3>
        <form id="o-propose">
          <fieldset><legend>Model spec (ω)</legend><div class="form-grid">
            <label>architecture<select name="arch"><option>mlp</option><option>cnn</option><option>resnet</option></select></label>
            <label>input shape (C,H,W)<input name="input_shape" value="1,8,8"></label>
            <label>classes<input name="num_classes" type="number" min="2" value="10"></label>
            <label>hidden widths<input name="hidden" value="32" placeholder="empty: default"></label>
            <label>init seed<input name="init_seed" type="number" min="0" value="0"></label>
          </div></fieldset>
          <fieldset><legend>Training plan</legend><div class="form-grid">
            <label>dataset<select name="dataset"><option>digits</option><option>synthetic</option><option>mnist</option><option>cifar10</option></select></label>
            <label>clients / station<input name="clients_per_station" type="number" min="1" value="2"></label>
            <label>partition<select name="partition"><option>dirichlet</option><option>label-skew</option><option>iid</option></select></label>
            <label>α<input name="alpha" value="0.5"></label>
            <label>heterogeneity<input name="heterogeneity" value="0.8"></label>
            <label>seed<input name="seed" type="number" min="0" value="0"></label>
            <label>edge rounds κ<input name="edge_rounds" type="number" min="1" value="1"></label>
            <label>local epochs E<input name="local_epochs" type="number" min="1" value="1"></label>
            <label>batch size<input name="batch_size" type="number" min="1" value="32"></label>
            <label>learning rate<input name="lr" value="0.05"></label>
          </div></fieldset>
          <fieldset><legend>Proposal</legend><div class="form-grid">
            <label>promised accuracy (%)<input name="acc" value="85" inputmode="decimal"></label>
            <label>global rounds t<input name="t" type="number" min="1" max="10000" value="3"></label>
            <label>architecture id<input name="arch_id" type="number" min="0" value="0"></label>
            <label>bond<span class="amount"><input name="bond" value="0.001" inputmode="decimal">${unitSelect("bond_unit", "ETH")}</span></label>
            <label>posted price <span class="muted small">(posted rule)</span><span class="amount"><input name="price" value="0" inputmode="decimal">${unitSelect("price_unit")}</span></label>
          </div>
          <div class="labels"><span>target labels</span>${LABELS.map((i) => `<label class="check"><input type="checkbox" name="label" value="${i}" checked>${i}</label>`).join("")}
            <span class="muted small">mask <code id="o-mask">0x3ff</code></span></div>
          </fieldset>
          <button type="submit" id="o-propose-btn">Publish spec &amp; propose</button>
          <span class="small muted" id="o-omega"></span>
        </form>
      </section>
      <section class="card span2" id="o-training"><h3>Training</h3>
        <div class="chart-box"><canvas id="o-chart" height="110"></canvas></div>
        <div id="o-training-status" class="small"></div>
        <div class="buttons"><button id="o-finalize">Finalize (winner signs the published result)</button></div>
      </section>
      <section class="card"><h3>Punishment vote</h3>
        <p class="small muted">Revealed owners other than the winner: punish if the model misses its promised accuracy.</p>
        <label class="check"><input type="radio" name="o-vote" value="1">punish</label>
        <label class="check"><input type="radio" name="o-vote" value="0" checked>keep</label>
        <div class="buttons"><button id="o-vote-commit">Commit vote</button><button id="o-vote-reveal">Reveal vote</button></div>
        <div id="o-vote-state" class="small muted"></div>
      </section>
    </div>`;
  bindJoin(el, "o");
  bindClaims(el, "o");
  bindWithdraw(el, "o");
  const form = el.querySelector("#o-propose");
  const mask = () => form.querySelectorAll("input[name=label]:checked").length
    ? [...form.querySelectorAll("input[name=label]:checked")].reduce((m, x) => m | (1n << BigInt(x.value)), 0n)
    : 0n;
  form.addEventListener("change", () => (el.querySelector("#o-mask").textContent = "0x" + mask().toString(16)));
  form.onsubmit = (e) => {
    e.preventDefault();
    const d = new FormData(form);
    act("propose", async () => {
      const labelMask = mask();
      if (labelMask === 0n) throw new Error("choose at least one target label");
      const hidden = String(d.get("hidden")).split(",").map((x) => x.trim()).filter(Boolean).map(Number);
      const body = {
        spec: { arch: d.get("arch"), input_shape: String(d.get("input_shape")).split(",").map((x) => Number(x.trim())),
                num_classes: Number(d.get("num_classes")), hidden, init_seed: Number(d.get("init_seed")) },
        training: { dataset: d.get("dataset"), clients_per_station: Number(d.get("clients_per_station")), partition: d.get("partition"),
                    alpha: Number(d.get("alpha")), heterogeneity: Number(d.get("heterogeneity")), seed: Number(d.get("seed")),
                    edge_rounds: Number(d.get("edge_rounds")), local_epochs: Number(d.get("local_epochs")),
                    batch_size: Number(d.get("batch_size")), lr: Number(d.get("lr")) },
      };
      const created = await api("/api/specs", { method: "POST", body: JSON.stringify(body) });
      el.querySelector("#o-omega").innerHTML = `ω = <code>${esc(created.omega)}</code>`;
      const accBps = Math.round(Number(d.get("acc")) * 100);
      if (!(accBps >= 0 && accBps <= 10000)) throw new Error("promised accuracy must be 0..100 %");
      return state.chain.send(
        "propose",
        [state.rid, created.omega, created.uri, Number(d.get("arch_id")), accBps, Number(d.get("t")), labelMask, toWei(d.get("price"), d.get("price_unit"))],
        toWei(d.get("bond"), d.get("bond_unit")),
      );
    });
  };
  el.querySelector("#o-finalize").onclick = () =>
    act("finalizeTraining", async () => {
      const t = await api(`/api/rounds/${state.rid}/training`);
      if (!t.result) throw new Error("the coordinator has not published a training result yet");
      return state.chain.send("finalizeTraining", [state.rid, t.result.global_model_hash, t.result.achieved_acc_bps, t.result.scores.map(BigInt)]);
    });
  el.querySelector("#o-vote-commit").onclick = () =>
    act("commitVote", async () => {
      const punish = el.querySelector("input[name=o-vote]:checked").value === "1";
      const salt = randomSalt();
      localStorage.setItem(storageKey("vote"), JSON.stringify({ punish, salt }));
      return state.chain.send("commitVote", [state.rid, Chain.voteCommitment(state.rid, me(), punish, salt)]);
    });
  el.querySelector("#o-vote-reveal").onclick = () =>
    act("revealVote", async () => {
      const saved = JSON.parse(localStorage.getItem(storageKey("vote")) || "null");
      if (!saved) throw new Error("no committed vote of this account for this round in this browser");
      return state.chain.send("revealVote", [state.rid, saved.punish, saved.salt]);
    });
}

function summaryHtml(r) {
  if (!r) return `<p class="muted">No round selected. Create one with “New round”.</p>`;
  const sel = r.selected_some ? r.selected : null;
  const proposals = r.proposals.length
    ? `<table><thead><tr><th>#</th><th>proposer</th><th>spec ω</th><th>promised</th><th>t</th><th>labels</th><th>bond</th><th>posted price</th><th>surplus</th></tr></thead><tbody>
      ${r.proposals.map((p) => `<tr class="${p.index === sel ? "selected" : ""}"><td>${p.index}${p.index === sel ? " ★" : ""}</td>
        <td class="addr" title="${esc(p.proposer)}">${esc(short(p.proposer))}</td>
        <td><code title="${esc(p.spec_hash)}">${esc(p.spec_hash.slice(0, 10))}…</code>${p.spec_known ? "" : ' <span class="muted small">(spec unknown)</span>'}</td>
        <td>${(p.promised_acc_bps / 100).toFixed(2)}%</td><td>${p.global_rounds}</td><td><code>0x${BigInt(p.label_mask).toString(16)}</code></td>
        <td>${fmtWei(p.bond)}</td><td>${fmtWei(p.posted_price)}</td><td>${r.surplus[p.index] !== undefined ? fmtWei(r.surplus[p.index]) : "—"}</td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">no proposals yet</p>`;
  const people = [...r.owners, ...r.stations];
  const parts = people.length
    ? `<table><thead><tr><th>participant</th><th>role</th><th>deposit</th><th>capability</th><th>committed</th><th>revealed</th><th>claims (capped)</th></tr></thead><tbody>
      ${people.map((p) => `<tr class="${me() && p.address.toLowerCase() === me().toLowerCase() ? "mine" : ""}"><td class="addr" title="${esc(p.address)}">${esc(short(p.address))}${me() && p.address.toLowerCase() === me().toLowerCase() ? " (you)" : ""}</td>
        <td>${esc(p.role)}</td><td>${fmtWei(p.deposit)}</td><td>${esc(p.capability)}</td><td>${p.committed ? "✓" : ""}</td><td>${p.revealed ? "✓" : ""}</td>
        <td>${p.claims.map(fmtWei).join(", ")}</td></tr>`).join("")}</tbody></table>`
    : "";
  const outcome = r.settled
    ? `<p>Settled: ${r.unfunded ? "<b>unfunded</b>" : r.selected_some ? `proposal <b>${r.selected}</b> selected, total payment C = <b>${fmtWei(r.total_payment)}</b>` : "<b>none</b> selected"}
       ${r.finalized ? ` · final accuracy ${(r.achieved_acc_bps / 100).toFixed(2)}%` : ""}${r.phase === "Finished" && r.selected_some ? ` · ${r.punished ? "winner punished" : "bond returned"} (${r.punish_votes} punish / ${r.keep_votes} keep)` : ""}</p>`
    : "";
  return `<h3>Round ${r.round_id}</h3>${outcome}<h4>Proposals</h4>${proposals}<h4>Participants</h4>${parts || '<p class="muted">nobody joined yet</p>'}`;
}

async function refreshTraining(r) {
  const status = root.querySelector("#o-training-status");
  if (!r || r.phase_id < 5 || !r.selected_some) {
    status.textContent = r && r.settled && !r.selected_some ? "no model was selected in this round" : "training starts when the round is settled with a selected model";
    if (chart) chart.data.labels = [], chart.data.datasets[0].data = [], chart.update();
    return;
  }
  let t;
  try {
    t = await api(`/api/rounds/${state.rid}/training`);
  } catch (err) {
    status.textContent = err.message;
    return;
  }
  const labels = t.history.map((h) => `g${h.global_round}`);
  const data = t.history.map((h) => (h.accuracy === null || h.accuracy === undefined ? null : +(h.accuracy * 100).toFixed(2)));
  const promised = r.proposals[r.selected] ? r.proposals[r.selected].promised_acc_bps / 100 : null;
  root.querySelector("#o-chart").dataset.points = String(data.filter((x) => x !== null).length);
  if (!chart) {
    chart = new Chart(root.querySelector("#o-chart"), {
      type: "line",
      data: { labels, datasets: [
        { label: "global model accuracy (%)", data, borderColor: "#2563eb", backgroundColor: "rgba(37,99,235,.12)", fill: true, tension: 0.2 },
        { label: "promised (%)", data: labels.map(() => promised), borderColor: "#dc2626", borderDash: [6, 4], pointRadius: 0 },
      ] },
      options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: "accuracy %" } }, x: { title: { display: true, text: "global round" } } } },
    });
  } else {
    chart.data.labels = labels;
    chart.data.datasets[0].data = data;
    chart.data.datasets[1].data = labels.map(() => promised);
    chart.update();
  }
  const winner = r.proposals[r.selected] && r.proposals[r.selected].proposer;
  status.innerHTML = `status <b id="o-train-status">${esc(t.status)}</b> · global round ${t.global_round}/${t.t}
    ${t.uploaded && t.uploaded.length ? ` · uploaded: ${t.uploaded.map(short).join(", ")}` : ""}
    ${t.result ? ` · result: accuracy ${(t.result.achieved_acc_bps / 100).toFixed(2)}%, model <code>${esc(t.result.global_model_hash.slice(0, 12))}…</code>, scores [${t.result.scores.join(", ")}]` : ""}
    ${winner ? ` · winner ${esc(short(winner))}${me() && winner.toLowerCase() === me().toLowerCase() ? " (you)" : ""}` : ""}${t.note ? ` · ${esc(t.note)}` : ""}`;
}

export async function refreshOwners(st, force) {
  if (!root) return;
  const r = st.round;
  root.querySelector("#o-summary").innerHTML = summaryHtml(r);
  const p = myParticipant();
  const js = root.querySelector("#o-join-state");
  js.textContent = !me() ? "choose a signer first" : p ? `joined as ${p.role} with ${fmtWei(p.deposit)}` : r && r.phase === "Joining" ? "open for joining" : "joining is closed";
  root.querySelector("#o-credit").textContent = me() ? fmtWei(st.credit) : "—";
  refreshClaims(root, "o", "value", force);
  const vs = root.querySelector("#o-vote-state");
  const saved = me() && st.rid !== null ? JSON.parse(localStorage.getItem(storageKey("vote")) || "null") : null;
  vs.textContent = saved ? `vote kept in this browser: ${saved.punish ? "punish" : "keep"}` : r ? `${r.punish_votes} punish / ${r.keep_votes} keep revealed` : "";
  if (st.tab === "owners") await refreshTraining(r);
}

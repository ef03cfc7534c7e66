// Owners: join, propose (spec + plan to the coordinator, then propose on chain), sealed values, settle,
// training progress and finalization (winner), the punishment vote (with the final model's hash checked),
// "my position", claim and withdraw.
import { Chart, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import { ZeroHash, getBytes, keccak256 } from "ethers";
import { ROLE, me, state } from "../store.js";
import * as salts from "../salts.js";
import { userError } from "../errors.js";
import { messageText } from "../messages.js";
import { CANCELLED, amountField, put, runAction, say, show, table, txLink } from "../widgets.js";
import { isRoot, leafOf } from "../inclusion.js";
import { api, esc, fmtWei, fmtWeiText, randomSalt, same, short, toInt, toWei } from "../util.js";
import { bindClaims, bindJoin, bindPayout, bindSettle, claimsCard, inPhase, joinCard, payoutCard, positionCard, settleButton,
  updateClaims, updateJoin, updatePayout, updatePosition, updateSettle } from "./common.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend, Filler);

let root;
let chart;
const LABELS = [...Array(10).keys()];

export function renderOwners(el) {
  root = el;
  el.innerHTML = `
    <div class="grid">
      ${positionCard("o")}
      <section class="card" id="o-next"><h3>What now</h3><div id="o-next-body" class="small"></div></section>
      ${joinCard("o", ROLE.Owner)}
      ${settleButton("o")}
      ${claimsCard("o", "value")}
      ${payoutCard("o")}
      <section class="card wide" id="o-propose-card"><h3>Propose a model</h3>
        <form id="o-propose" novalidate>
          <fieldset><legend>Model spec (ω)</legend><div class="form-grid">
            <label>architecture<select name="arch"><option>mlp</option><option>cnn</option><option>resnet</option></select></label>
            <label>input shape (C,H,W)<input name="input_shape" value="1,8,8"></label>
            <label>classes<input name="num_classes" inputmode="numeric" value="10"></label>
            <label>hidden widths<input name="hidden" value="32" placeholder="empty: default"></label>
            <label>init seed<input name="init_seed" inputmode="numeric" value="0"></label>
          </div></fieldset>
          <fieldset><legend>Training plan</legend><div class="form-grid">
            <label>dataset<select name="dataset"><option>digits</option><option>synthetic</option><option>mnist</option><option>cifar10</option></select></label>
            <label>clients / station<input name="clients_per_station" inputmode="numeric" value="2"></label>
            <label>partition<select name="partition"><option>dirichlet</option><option>label-skew</option><option>iid</option></select></label>
            <label>α<input name="alpha" value="0.5"></label>
            <label>heterogeneity<input name="heterogeneity" value="0.8"></label>
            <label>seed<input name="seed" inputmode="numeric" value="0"></label>
            <label>edge rounds κ<input name="edge_rounds" inputmode="numeric" value="1"></label>
            <label>local epochs E<input name="local_epochs" inputmode="numeric" value="1"></label>
            <label>batch size<input name="batch_size" inputmode="numeric" value="32"></label>
            <label>learning rate<input name="lr" value="0.05"></label>
          </div></fieldset>
          <fieldset><legend>Proposal</legend><div class="form-grid">
            <label>promised accuracy (%)<input name="acc" value="85" inputmode="decimal"></label>
            <label>global rounds t<input name="t" inputmode="numeric" value="3"></label>
            <label>architecture id<input name="arch_id" inputmode="numeric" value="0"></label>
            ${amountField("bond", "bond", "0.01", "ETH")}
            ${amountField("posted price C_m", "price", "0.02", "ETH")}
          </div>
          <div class="labels"><span>target labels</span>${LABELS.map((i) => `<label class="check"><input type="checkbox" name="label" value="${i}" checked>${i}</label>`).join("")}
            <span class="muted small">mask <code id="o-mask">0x3ff</code></span></div>
          </fieldset>
          <div class="small muted" id="o-propose-limits"></div>
          <button type="submit" id="o-propose-btn">Publish spec &amp; propose</button>
        </form>
        <div class="msg" id="o-propose-msg"></div>
      </section>
      <section class="card span2" id="o-training"><h3>Training</h3>
        <div class="chart-box"><canvas id="o-chart"></canvas></div>
        <div id="o-training-status" class="small"></div>
        <div id="o-inclusion" class="small"></div>
        <div class="buttons"><button id="o-finalize">Finalize (winner records the inclusion root, then signs the published result)</button></div>
        <div class="msg" id="o-finalize-msg"></div>
        <div class="buttons"><button type="button" id="o-model-download" class="ghost">Download final model &amp; check its hash</button></div>
        <div class="msg" id="o-model-msg"></div>
      </section>
      <section class="card" id="o-vote-card"><h3>Punishment vote</h3>
        <p class="small muted">Revealed owners other than the winner vote, weighted by their payment share: punish if the model misses its promised accuracy. The vote deposit comes back when you reveal.</p>
        <div id="o-vote-info" class="small"></div>
        <div id="o-vote-choice"><label class="check"><input type="radio" name="o-vote" value="1">punish</label>
        <label class="check"><input type="radio" name="o-vote" value="0" checked>keep</label></div>
        <div class="buttons"><button id="o-vote-commit">Commit vote</button><button id="o-vote-reveal">Reveal vote</button></div>
        <div class="msg" id="o-vote-msg"></div><div id="o-vote-state" class="small muted"></div>
      </section>
      <section class="card wide" id="o-summary"></section>
    </div>`;
  bindJoin(el, "o", ROLE.Owner);
  bindClaims(el, "o", "value");
  bindPayout(el, "o");
  bindSettle(el, "o");
  bindPropose(el);
  bindFinalize(el);
  bindVote(el);
}

function bindPropose(el) {
  const form = el.querySelector("#o-propose");
  const mask = () => [...form.querySelectorAll("input[name=label]:checked")].reduce((m, x) => m | (1n << BigInt(x.value)), 0n);
  form.addEventListener("change", () => (el.querySelector("#o-mask").textContent = "0x" + mask().toString(16)));
  const btn = el.querySelector("#o-propose-btn");
  const msg = el.querySelector("#o-propose-msg");
  form.onsubmit = (e) => {
    e.preventDefault();
    runAction(btn, msg, "propose", async (ctx) => {
      const d = new FormData(form);
      const cfg = state.round && state.round.cfg;
      const labelMask = mask();
      if (labelMask === 0n) throw userError("choose at least one target label");
      const accPct = Number(String(d.get("acc")).trim());
      if (!(String(d.get("acc")).trim() !== "" && accPct >= 0 && accPct <= 100)) throw userError("promised accuracy must be a number from 0 to 100 (%)");
      const t = toInt(d.get("t"), "global rounds t", 1n, 10000n);
      const archId = toInt(d.get("arch_id"), "architecture id", 0n, 2n ** 32n - 1n);
      const bond = toWei(d.get("bond"), d.get("bond_unit"), "bond");
      const price = toWei(d.get("price"), d.get("price_unit"), "posted price");
      if (cfg && bond < BigInt(cfg.minBond)) throw userError(`the bond ${fmtWeiText(bond)} is below the minimum bond of ${fmtWeiText(cfg.minBond)}`);
      if (cfg && price > BigInt(cfg.maxPrice)) throw userError(`the posted price ${fmtWeiText(price)} is above the campaign's price cap of ${fmtWeiText(cfg.maxPrice)}`);
      const num = (k, label) => {
        const v = String(d.get(k)).trim();
        if (v === "" || !Number.isFinite(Number(v))) throw userError(`${label} must be a number`);
        return Number(v);
      };
      const hidden = String(d.get("hidden")).split(",").map((x) => x.trim()).filter(Boolean).map((x) => {
        if (!/^\d+$/.test(x)) throw userError("hidden widths are whole numbers separated by commas");
        return Number(x);
      });
      const shape = String(d.get("input_shape")).split(",").map((x) => x.trim());
      if (!shape.every((x) => /^\d+$/.test(x))) throw userError("input shape is whole numbers separated by commas, e.g. 1,8,8");
      const body = {
        spec: { arch: d.get("arch"), input_shape: shape.map(Number), num_classes: num("num_classes", "classes"), hidden, init_seed: num("init_seed", "init seed") },
        training: { dataset: d.get("dataset"), clients_per_station: num("clients_per_station", "clients per station"), partition: d.get("partition"),
          alpha: num("alpha", "α"), heterogeneity: num("heterogeneity", "heterogeneity"), seed: num("seed", "seed"), edge_rounds: num("edge_rounds", "edge rounds"),
          local_epochs: num("local_epochs", "local epochs"), batch_size: num("batch_size", "batch size"), lr: num("lr", "learning rate") },
      };
      const warnings = [`your bond of ${fmtWeiText(bond)} is slashed if your proposal wins and the owners vote that it missed ${accPct} %, or if you do not finalize training in time`];
      if (!(await ctx.warn(warnings))) return CANCELLED;
      ctx.step("publishing the spec to the coordinator…");
      const created = await api("/api/specs", { method: "POST", body: JSON.stringify(body) });
      ctx.step(`spec ω = ${created.omega.slice(0, 12)}… published; sign the proposal…`);
      return state.chain.send("propose", [state.rid, created.omega, created.uri, archId, Math.round(accPct * 100), t, labelMask, price], bond, ctx.sent);
    });
  };
}

function trainingResult() {
  const t = state.training;
  return t && t.result ? t.result : null;
}

function bindFinalize(el) {
  const btn = el.querySelector("#o-finalize");
  const msg = el.querySelector("#o-finalize-msg");
  btn.onclick = () =>
    runAction(btn, msg, "finalize training", async (ctx) => {
      const res = trainingResult();
      if (!res) throw userError("the coordinator has not published a training result yet");
      const r = state.round;
      const promised = r.winner.promisedAccBps;
      const achieved = Number(res.achieved_acc_bps);
      const warnings = [];
      if (achieved < promised) warnings.push(`the achieved accuracy ${(achieved / 100).toFixed(2)} % is below your promised ${(promised / 100).toFixed(2)} %: the owners may vote to slash your bond of ${fmtWeiText(r.winner.bond)}`);
      // rewards only for included work: the inclusion root goes on chain before finalizing (once, while training is open)
      const recorded = isRoot(r.inclusionRoot);
      const fromCoordinator = isRoot(res.inclusion_root) ? String(res.inclusion_root) : null;
      if (!recorded && !fromCoordinator) warnings.push("the coordinator's result has no inclusion root: finalized without one, every station is paid for the global rounds it reported, whether or not its update went into the aggregate");
      if (recorded && fromCoordinator && !same(r.inclusionRoot, fromCoordinator)) warnings.push(`the inclusion root on chain (${String(r.inclusionRoot).slice(0, 12)}…) is not the coordinator's (${fromCoordinator.slice(0, 12)}…): stations cannot prove the coordinator's leaves and may contest`);
      if (!(await ctx.warn(warnings))) return CANCELLED;
      const h = (x) => (x && /^0x[0-9a-fA-F]{64}$/.test(x) ? x : ZeroHash);
      let recordedBy = "";
      if (!recorded && fromCoordinator) {
        say(msg, "pending", "record inclusion root (1 of 2): sign recordInclusion…");
        const rec = await state.chain.send("recordInclusion", [r.id, fromCoordinator, h(res.manifests_root)], 0n,
          (hash) => say(msg, "pending", `record inclusion root (1 of 2): pending ${txLink(hash)} — waiting for confirmation…`));
        recordedBy = `inclusion root recorded in block ${rec.blockNumber} ${txLink(rec.hash)} · `;
        ctx.step("inclusion root recorded (1 of 2); sign finalizeTraining (2 of 2)…");
      }
      const receipt = await state.chain.send("finalizeTraining", [r.id, h(res.model_hash || res.global_model_hash), achieved, h(res.scores_root), BigInt(res.scores_total || 0), h(res.validation_hash)], 0n, ctx.sent);
      ctx.doneText = `<span id="o-finalize-done">${recordedBy}finalize training: confirmed in block ${receipt.blockNumber} ${txLink(receipt.hash)}</span>`;
      return receipt;
    });
}

/** Per revealed station: reported rounds (chain), included rounds (the coordinator's manifests), proven leaf (chain). */
function inclusionHtml(r) {
  const res = trainingResult();
  const t = r.winner ? r.winner.globalRounds : "?";
  const stations = r.people.filter((p) => p.role === ROLE.Station && p.revealed);
  if (!stations.length) return "";
  const recorded = isRoot(r.inclusionRoot);
  const head = recorded
    ? `inclusion root on chain <code title="${esc(r.inclusionRoot)}">${esc(String(r.inclusionRoot).slice(0, 12))}…</code>${res && isRoot(res.inclusion_root) && !same(res.inclusion_root, r.inclusionRoot) ? ' <span class="err">≠ the coordinator\'s</span>' : ""}: each station is paid for min(included, reported) of ${t} global rounds`
    : res && isRoot(res.inclusion_root)
      ? `inclusion root from the coordinator <code title="${esc(res.inclusion_root)}">${esc(String(res.inclusion_root).slice(0, 12))}…</code>: “Finalize” records it on chain first`
      : res ? '<span class="err">the coordinator\'s result has no inclusion root: stations will be paid by their reported rounds</span>' : "included rounds: when the coordinator publishes the result";
  const rows = stations.map((p) => {
    const leaf = res ? leafOf(res, p.address) : null;
    return `<tr data-station="${esc(p.address)}"><td class="addr" title="${esc(p.address)}">${esc(short(p.address))}${same(p.address, me()) ? " (you)" : ""}</td><td>${p.reported} / ${t}</td>
      <td class="included">${leaf ? `${Number(leaf.included_rounds)} / ${t}` : "—"}</td><td>${p.included !== undefined ? `✓ ${p.included}` : recorded ? "not yet" : "—"}</td><td>${p.contested ? "contested" : ""}</td></tr>`;
  });
  return `<p id="o-inclusion-head">${head}</p>${table("o-inclusion-table", ["station", "reported", "included in aggregates", "proven on chain", ""], rows)}`;
}

function bindVote(el) {
  const msg = el.querySelector("#o-vote-msg");
  const cBtn = el.querySelector("#o-vote-commit");
  const rBtn = el.querySelector("#o-vote-reveal");
  cBtn.onclick = () =>
    runAction(cBtn, msg, "commit vote", async (ctx) => {
      const r = state.round;
      const mine = state.mine;
      if (!mine || !(BigInt(mine.voteWeight || 0n) > 0n)) throw userError("this account may not vote in this round (voters are revealed owners other than the winner, with a payment share)");
      if (mine.vote && mine.vote.committed) throw userError("you already committed a vote; its salt is kept for the reveal");
      const punish = el.querySelector("input[name=o-vote]:checked").value === "1";
      const dep = BigInt(r.cfg.voteDeposit);
      if (!(await ctx.warn([`you vote to ${punish ? "PUNISH the winner (slash its bond)" : "KEEP (return the winner's bond)"}, with a deposit of ${fmtWeiText(dep)} that is forfeited if you do not reveal in time`]))) return CANCELLED;
      const salt = randomSalt();
      const commitment = await state.chain.voteCommitment(r.id, me(), punish, salt);
      salts.add(me(), { kind: "vote", roundId: r.id, punish, salt, commitment, status: "prepared" });
      const receipt = await state.chain.send("commitVote", [r.id, commitment], dep, ctx.sent);
      salts.update(me(), commitment, { status: "committed" });
      return receipt;
    });
  rBtn.onclick = () =>
    runAction(rBtn, msg, "reveal vote", async (ctx) => {
      const r = state.round;
      const v = state.mine && state.mine.vote;
      if (!v || !v.committed) throw userError("this account did not commit a vote");
      const rec = salts.find(me(), "vote", r.id, v.commitment);
      if (!rec) throw userError("the salt of your vote is not in this browser: import your salt backup (Owners → Salt backup)", "NoSalt");
      const receipt = await state.chain.send("revealVote", [r.id, !!rec.punish, rec.salt], 0n, ctx.sent);
      salts.removeRevealed(me(), "vote", r.id);
      return receipt;
    });
  const dl = el.querySelector("#o-model-download");
  const mmsg = el.querySelector("#o-model-msg");
  dl.onclick = () =>
    runAction(dl, mmsg, "download final model", async (ctx) => {
      if (!state.chain.signer) throw userError("choose a signer first");
      const r = state.round;
      ctx.step("sign the download request (no transaction)…");
      const sig = await state.chain.signer.raw.signMessage(messageText("download", { chainId: state.info.chain_id, contract: state.info.contract, roundId: r.id }));
      const res = await fetch(`/api/rounds/${r.id}/models/final`, { headers: { "X-HCFL-Owner": me(), "X-HCFL-Signature": sig } });
      if (!res.ok) throw userError(`the coordinator refused the download (${res.status}): ${(await res.text()).slice(0, 200)}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const got = keccak256(bytes);
      const onChain = String(r.data.modelHash);
      const ok = got.toLowerCase() === onChain.toLowerCase() || got.toLowerCase() === String(res.headers.get("X-HCFL-Model-Hash") || "").toLowerCase();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([bytes]));
      a.download = `hcfl-round-${r.id}-final-model.bin`;
      a.click();
      say(mmsg, ok ? "ok" : "err", `${bytes.length} bytes, keccak256 <code>${esc(got.slice(0, 14))}…</code> ${got.toLowerCase() === onChain.toLowerCase() ? "= the model hash on chain ✓" : ok ? "= the coordinator's header (the chain holds " + esc(onChain.slice(0, 14)) + "…)" : "≠ the model hash on chain ✗"}`);
      return CANCELLED;
    });
}

function summaryHtml(r) {
  if (!r) return `<h3>Round</h3><p class="muted">No round yet. A campaign creator opens rounds (Creator tab).</p>`;
  const d = r.data;
  const star = d.selected ? Number(d.star) : null;
  const props = r.proposals.length
    ? table("o-proposals", ["#", "proposer", "spec ω", "promised", "t", "labels", "bond", "posted price", "Σ values", "Σ costs", "surplus S(m)"],
      r.proposals.map((p) => `<tr class="${p.index === star ? "selected" : ""}"><td>${p.index}${p.index === star ? " ★" : ""}</td>
        <td class="addr" title="${esc(p.proposer)}">${esc(short(p.proposer))}${same(p.proposer, me()) ? " (you)" : ""}</td>
        <td><code title="${esc(p.specHash)}">${esc(String(p.specHash).slice(0, 10))}…</code></td><td>${(p.promisedAccBps / 100).toFixed(2)} %</td><td>${p.globalRounds}</td>
        <td><code>0x${BigInt(p.labelMask).toString(16)}</code></td><td>${fmtWei(p.bond)}</td><td>${fmtWei(p.price)}</td>
        <td>${fmtWei(p.sumB)}</td><td>${fmtWei(p.sumK)}</td><td>${fmtWei(p.surplus)}</td></tr>`))
    : `<p class="muted">no proposals yet</p>`;
  const parts = r.people.length
    ? table("o-people", ["participant", "role", "deposit", "committed", "revealed", "claims (capped)"],
      r.people.map((p) => `<tr class="${same(p.address, me()) ? "mine" : ""}"><td class="addr" title="${esc(p.address)}">${esc(short(p.address))}${same(p.address, me()) ? " (you)" : ""}</td>
        <td>${p.role === ROLE.Owner ? "owner" : "station"}</td><td>${fmtWei(p.deposit)}</td><td>${p.committed ? "✓" : ""}</td><td>${p.revealed ? "✓" : ""}</td>
        <td>${p.claims.map(fmtWei).join(", ")}</td></tr>`))
    : `<p class="muted">nobody joined yet</p>`;
  const outcome = d.settled
    ? `<p id="o-outcome">Settled: ${d.unfunded ? "<b>unfunded</b> (deposits come back)" : d.selected ? `proposal <b>#${star}</b> selected, the owners pay C = <b>${fmtWei(d.payment)}</b>; escrow for the stations ${fmtWei(d.escrow)}` : "<b>no proposal</b> selected"}
       ${d.finalized ? ` · final accuracy ${(Number(d.achievedAccBps) / 100).toFixed(2)} %` : ""}</p>`
    : "";
  return `<h3>Round ${r.id} <span class="muted small">campaign ${r.campaign ? r.campaign.id : "?"}</span></h3>${outcome}<h4>Proposals</h4>${props}<h4>Participants</h4>${parts}`;
}

function nextSteps(r, mine) {
  if (!me()) return "Choose a signer (top of the page).";
  if (!r) return "No round yet: a campaign creator opens one on the Creator tab.";
  const joined = mine && mine.role === ROLE.Owner;
  const ph = (...n) => inPhase(...n);
  if (ph("Joining")) return joined ? "You joined. Next: propose a model when proposing opens, or wait for the commit phase." : "Join as an owner with a deposit of at least the campaign's minimum.";
  if (!joined) return mine && mine.role === ROLE.Station ? "You joined this round as a station: see the Base stations tab." : "You did not join this round; joining is closed. Watch, or join the next round.";
  if (ph("Proposing")) return "Propose a model (optional), then commit what each proposal is worth to you in the commit phase.";
  if (ph("Committing")) return mine.participant.committed ? "Committed. Keep your salt (export it); reveal when the reveal phase opens." : "Commit your values for the proposals (sealed).";
  if (ph("Revealing")) return mine.participant.revealed ? "Revealed. The round is settled after the reveal deadline." : mine.participant.committed ? "Reveal your values now, or you pay the non-reveal penalty." : "You did not commit: you get your whole deposit back after settlement.";
  if (ph("AwaitingSettlement")) return "Anyone may settle the round now.";
  if (ph("Training")) return mine.isWinner ? "Your proposal won: once training is done, finalize with the published result (the page records the coordinator's inclusion root first, so each station is paid only for the global rounds its update was in)." : "The stations train the selected model; follow the chart.";
  if (ph("VoteCommitting")) return BigInt(mine.voteWeight || 0n) > 0n ? (mine.vote && mine.vote.committed ? "Vote committed; reveal it in the vote-reveal phase." : "Check the final model and commit your vote.") : "The eligible owners vote now.";
  if (ph("VoteRevealing")) return mine.vote && mine.vote.committed && !mine.vote.revealed ? "Reveal your vote now, or you lose the vote deposit." : "Votes are being revealed.";
  if (!mine.participant.finalClaimed) return "The round is finished: claim, then withdraw.";
  return BigInt(state.credit || 0n) > 0n ? "Done: withdraw your credit." : "Done: everything this round owed you is paid out.";
}

function updateTraining(r) {
  const card = root.querySelector("#o-training");
  const status = root.querySelector("#o-training-status");
  show(card, !!r && !!r.data.settled && !!r.data.selected);
  if (!r || !r.data.selected) return;
  const t = state.training;
  const history = t ? t.history || [] : [];
  const labels = history.map((h) => `g${h.global_round}`);
  const data = history.map((h) => (h.accuracy === null || h.accuracy === undefined ? null : +(h.accuracy * 100).toFixed(2)));
  const promised = r.winner ? r.winner.promisedAccBps / 100 : null;
  const canvas = root.querySelector("#o-chart");
  canvas.dataset.points = String(data.filter((x) => x !== null).length);
  if (!chart) {
    chart = new Chart(canvas, {
      type: "line",
      data: { labels, datasets: [
        { label: "global model accuracy (%)", data, borderColor: "#2563eb", backgroundColor: "rgba(37,99,235,.12)", fill: true, tension: 0.2 },
        { label: "promised (%)", data: labels.map(() => promised), borderColor: "#dc2626", borderDash: [6, 4], pointRadius: 0 },
      ] },
      options: { animation: false, maintainAspectRatio: false, responsive: true,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "accuracy %" } }, x: { title: { display: true, text: "global round" } } } },
    });
  } else if (JSON.stringify([labels, data, promised]) !== chart.__key) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = data;
    chart.data.datasets[1].data = labels.map(() => promised);
    chart.update();
  }
  chart.__key = JSON.stringify([labels, data, promised]);
  const res = t && t.result;
  const reportsDone = r.people.filter((p) => p.role === ROLE.Station && p.revealed).map((p) => `${short(p.address)} ${p.reported}/${r.winner ? r.winner.globalRounds : "?"}`);
  put(status, `status <b id="o-train-status">${esc(t ? t.status : "waiting for the coordinator")}</b>${t ? ` · global round ${t.global_round}/${t.t}` : ""}
    · on-chain reports: ${reportsDone.join(", ") || "none"}
    ${res ? ` · result: accuracy ${(Number(res.achieved_acc_bps) / 100).toFixed(2)} %, model <code>${esc(String(res.model_hash || res.global_model_hash || "").slice(0, 12))}…</code>` : ""}
    ${r.winner ? ` · winner ${esc(short(r.winner.proposer))}${state.mine && state.mine.isWinner ? " (you)" : ""}` : ""}${t && t.note ? ` · ${esc(t.note)}` : ""}
    ${state.coordError ? ` · <span class="err">coordinator: ${esc(state.coordError.message)}</span>` : ""}`);
  put(root.querySelector("#o-inclusion"), inclusionHtml(r));
  show(root.querySelector("#o-finalize"), inPhase("Training") && !!state.mine && state.mine.isWinner && !r.data.finalized);
  // revealed (paying) owners download the final model with a signed request and check its hash
  show(root.querySelector("#o-model-download"), !!state.mine && state.mine.role === ROLE.Owner && state.mine.participant.revealed && !!r.data.finalized);
}

function updateVote(r, mine) {
  const card = root.querySelector("#o-vote-card");
  show(card, inPhase("VoteCommitting", "VoteRevealing") || (inPhase("Finished") && !!mine && !!mine.vote && mine.vote.committed));
  if (!r || !r.data.selected) return;
  const w = mine ? BigInt(mine.voteWeight || 0n) : 0n;
  const v = mine && mine.vote;
  put(root.querySelector("#o-vote-info"), `promised ${(r.winner.promisedAccBps / 100).toFixed(2)} %, finalized ${r.data.finalized ? `${(Number(r.data.achievedAccBps) / 100).toFixed(2)} %` : "—"}, model hash <code>${esc(String(r.data.modelHash).slice(0, 14))}…</code>
    · vote deposit ${fmtWei(r.cfg.voteDeposit)} · your weight ${w > 0n ? fmtWei(w) : "none (not an eligible voter)"}`);
  show(root.querySelector("#o-vote-choice"), inPhase("VoteCommitting") && w > 0n && !(v && v.committed));
  show(root.querySelector("#o-vote-commit"), inPhase("VoteCommitting") && w > 0n && !(v && v.committed));
  show(root.querySelector("#o-vote-reveal"), inPhase("VoteRevealing") && !!v && v.committed && !v.revealed);
  const rec = v && v.committed ? salts.find(me(), "vote", r.id, v.commitment) : null;
  put(root.querySelector("#o-vote-state"), !v || !v.committed ? "" : v.revealed ? `revealed: ${v.punish ? "punish" : "keep"}` : rec ? `committed (${rec.punish ? "punish" : "keep"}); the salt is kept in this browser` : "committed, but the salt is not in this browser: import your backup");
}

/** Each part updates on its own: one that fails (logged) does not keep the others stale. */
function each(parts) {
  for (const [name, fn] of parts) {
    try {
      fn();
    } catch (err) {
      console.error(`owners view: ${name}: ${err && err.stack ? err.stack : err}`);
    }
  }
}

export function updateOwners(st) {
  if (!root) return;
  const r = st.round;
  const mine = st.mine;
  each([
    ["position", () => updatePosition(root, "o")],
    ["next", () => put(root.querySelector("#o-next-body"), `<p id="o-next-text">${esc(nextSteps(r, mine))}</p>`)],
    ["join", () => updateJoin(root, "o", ROLE.Owner)],
    ["settle", () => updateSettle(root, "o")],
    ["claims", () => updateClaims(root, "o", "value")],
    ["payout", () => updatePayout(root, "o")],
    ["propose", () => {
      show(root.querySelector("#o-propose-card"), inPhase("Proposing") && !!mine && mine.role === ROLE.Owner);
      if (r && r.cfg) put(root.querySelector("#o-propose-limits"), `minimum bond ${fmtWei(r.cfg.minBond)} · price cap ${fmtWei(r.cfg.maxPrice)} · at most ${r.cfg.maxProposalsPerOwner} proposal(s) per owner`);
    }],
    ["training", () => updateTraining(r)],
    ["vote", () => updateVote(r, mine)],
    ["summary", () => put(root.querySelector("#o-summary"), summaryHtml(r))],
  ]);
}

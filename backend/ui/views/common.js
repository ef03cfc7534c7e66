// Cards used by both the owners' and the stations' views: join, sealed claims (commit/reveal with salt
// backup), "my position", claim + withdraw. Each card is rendered once; refreshes only update its
// read-only parts, so what the user types is never reset.
import { ROLES, SHARE_RULES } from "../generated/protocol.js";
import { PHASE, ROLE, me, state } from "../store.js";
import * as salts from "../salts.js";
import { userError } from "../errors.js";
import { CANCELLED, amountField, put, runAction, say, show, table, txLink } from "../widgets.js";
import { isRoot, leafOf, verifyInclusion } from "../inclusion.js";
import { esc, fmtWei, fmtWeiText, randomSalt, short, toWei } from "../util.js";

const roleLabel = (id) => (ROLES[id] ? ROLES[id].label : "?");
export const inPhase = (...names) => !!state.round && names.some((n) => state.round.phase === PHASE[n]);

// ------------------------------------------------------------------ join
export function joinCard(p, role) {
  return `<section class="card" id="${p}-join-card"><h3>Join as ${role === ROLE.Owner ? "model owner" : "base station"}</h3>
    <form id="${p}-join" class="form-grid" novalidate>
      ${amountField("deposit", "deposit", "0.05", "ETH")}
      <button type="submit" id="${p}-join-btn">Join</button>
    </form><div class="small muted" id="${p}-join-min"></div><div class="msg" id="${p}-join-msg"></div></section>`;
}

export function bindJoin(root, p, role) {
  const f = root.querySelector(`#${p}-join`);
  const btn = root.querySelector(`#${p}-join-btn`);
  const msg = root.querySelector(`#${p}-join-msg`);
  f.onsubmit = (e) => {
    e.preventDefault();
    runAction(btn, msg, "join", async (ctx) => {
      const d = new FormData(f);
      const deposit = toWei(d.get("deposit"), d.get("deposit_unit"), "deposit");
      const cfg = state.round && state.round.cfg;
      const min = cfg ? BigInt(role === ROLE.Owner ? cfg.minOwnerDeposit : cfg.minStationDeposit) : 0n;
      if (deposit < min) throw userError(`the deposit ${fmtWeiText(deposit)} is below this campaign's minimum of ${fmtWeiText(min)}`);
      if (!(await ctx.warn(deposit > state.balance ? [`the deposit ${fmtWeiText(deposit)} is more than this account holds (${fmtWeiText(state.balance)})`] : []))) return CANCELLED;
      return state.chain.send("join", [state.rid, role], deposit, ctx.sent);
    });
  };
}

export function updateJoin(root, p, role) {
  const r = state.round;
  const mine = state.mine;
  const joined = mine && mine.role !== 0;
  show(root.querySelector(`#${p}-join-card`), !!r && inPhase("Joining") && !joined);
  if (r && r.cfg) {
    const min = role === ROLE.Owner ? r.cfg.minOwnerDeposit : r.cfg.minStationDeposit;
    put(root.querySelector(`#${p}-join-min`), `minimum deposit ${fmtWei(min)}; your claims are capped at deposit − 1 wei`);
  }
}

// ------------------------------------------------------------------ sealed claims
export function claimsCard(p, noun) {
  return `<section class="card" id="${p}-claims-card"><h3>Sealed ${noun}s <span class="muted small">(one per proposal, in the round's commit phase)</span></h3>
    <form id="${p}-claims" novalidate><div class="claims-list" id="${p}-claims-list"></div>
      <div class="buttons"><button type="submit" id="${p}-commit">Commit ${noun}s</button><button type="button" id="${p}-reveal">Reveal ${noun}s</button></div>
    </form>
    <div class="msg" id="${p}-claims-msg"></div>
    <div class="small" id="${p}-claims-state"></div>
    ${saltBox(p)}
  </section>`;
}

function saltBox(p) {
  return `<details class="salts" id="${p}-salts"><summary>Salt backup</summary>
    <p class="small muted">Your salts stay in this browser until the reveal succeeds. Without them you cannot reveal and lose your deposit's penalty. Keep a copy.</p>
    <div class="buttons"><button type="button" class="ghost" id="${p}-salt-export">Export salts</button>
      <label class="file ghost">Import file<input type="file" id="${p}-salt-file" accept=".json,application/json" hidden></label></div>
    <textarea id="${p}-salt-text" rows="3" placeholder="exported salts (JSON): paste here to import" spellcheck="false"></textarea>
    <div class="buttons"><button type="button" class="ghost" id="${p}-salt-import">Import pasted text</button></div>
    <div class="msg" id="${p}-salt-msg"></div></details>`;
}

export function bindSalts(root, p) {
  const msg = root.querySelector(`#${p}-salt-msg`);
  const text = root.querySelector(`#${p}-salt-text`);
  root.querySelector(`#${p}-salt-export`).onclick = () => {
    if (!me()) return say(msg, "err", "choose a signer first");
    const t = salts.exportText(me());
    text.value = t;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([t], { type: "application/json" }));
    a.download = `hcfl-salts-${state.info.chain_id}-${me().slice(0, 8)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    say(msg, "ok", `exported ${salts.all(me()).length} salt record(s): saved as a file and shown above`);
  };
  const doImport = (t) => {
    if (!me()) return say(msg, "err", "choose a signer first");
    try {
      const n = salts.importText(me(), t);
      say(msg, "ok", `imported ${n} new salt record(s)`);
    } catch (err) {
      say(msg, "err", esc(err.message));
    }
  };
  root.querySelector(`#${p}-salt-import`).onclick = () => doImport(text.value);
  root.querySelector(`#${p}-salt-file`).onchange = async (e) => {
    const file = e.target.files[0];
    if (file) doImport(await file.text());
    e.target.value = "";
  };
}

function readClaims(root, p, k) {
  const out = [];
  for (let m = 0; m < k; m++) {
    const input = root.querySelector(`#${p}-claims input[name=claim-${m}]`);
    const unit = root.querySelector(`#${p}-claims select[name=claim-${m}_unit]`);
    if (!input) throw userError(`the field for proposal #${m} is not shown yet; wait a second`);
    out.push(toWei(input.value, unit.value, `claim for proposal #${m}`));
  }
  return out;
}

export function bindClaims(root, p, noun) {
  const form = root.querySelector(`#${p}-claims`);
  const commitBtn = root.querySelector(`#${p}-commit`);
  const revealBtn = root.querySelector(`#${p}-reveal`);
  const msg = root.querySelector(`#${p}-claims-msg`);
  form.onsubmit = (e) => {
    e.preventDefault();
    runAction(commitBtn, msg, `commit ${noun}s`, async (ctx) => {
      const r = state.round;
      const mine = state.mine;
      if (!me()) throw userError("choose a signer first");
      if (!mine || mine.role === 0) throw userError("this account has not joined this round");
      if (mine.participant.committed) throw userError("this account already committed in this round; its salt is kept for the reveal");
      const k = Number(r.data.k);
      const claims = readClaims(root, p, k);
      const cap = BigInt(mine.participant.deposit) - 1n;
      const warnings = claims.map((c, m) => (c > cap ? `your ${noun} for proposal #${m} (${fmtWeiText(c)}) is above your deposit − 1 wei and will count as ${fmtWeiText(cap)}` : null)).filter(Boolean);
      if (!(await ctx.warn(warnings))) return CANCELLED;
      const salt = randomSalt();
      ctx.step("computing the commitment with the contract's claimCommitment…");
      const commitment = await state.chain.claimCommitment(r.id, me(), claims, salt);
      salts.add(me(), { kind: "claims", roundId: r.id, claims: claims.map(String), salt, commitment, status: "prepared" });
      ctx.step("salt saved in this browser; sign the commit…");
      const receipt = await state.chain.send("commit", [r.id, commitment], 0n, ctx.sent);
      salts.update(me(), commitment, { status: "committed", tx: receipt.hash });
      return receipt;
    });
  };
  revealBtn.onclick = () =>
    runAction(revealBtn, msg, `reveal ${noun}s`, async (ctx) => {
      const r = state.round;
      const mine = state.mine;
      if (!mine || !mine.participant.committed) throw userError("this account did not commit in this round");
      const rec = salts.find(me(), "claims", r.id, mine.participant.commitment);
      if (!rec) {
        root.querySelector(`#${p}-salts`).open = true;
        throw userError("the salt of your commitment is not in this browser: import your salt backup below, then reveal", "NoSalt");
      }
      const receipt = await state.chain.send("reveal", [r.id, rec.claims.map(BigInt), rec.salt], 0n, ctx.sent);
      salts.removeRevealed(me(), "claims", r.id);
      return receipt;
    });
  bindSalts(root, p);
}

export function updateClaims(root, p, noun) {
  const r = state.round;
  const mine = state.mine;
  const card = root.querySelector(`#${p}-claims-card`);
  const joined = mine && mine.role !== 0;
  const myRole = p === "o" ? ROLE.Owner : ROLE.Station;
  show(card, !!r && (inPhase("Committing", "Revealing") || (joined && mine.participant.committed && !mine.participant.revealed && inPhase("Committing", "Revealing"))));
  if (!r) return;
  const list = root.querySelector(`#${p}-claims-list`);
  for (const prop of r.proposals) {
    if (list.querySelector(`[data-m="${prop.index}"]`)) continue; // never rebuilt: typed values and units stay
    const row = document.createElement("div");
    row.dataset.m = String(prop.index);
    row.innerHTML = amountField(`proposal #${prop.index} (${short(prop.proposer)}, posted price ${fmtWeiText(prop.price)})`, `claim-${prop.index}`, "", "ETH");
    row.querySelector("input").placeholder = noun === "value" ? "what the model is worth to you" : "your cost to train it";
    list.appendChild(row);
  }
  const committed = joined && mine.participant.committed;
  const revealed = joined && mine.participant.revealed;
  show(root.querySelector(`#${p}-commit`), inPhase("Committing") && joined && mine.role === myRole && !committed);
  show(root.querySelector(`#${p}-reveal`), inPhase("Revealing") && committed && !revealed);
  show(list, !committed);
  let s;
  if (!me()) s = "choose a signer first";
  else if (!joined) s = "you have not joined this round";
  else if (mine.role !== myRole) s = `you joined this round as ${roleLabel(mine.role)}`;
  else if (revealed) s = `revealed: ${r.people.find((x) => x.address.toLowerCase() === me().toLowerCase())?.claims.map((c) => fmtWeiText(c)).join(", ") || "—"}`;
  else if (committed) {
    const rec = salts.find(me(), "claims", r.id, mine.participant.commitment);
    s = rec ? `committed ${esc(String(mine.participant.commitment).slice(0, 14))}…; ${noun}s ${rec.claims.map((c) => fmtWeiText(c)).join(", ")} and the salt are kept in this browser for the reveal`
      : `committed, but <b>the salt is not in this browser</b>: import your salt backup (below) before the reveal`;
  } else s = inPhase("Committing") ? "not committed yet" : "the commit phase is over";
  put(root.querySelector(`#${p}-claims-state`), `<span id="${p}-claims-status">${s}</span>`);
}

// ------------------------------------------------------------------ my position
export function positionCard(p) {
  return `<section class="card position" id="${p}-position"><h3>My position</h3><div id="${p}-position-body" class="small"></div></section>`;
}

export function updatePosition(root, p) {
  const r = state.round;
  const mine = state.mine;
  const el = root.querySelector(`#${p}-position-body`);
  if (!me()) return put(el, `<p class="muted">choose a signer to see your position</p>`);
  if (!r) return put(el, `<p class="muted">no round selected</p>`);
  const rows = [];
  const row = (k, v) => rows.push(`<tr><th>${esc(k)}</th><td>${v}</td></tr>`);
  if (!mine || mine.role === 0) row("role", "not joined in this round");
  else {
    const part = mine.participant;
    const dep = BigInt(part.deposit);
    row("role", esc(roleLabel(mine.role)));
    row("deposit", fmtWei(dep));
    row("claim cap", `${fmtWei(dep > 0n ? dep - 1n : 0n)} <span class="muted">(deposit − 1 wei)</span>`);
    row("sealed claims", part.revealed ? "revealed" : part.committed ? "committed, not revealed" : "not committed");
    const s = mine.settlement;
    if (s) {
      if (mine.role === ROLE.Owner) row("payment", fmtWei(s.payment));
      row("Clarke tax", fmtWei(s.tax));
      if (BigInt(s.penalty) > 0n) row("non-reveal penalty", fmtWei(s.penalty));
      row("deposit back", `${fmtWei(s.refund)}${part.settledClaimed ? " (credited)" : " (after claim)"}`);
    }
    if (mine.role === ROLE.Station) {
      const me_ = r.people.find((x) => x.address.toLowerCase() === me().toLowerCase());
      if (r.winner) row("training reports", `${part.reported} / ${r.winner.globalRounds}`);
      if (me_ && me_.reward) row("reward", `${fmtWei(me_.reward.reward)}${BigInt(me_.reward.forfeited) > 0n ? ` (forfeited ${fmtWei(me_.reward.forfeited)})` : ""}`);
      else if (r.data.selected) row("reward", `share of the escrow ${fmtWei(r.data.escrow)}, paid when the round is finished`);
    }
    if (mine.voteWeight && BigInt(mine.voteWeight) > 0n) row("vote weight", fmtWei(mine.voteWeight));
  }
  for (const prop of mine ? mine.proposals : []) {
    const win = r.winner && r.winner.index === prop.index;
    const released = win ? r.events.find((e) => e.name === "BondReleased") : null;
    const fate = released ? (released.args.punished || released.args.failed ? `(slashed${released.args.failed ? ": training not finalized" : " by the vote"}; ${fmtWeiText(released.args.toWinner)} back)` : "(returned: the vote kept it)")
      : win ? (inPhase("Finished") ? "(released when you claim)" : "(at stake until the vote)") : r.data.settled ? "(returned)" : "";
    row(`bond of proposal #${prop.index}`, `${fmtWei(prop.bond)} ${esc(fate)}`);
  }
  row("credit now", `<b id="${p}-credit">${fmtWeiText(state.credit)}</b>`);
  const pending = mine && mine.role !== 0 && !mine.participant.finalClaimed && (r.data.settled || Number(r.data.k) === 0);
  row("withdraw pays", `${fmtWei(state.credit)}${pending ? ' <span class="muted">+ what “Claim” credits first</span>' : ""}`);
  put(el, `<table class="kv">${rows.join("")}</table>`);
}

// ------------------------------------------------------------------ claim + withdraw
export function payoutCard(p) {
  return `<section class="card" id="${p}-payout"><h3>Claim &amp; withdraw</h3>
    <p class="small muted">“Claim” computes and credits your settlement (payment, tax, refund, reward) for this round; “Withdraw” sends your whole credit to you.</p>
    <div class="buttons"><button id="${p}-claim">Claim for this round</button><button id="${p}-withdraw">Withdraw</button></div>
    <div class="msg" id="${p}-payout-msg"></div></section>`;
}

export function bindPayout(root, p) {
  const msg = root.querySelector(`#${p}-payout-msg`);
  const claimBtn = root.querySelector(`#${p}-claim`);
  const wBtn = root.querySelector(`#${p}-withdraw`);
  claimBtn.onclick = () => runAction(claimBtn, msg, "claim", async (ctx) => {
    const r = state.round;
    let provenBy = "";
    const inc = state.mine && state.mine.role === ROLE.Station ? state.mine.inclusion : null;
    if (inc && isRoot(inc.root) && !inc.proven && r.data.finalized && inPhase("Finished")) {
      // rewards only for included work: the station's leaf (station, includedRounds) is proven before the claim
      const leaf = leafOf(state.training && state.training.result, me());
      if (!leaf) throw userError("the winner recorded an inclusion root, so your reward needs your inclusion proof, and the coordinator's result with it is not loaded yet; try again in a moment");
      if (!verifyInclusion(inc.root, me(), leaf.included_rounds, leaf.proof)) {
        throw userError(`the coordinator's inclusion proof for your station (${leaf.included_rounds} rounds) does not lead to the root on chain ${String(inc.root).slice(0, 12)}…: nothing was sent`, "ProofMismatch");
      }
      const n = Number(leaf.included_rounds);
      const t = r.winner ? r.winner.globalRounds : "?";
      const reported = Number(state.mine.participant.reported);
      if (n < reported && !(await ctx.warn([`the aggregates included your update in ${n} of the ${reported} global rounds you reported: you are paid for ${n} of ${t}; the rest of your share goes back to the station pool`]))) return CANCELLED;
      say(msg, "pending", `prove inclusion (1 of 2): proof checked against the root on chain in this browser ✓ (${n} of ${t} rounds); sign proveInclusion…`);
      const rec = await state.chain.send("proveInclusion", [r.id, me(), BigInt(leaf.included_rounds), leaf.proof], 0n,
        (hash) => say(msg, "pending", `prove inclusion (1 of 2): pending ${txLink(hash)} — waiting for confirmation…`));
      provenBy = `inclusion proven (${n} of ${t} rounds) in block ${rec.blockNumber} ${txLink(rec.hash)} · `;
      ctx.step("inclusion proven (1 of 2); sign the claim (2 of 2)…");
    }
    const byContribution = r && r.cfg && SHARE_RULES[Number(r.cfg.stationShareRule)].name === "Contribution" && r.data.finalized && !r.data.objected;
    const leaf = byContribution && state.mine && state.mine.role === ROLE.Station && state.training && state.training.result
      ? (state.training.result.score_leaves || []).find((l) => l.station.toLowerCase() === me().toLowerCase()) : null;
    let receipt;
    if (leaf && BigInt(r.data.scoresTotal) > 0n) {
      // the contribution rule: the station proves its score leaf in the winner's scores root
      receipt = await state.chain.send("claimWithScore", [r.id, me(), BigInt(leaf.score), BigInt(leaf.prefix_before), leaf.proof], 0n, ctx.sent);
    } else {
      receipt = await state.chain.send("claim", [state.rid, me()], 0n, ctx.sent);
    }
    if (provenBy) ctx.doneText = `${provenBy}claim: confirmed in block ${receipt.blockNumber} ${txLink(receipt.hash)}`;
    return receipt;
  });
  wBtn.onclick = () =>
    runAction(wBtn, msg, "withdraw", async (ctx) => {
      if (BigInt(state.credit) === 0n) throw userError("nothing to withdraw: your credit is 0 (claim first if this round owes you)");
      return state.chain.send("withdraw", [], 0n, ctx.sent);
    });
}

export function updatePayout(root, p) {
  const r = state.round;
  const mine = state.mine;
  const claimable = !!r && !!mine && mine.role !== 0 && !mine.participant.finalClaimed && (r.data.settled || Number(r.data.k) === 0) && !inPhase("Joining", "Proposing", "Committing", "Revealing", "AwaitingSettlement");
  show(root.querySelector(`#${p}-claim`), claimable);
  show(root.querySelector(`#${p}-withdraw`), BigInt(state.credit || 0n) > 0n);
  show(root.querySelector(`#${p}-payout`), !!me() && (claimable || BigInt(state.credit || 0n) > 0n));
}

/** A short “what happens now” line for a role in the current phase. */
export function settleButton(p) {
  return `<section class="card" id="${p}-settle-card"><h3>Settle</h3><p class="small">The reveal phase is over. Anyone may settle the round (the coordinator usually does).</p>
    <button id="${p}-settle">Settle round</button><div class="msg" id="${p}-settle-msg"></div></section>`;
}

export function bindSettle(root, p) {
  const b = root.querySelector(`#${p}-settle`);
  b.onclick = () => runAction(b, root.querySelector(`#${p}-settle-msg`), "settle", (ctx) => state.chain.send("settle", [state.rid], 0n, ctx.sent));
}

export function updateSettle(root, p) {
  show(root.querySelector(`#${p}-settle-card`), inPhase("AwaitingSettlement") && !!me());
}

export { table };

// Campaign creators: create a campaign (its config is every round's config; fields, kinds and defaults come
// from the generated protocol module) and open its rounds. Only the creator may open a campaign's rounds.
import { BOUNDS, CONFIG_FIELDS, PAYMENT_RULES, SHARE_RULES } from "../generated/protocol.js";
import { me, selectRound, state } from "../store.js";
import { userError } from "../errors.js";
import { amountField, put, runAction, table } from "../widgets.js";
import { esc, fmtDuration, fmtWei, fmtWeiText, same, short, toInt, toWei } from "../util.js";

let root;
const RULES = { paymentRule: PAYMENT_RULES, ownerShareRule: SHARE_RULES.filter((r) => r.name !== "Contribution"), stationShareRule: SHARE_RULES };

function field(f) {
  if (f.kind === "duration") return `<label>${esc(f.label)} (s)<input name="${f.key}" inputmode="numeric" value="${esc(f.default)}" autocomplete="off"></label>`;
  if (f.kind === "bps") return `<label>${esc(f.label)} (bps, ≤ ${BOUNDS.BPS})<input name="${f.key}" inputmode="numeric" value="${esc(f.default)}" autocomplete="off"></label>`;
  if (f.kind === "enum") return `<label>${esc(f.label)}<select name="${f.key}">${RULES[f.key].map((r) => `<option value="${r.id}"${String(r.id) === f.default ? " selected" : ""}>${esc(r.label)}</option>`).join("")}</select></label>`;
  if (f.kind === "wei") {
    const v = BigInt(f.default);
    const [value, unit] = v % 10n ** 9n === 0n && v >= 10n ** 14n ? [fmtWeiText(v).replace(" ETH", ""), "ETH"] : [String(v), "wei"];
    return amountField(f.label, f.key, value.replace("…", ""), unit);
  }
  return `<label>${esc(f.label)}<input name="${f.key}" inputmode="numeric" value="${esc(f.default)}" autocomplete="off"></label>`;
}

export function renderCreator(el) {
  root = el;
  el.innerHTML = `<div class="grid">
    <section class="card wide" id="c-create-card"><h3>Create a campaign</h3>
      <p class="small muted">A campaign is a series of rounds with one configuration and one creator. Its pools (taxes, penalties, forfeits) only fund its own rounds; one round draws at most the pool-draw share.</p>
      <form id="c-create" class="form-grid" novalidate>${CONFIG_FIELDS.map(field).join("")}
        <button type="submit" id="c-create-btn">Create campaign</button></form>
      <div class="msg" id="c-create-msg"></div></section>
    <section class="card wide"><h3>Campaigns</h3><div id="c-campaigns"></div><div class="msg" id="c-open-msg"></div></section>
  </div>`;
  const form = el.querySelector("#c-create");
  const btn = el.querySelector("#c-create-btn");
  form.onsubmit = (e) => {
    e.preventDefault();
    runAction(btn, el.querySelector("#c-create-msg"), "create campaign", async (ctx) => {
      const d = new FormData(form);
      const cfg = {};
      for (const f of CONFIG_FIELDS) {
        if (f.kind === "duration") cfg[f.key] = toInt(d.get(f.key), `${f.label} duration`, 1n, BigInt(BOUNDS.MAX_DURATION));
        else if (f.kind === "bps") cfg[f.key] = toInt(d.get(f.key), f.label, 0n, BigInt(BOUNDS.BPS));
        else if (f.kind === "enum") cfg[f.key] = Number(d.get(f.key));
        else if (f.kind === "wei") cfg[f.key] = toWei(d.get(f.key), d.get(`${f.key}_unit`), f.label);
        else cfg[f.key] = toInt(d.get(f.key), f.label, 1n, BigInt(BOUNDS.MAX_PROPOSALS_PER_OWNER));
      }
      if (BigInt(cfg.maxPrice) < 1n || BigInt(cfg.maxPrice) > BigInt(BOUNDS.MAX_PRICE)) throw userError("the price cap must be 1 wei … 2^128−1 wei");
      const receipt = await state.chain.send("createCampaign", [cfg], 0n, ctx.sent);
      return receipt;
    });
  };
}

export function bindOpenButtons() {
  for (const b of root.querySelectorAll("button[data-open]")) {
    if (b.__bound) continue;
    b.__bound = true;
    b.onclick = () => runAction(b, root.querySelector("#c-open-msg"), `open a round of campaign ${b.dataset.open}`, async (ctx) => {
      const receipt = await state.chain.send("openRound", [BigInt(b.dataset.open)], 0n, ctx.sent);
      const ev = state.chain.parseReceipt(receipt).find((x) => x.name === "RoundOpened");
      if (ev) selectRound(Number(ev.args.roundId));
      return receipt;
    });
  }
}

export function updateCreator(st) {
  if (!root) return;
  const rows = st.campaigns.map((c) => {
    const cfg = c.cfg;
    const mine = same(c.creator, me());
    const durations = CONFIG_FIELDS.filter((f) => f.kind === "duration").map((f) => `${f.label} ${fmtDuration(cfg[f.key])}`).join(", ");
    return `<tr class="${mine ? "mine" : ""}" data-campaign="${c.id}"><td>${c.id}</td><td class="addr" title="${esc(c.creator)}">${esc(short(c.creator))}${mine ? " (you)" : ""}</td>
      <td>${c.roundCount}</td><td>${esc(PAYMENT_RULES[Number(cfg.paymentRule)].label)} · owners ${esc(SHARE_RULES[Number(cfg.ownerShareRule)].label)} · stations ${esc(SHARE_RULES[Number(cfg.stationShareRule)].label)}</td>
      <td class="small">${esc(durations)}</td><td>${fmtWei(cfg.minOwnerDeposit)} / ${fmtWei(cfg.minStationDeposit)}</td><td>${fmtWei(c.ownerPool)} / ${fmtWei(c.stationPool)}</td>
      <td>${mine ? `<button data-open="${c.id}" id="c-open-${c.id}">Open a round</button>` : `<span class="muted small">only the creator opens rounds</span>`}</td></tr>`;
  });
  const el = root.querySelector("#c-campaigns");
  // the open buttons are kept when nothing changed, so a pending one stays disabled
  put(el, rows.length ? table("c-campaign-table", ["#", "creator", "rounds", "rules", "durations", "min deposit owner / station", "pools owner / station", ""], rows) : `<p class="muted">no campaigns yet</p>`);
  bindOpenButtons();
}

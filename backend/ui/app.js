// Entry point: loads the chain info, builds the views once and refreshes them every 2 s. Import graph
// (no cycles): app -> views/* -> {widgets, salts, errors, inclusion} -> store -> {generated/protocol, util}.
import { Chain } from "./chain.js";
import { refresh, state, subscribe } from "./store.js";
import { api, esc, short } from "./util.js";
import { humanError } from "./errors.js";
import { renderRoundBar, renderWallet, tickCountdown, updateHeader } from "./views/header.js";
import { renderOwners, updateOwners } from "./views/owners.js";
import { renderStations, updateStations } from "./views/stations.js";
import { renderCreator, updateCreator } from "./views/creator.js";
import { renderAuditors, updateAuditors } from "./views/auditors.js";

function bindTabs() {
  const go = (tab) => {
    state.tab = tab;
    for (const x of document.querySelectorAll("nav.tabs button")) x.classList.toggle("active", x.dataset.tab === tab);
    for (const v of document.querySelectorAll(".view")) v.classList.toggle("active", v.id === `view-${tab}`);
  };
  for (const b of document.querySelectorAll("nav.tabs button")) {
    b.onclick = () => {
      go(b.dataset.tab);
      history.replaceState(null, "", `#${b.dataset.tab}`);
      refresh();
    };
  }
  const initial = location.hash.slice(1);
  if (document.querySelector(`nav.tabs button[data-tab="${initial}"]`)) go(initial);
}

async function main() {
  let info;
  for (;;) {
    try {
      info = await api("/api/chain");
      break;
    } catch (err) {
      document.getElementById("chain-info").innerHTML = `<span class="err">coordinator unreachable: ${esc(humanError(err).text)}</span>`;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  state.info = info;
  state.chain = new Chain(info);
  document.getElementById("chain-info").innerHTML = `chain <b>${esc(info.chain_id)}</b> (${esc(info.kind || "rpc")}) · contract <span class="addr" title="${esc(info.contract)}">${esc(short(info.contract))}</span>`;
  if (!state.chain.isV2) {
    document.getElementById("banner").hidden = false;
    document.getElementById("banner").innerHTML = `<span class="err">the coordinator serves a contract without campaigns (not HCFLCore v2); this page needs v2</span>`;
    return;
  }
  const saved = sessionStorage.getItem("hcfl:devkey");
  if (saved) {
    try {
      state.chain.connectDevKey(saved);
    } catch {
      sessionStorage.removeItem("hcfl:devkey");
    }
  }
  renderWallet();
  renderRoundBar();
  renderOwners(document.getElementById("view-owners"));
  renderStations(document.getElementById("view-stations"));
  renderCreator(document.getElementById("view-creator"));
  renderAuditors(document.getElementById("view-auditors"));
  subscribe(updateHeader);
  subscribe(updateOwners);
  subscribe(updateStations);
  subscribe(updateCreator);
  subscribe((st) => updateAuditors(st).catch((err) => console.error(err)));
  bindTabs();
  await refresh();
  document.body.dataset.ready = "1";
  setInterval(() => refresh(), 2000);
  setInterval(tickCountdown, 1000);
}

main();

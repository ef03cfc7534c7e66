// Sealed claims: commit keccak256(abi.encode(roundId, me, claims, salt)) and reveal later. The claims and
// the salt (crypto.getRandomValues) stay in this browser's localStorage until the reveal.
import { Chain } from "./wallet.js";
import { act, me, myParticipant, state, storageKey } from "./app.js";
import { esc, fmtWei, randomSalt, toWei, unitSelect } from "./util.js";

export function claimsSkeleton(prefix, noun) {
  return `<section class="card" id="${prefix}-claims">
    <h3>Sealed ${noun}s <span class="muted small">commit now, reveal later</span></h3>
    <p class="muted small">One ${noun} per proposal. The commitment is <code>keccak256(abi.encode(roundId, you, ${noun}s, salt))</code>;
       the ${noun}s and the random salt are kept in this browser (localStorage) until you reveal.</p>
    <form id="${prefix}-claims-form"><div class="claims-inputs"></div>
      <div class="buttons"><button type="submit" id="${prefix}-commit">Commit ${noun}s</button>
      <button type="button" id="${prefix}-reveal">Reveal</button></div></form>
    <div class="claims-status small"></div>
  </section>`;
}

export function bindClaims(root, prefix) {
  const form = root.querySelector(`#${prefix}-claims-form`);
  form.onsubmit = (e) => {
    e.preventDefault();
    act("commit", async () => {
      const r = state.round;
      const claims = r.proposals.map((p) => toWei(form.querySelector(`[name=claim-${p.index}]`).value || "0", form.querySelector(`[name=claim-unit-${p.index}]`).value));
      const salt = randomSalt();
      const commitment = Chain.claimsCommitment(state.rid, me(), claims, salt);
      const key = storageKey("claims");
      localStorage.setItem(key, JSON.stringify({ claims: claims.map(String), salt, commitment }));
      try {
        return await state.chain.send("commit", [state.rid, commitment]);
      } catch (err) {
        // keep a salt only for a commitment that is on chain
        const p = myParticipant();
        if (!p || !p.committed) localStorage.removeItem(key);
        throw err;
      }
    });
  };
  root.querySelector(`#${prefix}-reveal`).onclick = () =>
    act("reveal", async () => {
      const saved = JSON.parse(localStorage.getItem(storageKey("claims")) || "null");
      if (!saved) throw new Error("no committed claims of this account for this round in this browser");
      return state.chain.send("reveal", [state.rid, saved.claims.map(BigInt), saved.salt]);
    });
}

let lastKey = {};

export function refreshClaims(root, prefix, noun, force) {
  const r = state.round;
  const box = root.querySelector(`#${prefix}-claims .claims-inputs`);
  const status = root.querySelector(`#${prefix}-claims .claims-status`);
  if (!box) return;
  const key = `${prefix}:${state.rid}:${r ? r.proposals.length : 0}:${me()}`;
  if (key !== lastKey[prefix] || force) {
    lastKey = { ...lastKey, [prefix]: key };
    box.innerHTML = r && r.proposals.length
      ? r.proposals
          .map((p) => `<label>proposal ${p.index} <span class="muted small" title="${esc(p.uri || p.spec_hash)}">ω ${esc(p.spec_hash.slice(0, 10))}…</span>
             <span class="amount"><input name="claim-${p.index}" value="${box.querySelector(`[name=claim-${p.index}]`)?.value || ""}" placeholder="0" inputmode="decimal">${unitSelect(`claim-unit-${p.index}`)}</span></label>`)
          .join("")
      : `<p class="muted">no proposals in this round yet</p>`;
  }
  const p = myParticipant();
  const saved = me() && state.rid !== null ? JSON.parse(localStorage.getItem(storageKey("claims")) || "null") : null;
  let s = "";
  if (!me()) s = "choose a signer first";
  else if (!p) s = "you have not joined this round";
  else if ((prefix === "s") !== (p.role === "station")) s = `you joined this round as ${p.role}; ${p.revealed ? "revealed" : p.committed ? "committed" : "not committed"} on the ${p.role === "owner" ? "Owners" : "Base stations"} tab`;
  else if (p.revealed) s = `revealed (capped): ${p.claims.map(fmtWei).join(", ")}`;
  else if (p.committed) s = saved ? `committed ${esc(saved.commitment.slice(0, 18))}…; ${noun}s ${saved.claims.map(fmtWei).join(", ")} kept for the reveal` : "committed (the salt is not in this browser)";
  else s = "not committed yet";
  status.innerHTML = `<span id="${prefix}-claims-state">${s}</span>`;
}

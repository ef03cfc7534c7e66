// "New round": createRound(cfg) with durations, rules and the minimum bond.
import { act, state } from "./app.js";
import { toWei, unitSelect } from "./util.js";

const DURATIONS = [
  ["joinDuration", "join", 300],
  ["proposeDuration", "propose", 300],
  ["commitDuration", "commit", 300],
  ["revealDuration", "reveal", 300],
  ["trainDuration", "train", 3600],
  ["voteCommitDuration", "vote commit", 300],
  ["voteRevealDuration", "vote reveal", 300],
];

export function createRoundForm() {
  return `<form id="create-round" class="form-grid">
    ${DURATIONS.map(([k, label, v]) => `<label>${label} (s)<input name="${k}" type="number" min="1" value="${v}"></label>`).join("")}
    <label>non-reveal penalty (bps)<input name="nonRevealPenaltyBps" type="number" min="0" max="10000" value="1000"></label>
    <label>punish threshold (bps)<input name="punishThresholdBps" type="number" min="0" max="10000" value="5000"></label>
    <label>payment rule<select name="paymentRule"><option value="0">paper-random</option><option value="1">posted</option></select></label>
    <label>owner shares<select name="ownerShareRule"><option value="0">equal</option><option value="1">capability</option></select></label>
    <label>station shares<select name="stationShareRule"><option value="0">equal</option><option value="1">capability</option><option value="2">contribution</option></select></label>
    <label>min bond<span class="amount"><input name="minBond" value="0">${unitSelect("minBondUnit")}</span></label>
    <button type="submit">Create round</button>
  </form>`;
}

export function bindCreateRound(root) {
  const form = root.querySelector("#create-round");
  if (!form) return;
  form.onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(form);
    act("createRound", async () => {
      const cfg = {};
      for (const [k] of DURATIONS) cfg[k] = BigInt(f.get(k));
      cfg.nonRevealPenaltyBps = Number(f.get("nonRevealPenaltyBps"));
      cfg.punishThresholdBps = Number(f.get("punishThresholdBps"));
      cfg.paymentRule = Number(f.get("paymentRule"));
      cfg.ownerShareRule = Number(f.get("ownerShareRule"));
      cfg.stationShareRule = Number(f.get("stationShareRule"));
      cfg.minBond = toWei(f.get("minBond"), f.get("minBondUnit"));
      const receipt = await state.chain.send("createRound", [cfg]);
      for (const log of receipt.logs) {
        try {
          const ev = state.chain.iface.parseLog(log);
          if (ev && ev.name === "RoundCreated") {
            state.rid = Number(ev.args.roundId);
            localStorage.setItem("hcfl:rid", String(state.rid));
          }
        } catch {
          /* another contract's log */
        }
      }
      return receipt;
    });
  };
}

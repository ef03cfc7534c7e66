// Human messages for everything that can go wrong: the contract's custom errors (decoded with its ABI,
// amounts in ETH/gwei, phases and roles by name), wallet and ethers errors, and coordinator errors.
import { PHASES, ROLES } from "./generated/protocol.js";
import { ApiError, fmtDuration, fmtWeiText } from "./util.js";

const phase = (i) => (PHASES[Number(i)] ? PHASES[Number(i)].label : `phase ${i}`);
const role = (i) => (ROLES[Number(i)] ? ROLES[Number(i)].label : `role ${i}`);
const DURATION_NAMES = ["join", "propose", "commit", "reveal", "train", "vote commit", "vote reveal"];

/** Custom error name -> (args) => sentence. Unknown names fall back to "Name(args)". The names and arguments come
 *  from the contract's ABI (decodeRevert); tests/browser/test_ui_units.py checks that every custom error of the
 *  HCFLCore ABI has a sentence here and that no name here is missing from the ABI. */
const CUSTOM = {
  UnknownCampaign: (a) => `campaign ${a[0]} does not exist`,
  UnknownRound: (a) => `round ${a[0]} does not exist`,
  NotCampaignCreator: (a) => `only the campaign's creator ${a[1]} can open its rounds (you are ${a[0]})`,
  DurationOutOfRange: (a) => `the ${DURATION_NAMES[Number(a[0])] || "#" + a[0]} duration ${fmtDuration(a[1])} is out of range (1 s … 365 days)`,
  BpsOutOfRange: (a) => `a basis-point value (${a[0]}) is above 10000 (100 %)`,
  PenaltyFloorZero: () => "the non-reveal penalty floor must be at least 1 wei",
  MinDepositZero: () => "the minimum deposits must be at least 1 wei",
  MinBondZero: () => "the minimum bond must be at least 1 wei",
  MaxPriceOutOfRange: (a) => `the price cap ${fmtWeiText(a[0])} is out of range (1 wei … 2^128−1 wei)`,
  MaxProposalsPerOwnerOutOfRange: (a) => `proposals per owner must be 1 … 20 (got ${a[0]})`,
  OwnersCannotShareByContribution: () => "owners cannot share by contribution (stations only)",
  WrongPhase: (a) => `this can only be done while the round is ${phase(a[0])}; it is ${phase(a[1])} now`,
  InvalidRole: () => "choose owner or station",
  DepositTooSmall: (a) => `the deposit ${fmtWeiText(a[0])} is below this campaign's minimum of ${fmtWeiText(a[1])}`,
  AmountTooLarge: (a) => `the amount ${fmtWeiText(a[0])} is larger than the contract accepts`,
  AlreadyJoined: () => "this account already joined this round",
  NotJoined: () => "this account has not joined this round",
  WrongRole: (a) => `only a ${role(a[0])} can do this; this account is ${Number(a[1]) === 0 ? "not in this round" : "a " + role(a[1])}`,
  BondTooSmall: (a) => `the bond ${fmtWeiText(a[0])} is below the minimum bond of ${fmtWeiText(a[1])}`,
  PriceTooLarge: (a) => `the posted price ${fmtWeiText(a[0])} is above the campaign's price cap of ${fmtWeiText(a[1])}`,
  TooManyProposals: () => "this round already has the most proposals it can hold (20)",
  TooManyProposalsByOwner: (a) => `an owner may make at most ${a[0]} proposal(s) per round`,
  GlobalRoundsOutOfRange: (a) => `global rounds t = ${a[0]} is out of range`,
  AccuracyOutOfRange: (a) => `the promised accuracy ${Number(a[0]) / 100} % is above 100 %`,
  EmptyLabelSet: () => "choose at least one target label",
  AlreadyCommitted: () => "this account already committed in this round (its salt is kept for the reveal)",
  ZeroCommitment: () => "the commitment is zero (nothing sealed); commit again from this page",
  ReentrantCall: () => "the contract refused a nested call into itself (reentrancy guard)",
  NotCommitted: () => "this account did not commit in this round, so there is nothing to reveal",
  AlreadyRevealed: () => "this account already revealed",
  ClaimCountMismatch: (a) => `the reveal has ${a[1]} claims but the round has ${a[0]} proposals`,
  CommitmentMismatch: () => "these claims and salt do not match the commitment on chain (wrong salt or claims)",
  NotRevealedStation: () => "only a station that revealed its costs can do this",
  GlobalRoundOutOfRange: (a) => `global round ${a[0]} is beyond the proposal's ${a[1]} rounds`,
  AlreadyReported: (a) => `global round ${a[0]} was already reported`,
  NotWinner: () => "only the winning proposer can finalize",
  AlreadyFinalized: () => "training was already finalized",
  AlreadyObjected: () => "the scores were already objected to",
  NotEligibleVoter: () => "this account may not vote (voters are revealed owners other than the winner, with a payment share)",
  WrongVoteDeposit: (a) => `the vote needs a deposit of exactly ${fmtWeiText(a[1])} (sent ${fmtWeiText(a[0])})`,
  VoteAlreadyCommitted: () => "this account already committed a vote (its salt is kept)",
  VoteNotCommitted: () => "this account did not commit a vote",
  VoteAlreadyRevealed: () => "this vote was already revealed",
  NothingToClaim: () => "nothing to claim for this account now",
  ProofRequired: () => "this station's reward needs a proof first: its inclusion in the aggregates (the winner recorded an inclusion root; “Claim” proves the leaf from the coordinator before claiming) or, under the contribution rule, its score proof",
  InvalidProof: () => "the contribution score proof does not match the winner's scores root",
  NothingToWithdraw: () => "nothing to withdraw: the credit is 0",
  TransferFailed: () => "the transfer to this account failed",
  NoSurplus: () => "there is no surplus to sweep",
  NothingToSweep: (a) => `round ${a[0]} has no unclaimed escrow to sweep`,
  InclusionAlreadyRecorded: () => "the winner already recorded this round's inclusion root (it is recorded once)",
  NoInclusionRoot: () => "no inclusion root: the winner has not recorded one for this round (or the root sent is zero), so there is nothing to prove or contest; stations are paid for their reported rounds",
  InclusionAlreadyProven: () => "this station's inclusion leaf is already proven on chain; claim now",
  AlreadyContested: () => "this station already contested the inclusion root; the owners' punishment vote decides",
  EscrowClaimWindowOpen: (a) => `the stations may still claim their rewards until ${new Date(Number(a[0]) * 1000).toLocaleString()} (chain time)`,
};

function findData(err, depth = 0) {
  if (!err || depth > 6) return null;
  if (typeof err === "string") return /^0x[0-9a-fA-F]{8,}$/.test(err) ? err : null;
  if (typeof err !== "object") return null;
  for (const k of ["data", "error", "info", "cause", "payload"]) {
    const v = err[k];
    const d = typeof v === "string" ? (/^0x[0-9a-fA-F]{8,}$/.test(v) ? v : null) : findData(v, depth + 1);
    if (d) return d;
  }
  return null;
}

/** {name, args} of a custom error in `err`, or null. */
export function decodeRevert(iface, err) {
  if (err && err.revert && err.revert.name) return { name: err.revert.name, args: [...err.revert.args] };
  const data = findData(err);
  if (!data || !iface) return null;
  try {
    const parsed = iface.parseError(data);
    if (parsed) return { name: parsed.name, args: [...parsed.args] };
  } catch {
    /* not one of ours */
  }
  return null;
}

/** The custom error names that have a sentence (for the ABI check). */
export const HUMAN_ERROR_NAMES = Object.keys(CUSTOM);

export function customMessage(name, args) {
  const f = CUSTOM[name];
  return f ? f(args || []) : `${name}(${(args || []).map(String).join(", ")})`;
}

function words(field) {
  return String(field).replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function apiMessage(e) {
  const d = e.detail;
  if (Array.isArray(d)) {
    return d.map((x) => {
      const loc = (x.loc || []).filter((p) => p !== "body" && p !== "query" && p !== "path").map(words).join(" → ");
      return `${loc || "request"}: ${x.msg || "invalid"}`;
    }).join("; ");
  }
  if (typeof d === "string") return d;
  if (e.status >= 500) return `the coordinator failed (${e.status}); try again`;
  return `the coordinator refused the request (${e.status})`;
}

/** Any error -> {text, code}: a sentence for a person; `code` is the custom error name when there is one. */
export function humanError(err, iface) {
  if (err && err.human) return { text: err.message, code: err.code || null };
  const rev = decodeRevert(iface, err);
  if (rev) return { text: customMessage(rev.name, rev.args), code: rev.name };
  if (err instanceof ApiError) return { text: apiMessage(err), code: "api" };
  const code = err && err.code;
  const msg = String((err && (err.shortMessage || err.message)) || err || "");
  if (code === "ACTION_REJECTED" || /user rejected|denied/i.test(msg)) return { text: "you rejected the request in your wallet; nothing was sent", code };
  if (code === "INSUFFICIENT_FUNDS" || /insufficient funds/i.test(msg)) return { text: "this account does not hold enough ETH for the amount plus gas", code: "INSUFFICIENT_FUNDS" };
  if (code === "NONCE_EXPIRED" || /nonce (has already been used|too low)/i.test(msg)) return { text: "another transaction of this account was sent at the same time (its nonce was used); wait for it and try again", code: "NONCE_EXPIRED" };
  if (code === "REPLACEMENT_UNDERPRICED" || /replacement (fee|transaction) (too low|underpriced)/i.test(msg)) return { text: "a transaction of this account is still pending; wait for it to confirm", code: "REPLACEMENT_UNDERPRICED" };
  if (code === "NUMERIC_FAULT" || /overflow|out of range|NUMERIC_FAULT/i.test(msg)) return { text: "a number is too large for the field it goes into", code: "NUMERIC_FAULT" };
  if (code === "NETWORK_ERROR" || /Failed to fetch|NetworkError|ECONNREFUSED/i.test(msg)) return { text: "the coordinator cannot be reached; retrying", code: "NETWORK_ERROR" };
  // ethers turns every error of eth_call / eth_estimateGas into CALL_EXCEPTION; one that is not a revert (the
  // node refused the request itself: a bad nonce, a malformed field) is shown with the node's own words
  const rpcErr = err && err.info && err.info.error;
  if (code === "CALL_EXCEPTION" && rpcErr && rpcErr.code !== 3 && rpcErr.message && !/revert/i.test(String(rpcErr.message))) {
    return { text: `the chain node refused the request: ${String(rpcErr.message).slice(0, 200)}`, code: "RPC_ERROR" };
  }
  if (code === "CALL_EXCEPTION" || /missing revert data|could not coalesce/i.test(msg)) return { text: "the chain rejected the transaction without a reason (often: the account holds no ETH on this chain, or the contract address is wrong)", code: "CALL_EXCEPTION" };
  if (code === "TIMEOUT") return { text: "the chain did not answer in time; the transaction may still confirm", code };
  return { text: msg.replace(/\s*\(\w+=[^)]*version=6[^)]*\)/, "") || "unknown error", code: code || null };
}

/** An error whose message is already for a person (validation before signing). */
export function userError(text, code = "input") {
  const e = new Error(text);
  e.human = true;
  e.code = code;
  return e;
}

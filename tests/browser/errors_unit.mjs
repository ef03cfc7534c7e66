// Node-side checks of the UI's pure modules (run by tests/browser/test_ui_units.py): custom errors decoded
// with the real HCFLCore ABI become sentences with amounts in ETH/gwei; ethers' internal errors become
// sentences; exact amounts; the salt backup round-trips and refuses foreign or malformed backups.
import { readFileSync } from "node:fs";
import { Interface } from "ethers";

const abi = JSON.parse(readFileSync(process.argv[2], "utf8"));
globalThis.localStorage = { _m: new Map(), getItem(k) { return this._m.has(k) ? this._m.get(k) : null; }, setItem(k, v) { this._m.set(k, String(v)); }, removeItem(k) { this._m.delete(k); } };
const { humanError, HUMAN_ERROR_NAMES } = await import("../../backend/ui/errors.js");
const { toWei, fmtWeiText } = await import("../../backend/ui/util.js");
const { state } = await import("../../backend/ui/store.js");
const salts = await import("../../backend/ui/salts.js");

const iface = new Interface(abi);
const out = {};
const revert = (name, args) => ({ code: "CALL_EXCEPTION", data: iface.encodeErrorResult(name, args) });
out.bond = humanError(revert("BondTooSmall", [0n, 10n ** 9n]), iface).text;
out.phase = humanError(revert("WrongPhase", [3, 6]), iface).text;
out.deposit = humanError(revert("DepositTooSmall", [10n ** 15n, 10n ** 16n]), iface).text;
out.nonce = humanError(Object.assign(new Error("nonce has already been used"), { code: "NONCE_EXPIRED" }), iface).text;
out.coalesce = humanError(new Error("could not coalesce error (error={ }, code=UNKNOWN_ERROR, version=6.17.0)"), iface).text;
out.rpcRefused = humanError(Object.assign(new Error("missing revert data"), { code: "CALL_EXCEPTION", data: null, info: { error: { code: -32602, message: "ValidationError: Invalid transaction nonce: Expected 1, but got 0" } } }), iface).text;
out.noReason = humanError(Object.assign(new Error("missing revert data"), { code: "CALL_EXCEPTION", data: "0x", info: { error: { code: 3, message: "execution reverted", data: "0x" } } }), iface).text;
out.numeric = humanError(Object.assign(new Error("overflow (code=NUMERIC_FAULT, version=6.17.0)"), { code: "NUMERIC_FAULT" }), iface).text;
// every custom error of the ABI has a sentence, and no sentence names an error the ABI lacks
const abiErrors = abi.filter((x) => x.type === "error").map((x) => x.name);
out.withoutSentence = abiErrors.filter((n) => !HUMAN_ERROR_NAMES.includes(n));
out.notInAbi = HUMAN_ERROR_NAMES.filter((n) => !abiErrors.includes(n));
out.inclusion = Object.fromEntries(["ProofRequired", "NoInclusionRoot", "InclusionAlreadyRecorded", "InclusionAlreadyProven", "AlreadyContested"]
  .map((n) => [n, humanError(revert(n, []), iface)]));
out.wei = String(toWei("1.5", "gwei"));
out.eth = fmtWeiText(123456789012345678n);
try {
  toWei("", "ETH", "deposit");
} catch (e) {
  out.empty = e.message;
}
try {
  toWei("1.0000000001", "gwei", "claim");
} catch (e) {
  out.decimals = e.message;
}
state.info = { chain_id: 31337, contract: "0x" + "ab".repeat(20) };
const me = "0x" + "cd".repeat(20);
const rec = { kind: "claims", roundId: 0, claims: ["1"], salt: "0x" + "11".repeat(32), commitment: "0x" + "22".repeat(32), status: "committed" };
salts.add(me, rec);
const text = salts.exportText(me);
localStorage._m.clear();
out.missing = salts.find(me, "claims", 0, rec.commitment);
out.imported = salts.importText(me, text);
out.found = salts.find(me, "claims", 0, rec.commitment.toUpperCase().replace("0X", "0x")).salt;
out.again = salts.importText(me, text);
for (const [k, bad] of [["foreign", text.replace(me, "0x" + "ef".repeat(20))], ["garbage", "{not json"], ["malformed", text.replace(rec.salt, "0x12")]]) {
  try {
    salts.importText(me, bad);
    out[k] = "accepted";
  } catch (e) {
    out[k] = e.message;
  }
}
console.log(JSON.stringify(out));

// Salts of sealed claims and votes, per chain + contract + account, in localStorage. A record is written
// BEFORE its commit is sent and removed only after its reveal succeeded; the reveal picks the record whose
// commitment equals the one on chain. Records can be exported and imported (a file or pasted text).
import { state } from "./store.js";

const KINDS = new Set(["claims", "vote"]);

function key(address) {
  const i = state.info;
  return `hcfl:salts:${i.chain_id}:${String(i.contract).toLowerCase()}:${String(address).toLowerCase()}`;
}

export function all(address) {
  try {
    const v = JSON.parse(localStorage.getItem(key(address)) || "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function save(address, records) {
  localStorage.setItem(key(address), JSON.stringify(records));
}

/** Adds a record (before the commit is sent). Throws if the browser cannot store it: then nothing is sent. */
export function add(address, rec) {
  const records = all(address);
  records.push({ ...rec, createdAt: new Date().toISOString() });
  save(address, records);
  const check = all(address).find((r) => r.commitment === rec.commitment);
  if (!check) throw new Error("this browser could not store the salt; nothing was sent");
}

export function update(address, commitment, patch) {
  save(address, all(address).map((r) => (r.commitment === commitment ? { ...r, ...patch } : r)));
}

export function forRound(address, kind, roundId) {
  return all(address).filter((r) => r.kind === kind && Number(r.roundId) === Number(roundId));
}

export function find(address, kind, roundId, commitment) {
  return forRound(address, kind, roundId).find((r) => String(r.commitment).toLowerCase() === String(commitment).toLowerCase()) || null;
}

/** After a successful reveal: the round's records of this kind are no longer needed. */
export function removeRevealed(address, kind, roundId) {
  save(address, all(address).filter((r) => !(r.kind === kind && Number(r.roundId) === Number(roundId))));
}

export function exportText(address) {
  const i = state.info;
  return JSON.stringify({ format: "hcfl-salts-1", chainId: Number(i.chain_id), contract: i.contract, account: address, records: all(address) }, null, 1);
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** Merges an export into this browser's records; returns how many were new. Bad input changes nothing. */
export function importText(address, text) {
  let doc;
  try {
    doc = JSON.parse(String(text).slice(0, 1_000_000));
  } catch {
    throw new Error("the backup is not JSON (paste the whole exported text)");
  }
  if (!doc || doc.format !== "hcfl-salts-1" || !Array.isArray(doc.records)) throw new Error("this is not an HCFL salt backup");
  if (Number(doc.chainId) !== Number(state.info.chain_id) || String(doc.contract).toLowerCase() !== String(state.info.contract).toLowerCase()) {
    throw new Error(`the backup is for chain ${doc.chainId}, contract ${doc.contract}; this page uses chain ${state.info.chain_id}, contract ${state.info.contract}`);
  }
  if (String(doc.account).toLowerCase() !== String(address).toLowerCase()) throw new Error(`the backup belongs to ${doc.account}, not to the signer ${address}`);
  for (const r of doc.records) {
    if (!r || !KINDS.has(r.kind) || !HEX32.test(r.salt || "") || !HEX32.test(r.commitment || "") || !Number.isInteger(Number(r.roundId))) {
      throw new Error("the backup holds a malformed record; nothing was imported");
    }
  }
  const have = all(address);
  const known = new Set(have.map((r) => r.commitment.toLowerCase()));
  const fresh = doc.records.filter((r) => !known.has(r.commitment.toLowerCase()));
  save(address, [...have, ...fresh]);
  return fresh.length;
}

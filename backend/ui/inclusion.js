// Rewards only for included work (hcfl/inclusion.py): the page checks a station's inclusion proof from the
// coordinator against the root the winner recorded on chain before it sends proveInclusion. The leaf layout
// comes from the generated protocol module; the scheme is hcfl/merkle.py's (OpenZeppelin's sorted pairs,
// double-hashed leaves), the one contracts/utils/MerkleProof.sol verifies.
import { AbiCoder, ZeroHash, concat, getAddress, keccak256 } from "ethers";
import { LEAF_TYPES } from "./generated/protocol.js";

const coder = AbiCoder.defaultAbiCoder();

/** keccak256(bytes.concat(keccak256(abi.encode(values)))) for a leaf of `types`. */
export function leafHash(types, values) {
  return keccak256(keccak256(coder.encode(types, values)));
}

/** The root `proof` leads to from `leaf` (pairs hashed in ascending order). */
export function rootOf(leaf, proof) {
  let node = leaf.toLowerCase();
  for (const raw of proof) {
    const s = String(raw).toLowerCase();
    if (!/^0x[0-9a-f]{64}$/.test(s)) throw new Error(`a proof node is not 32 bytes of hex: ${String(raw).slice(0, 20)}`);
    node = (BigInt(node) < BigInt(s) ? keccak256(concat([node, s])) : keccak256(concat([s, node]))).toLowerCase();
  }
  return node;
}

/** Does the leaf (station, includedRounds) with `proof` lead to `root` (the one on chain)? */
export function verifyInclusion(root, station, includedRounds, proof) {
  if (!root || BigInt(root) === 0n) return false;
  const leaf = leafHash(LEAF_TYPES.inclusion, [getAddress(String(station)), BigInt(includedRounds)]);
  return rootOf(leaf, proof || []) === String(root).toLowerCase();
}

/** The coordinator's leaf of `station` in a training result, or null. */
export function leafOf(result, station) {
  const leaves = (result && result.inclusion_leaves) || [];
  return leaves.find((l) => String(l.station).toLowerCase() === String(station).toLowerCase()) || null;
}

/** True when a (result's or chain's) root is a recorded, non-zero root. */
export function isRoot(root) {
  return !!root && /^0x[0-9a-fA-F]{64}$/.test(String(root)) && String(root) !== ZeroHash;
}

// Signing: an injected EIP-1193 wallet when there is one, otherwise (dev chains) a pasted dev key whose
// transactions ethers signs locally and sends through the coordinator's POST /rpc pass-through.
import { AbiCoder, BrowserProvider, Contract, Interface, JsonRpcProvider, Wallet, keccak256 } from "ethers";

// anvil's (and hardhat's) well-known dev keys: public test keys, never for real funds
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

export class Chain {
  constructor(info) {
    this.info = info; // GET /api/chain: {chain_id, contract, rpc, kind, abi}
    this.iface = new Interface(info.abi);
    this.read = new JsonRpcProvider(location.origin + (info.rpc || "/rpc"), Number(info.chain_id), {
      staticNetwork: true,
      batchMaxCount: 1,
    });
    this.read.pollingInterval = 500;
    this.contract = new Contract(info.contract, info.abi, this.read);
    this.signer = null;
    this.mode = null; // "injected" | "dev"
  }

  get address() {
    return this.signer ? this.signer.address : null;
  }

  async connectInjected() {
    if (!window.ethereum) throw new Error("no injected wallet (window.ethereum) in this browser");
    const bp = new BrowserProvider(window.ethereum);
    await bp.send("eth_requestAccounts", []);
    const net = await bp.getNetwork();
    if (Number(net.chainId) !== Number(this.info.chain_id)) {
      throw new Error(`the wallet is on chain ${net.chainId}; the coordinator's contract is on chain ${this.info.chain_id}`);
    }
    const s = await bp.getSigner();
    this.signer = { address: await s.getAddress(), raw: s };
    this.mode = "injected";
  }

  connectDevKey(key) {
    const k = key.trim().startsWith("0x") ? key.trim() : "0x" + key.trim();
    const w = new Wallet(k, this.read);
    this.signer = { address: w.address, raw: w };
    this.mode = "dev";
  }

  disconnect() {
    this.signer = null;
    this.mode = null;
  }

  /** Send `fn(...args)` signed by the connected party; resolves to the mined receipt. */
  async send(fn, args, value = 0n) {
    if (!this.signer) throw new Error("connect a wallet or choose a dev key first");
    const c = this.contract.connect(this.signer.raw);
    let tx;
    try {
      tx = await c[fn](...args, { value });
    } catch (err) {
      throw this.explain(err);
    }
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new Error(`${fn} failed in block ${receipt && receipt.blockNumber}`);
    return receipt;
  }

  /** A revert as "ErrorName(arg, …)", decoded with the contract's ABI (custom errors). */
  explain(err) {
    const name = decodeRevert(this.iface, err);
    if (name) {
      const e = new Error(`reverted: ${name}`);
      e.revertName = name;
      return e;
    }
    return new Error(err && (err.shortMessage || err.message) ? err.shortMessage || err.message : String(err));
  }

  /** The settlement claim commitment, exactly like hcfl/chain/commitments.py. */
  static claimsCommitment(roundId, sender, claims, salt) {
    return keccak256(
      AbiCoder.defaultAbiCoder().encode(["uint256", "address", "uint256[]", "bytes32"], [BigInt(roundId), sender, claims.map(BigInt), salt]),
    );
  }

  static voteCommitment(roundId, voter, punish, salt) {
    return keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "address", "bool", "bytes32"], [BigInt(roundId), voter, !!punish, salt]));
  }
}

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

const PHASES = ["None", "Joining", "Proposing", "Committing", "Revealing", "Training", "VoteCommitting", "VoteRevealing", "Finished"];
const ROLES = ["None", "Owner", "Station"];

function fmtError(name, args) {
  const a = [...(args || [])].map(String);
  if (name === "WrongPhase") return `WrongPhase(expected ${PHASES[a[0]] ?? a[0]}, actual ${PHASES[a[1]] ?? a[1]})`;
  if (name === "WrongRole") return `WrongRole(expected ${ROLES[a[0]] ?? a[0]}, actual ${ROLES[a[1]] ?? a[1]})`;
  return `${name}(${a.join(", ")})`;
}

export function decodeRevert(iface, err) {
  if (err && err.revert && err.revert.name) return fmtError(err.revert.name, err.revert.args);
  const data = findData(err);
  if (!data) return null;
  try {
    const parsed = iface.parseError(data);
    if (parsed) return fmtError(parsed.name, parsed.args);
  } catch {
    /* not one of ours */
  }
  return null;
}

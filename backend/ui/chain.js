// The chain from the browser: reads through the coordinator's JSON-RPC pass-through (/rpc), transactions
// signed by the user (an injected EIP-1193 wallet, or a dev key on a local dev chain, signed in the page).
// Commitments come from the contract's own pure helpers (claimCommitment / voteCommitment, eth_call): the
// encoding has one definition, in Solidity.
import { BrowserProvider, Contract, Interface, JsonRpcProvider, Wallet } from "ethers";
import { humanError, userError } from "./errors.js";

export class Chain {
  constructor(info) {
    this.info = info; // GET /api/chain: {chain_id, contract, rpc, kind, abi}
    this.iface = new Interface(info.abi);
    this.read = new JsonRpcProvider(location.origin + (info.rpc || "/rpc"), Number(info.chain_id), { staticNetwork: true, batchMaxCount: 1 });
    this.read.pollingInterval = 500;
    this.contract = new Contract(info.contract, info.abi, this.read);
    this.signer = null;
    this.mode = null; // "injected" | "dev"
  }

  get address() {
    return this.signer ? this.signer.address : null;
  }

  get isV2() {
    return !!this.iface.getFunction("createCampaign");
  }

  async connectInjected() {
    if (!window.ethereum) throw userError("no browser wallet (window.ethereum) in this browser");
    const bp = new BrowserProvider(window.ethereum);
    await bp.send("eth_requestAccounts", []);
    const net = await bp.getNetwork();
    if (Number(net.chainId) !== Number(this.info.chain_id)) {
      throw userError(`the wallet is on chain ${net.chainId}; the coordinator's contract is on chain ${this.info.chain_id}: switch the wallet's network`);
    }
    const s = await bp.getSigner();
    this.signer = { address: await s.getAddress(), raw: s };
    this.mode = "injected";
  }

  connectDevKey(key) {
    const k = String(key || "").trim();
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(k)) throw userError("a private key is 64 hex digits (0x…)");
    const w = new Wallet(k.startsWith("0x") ? k : "0x" + k, this.read);
    this.signer = { address: w.address, raw: w };
    this.mode = "dev";
  }

  disconnect() {
    this.signer = null;
    this.mode = null;
  }

  /** Sends `fn(...args)`; `onSent(hash)` is called once the node accepted it; resolves to the mined receipt.
   *  A revert is simulated first (estimateGas), so a failing call costs nothing and shows its custom error. */
  async send(fn, args, value = 0n, onSent = () => {}) {
    if (!this.signer) throw userError("choose a signer first (a wallet, or a dev key on a dev chain)");
    const c = this.contract.connect(this.signer.raw);
    let tx;
    for (let attempt = 0; ; attempt++) {
      try {
        // A dev key asks the node for its nonce before every transaction, with a raw request: ethers' own
        // getTransactionCount answers identical requests from a 250-ms cache, so a transaction sent right after
        // the previous one confirmed reused its nonce (the embedded chain then refused the gas estimate, shown
        // as "rejected without a reason"). On a "nonce too low" answer (nothing was sent) it retries, at most twice.
        const overrides = { value };
        if (this.mode === "dev") overrides.nonce = await this.freshNonce(attempt > 0 ? "latest" : "pending");
        tx = await c[fn](...args, overrides);
        break;
      } catch (err) {
        const nonce = err && (err.code === "NONCE_EXPIRED" || /nonce (too low|has already been used)|invalid transaction nonce/i.test(String(err.message)));
        if (this.mode === "dev" && nonce && attempt < 2) {
          await new Promise((r) => setTimeout(r, 700));
          continue;
        }
        throw wrap(err, this.iface);
      }
    }
    onSent(tx.hash);
    let receipt;
    try {
      receipt = await tx.wait();
    } catch (err) {
      throw wrap(err, this.iface, tx.hash);
    }
    if (!receipt || receipt.status !== 1) throw Object.assign(userError(`${fn} failed in block ${receipt && receipt.blockNumber}`), { txHash: tx.hash });
    return receipt;
  }

  /** The signer's next nonce from the node itself (JsonRpcProvider.send is never answered from a cache). */
  async freshNonce(blockTag = "pending") {
    return Number(BigInt(await this.read.send("eth_getTransactionCount", [this.signer.address, blockTag])));
  }

  /** The round's claim commitment, from the contract's pure helper (one definition of the encoding). */
  async claimCommitment(roundId, sender, claims, salt) {
    return this.contract.claimCommitment(BigInt(roundId), sender, claims.map(BigInt), salt);
  }

  async voteCommitment(roundId, voter, punish, salt) {
    return this.contract.voteCommitment(BigInt(roundId), voter, !!punish, salt);
  }

  /** Parsed logs of one receipt (this contract's events only). */
  parseReceipt(receipt) {
    const out = [];
    for (const log of receipt.logs || []) {
      try {
        const ev = this.iface.parseLog(log);
        if (ev) out.push(ev);
      } catch {
        /* another contract's log */
      }
    }
    return out;
  }
}

function wrap(err, iface, txHash) {
  const h = humanError(err, iface);
  const e = userError(h.text, h.code);
  e.cause = err;
  if (txHash) e.txHash = txHash;
  return e;
}

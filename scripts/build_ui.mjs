// Bundles the web UI (backend/ui/) into backend/static/dist/ with esbuild: `npm run build:ui`
// (or `node scripts/build_ui.mjs`). ethers and Chart.js come from node_modules; nothing from a CDN.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, "backend/static/dist");
mkdirSync(outdir, { recursive: true });
const watch = process.argv.includes("--dev");

await build({
  entryPoints: { app: resolve(root, "backend/ui/app.js") },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !watch,
  sourcemap: true,
  legalComments: "linked",
  outdir,
  logLevel: "info",
});
await build({
  entryPoints: { app: resolve(root, "backend/ui/app.css") },
  bundle: true,
  minify: !watch,
  outdir,
  logLevel: "info",
});

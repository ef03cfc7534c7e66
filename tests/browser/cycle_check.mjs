// Prints {modules, cycle} for the UI's own modules (backend/ui/**), from esbuild's metafile.
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const r = await build({ entryPoints: [resolve(root, "backend/ui/app.js")], bundle: true, write: false, metafile: true, format: "esm", absWorkingDir: root, logLevel: "silent" });
const g = {};
for (const [f, i] of Object.entries(r.metafile.inputs)) if (f.startsWith("backend/ui/")) g[f] = i.imports.map((x) => x.path).filter((p) => p.startsWith("backend/ui/"));
const seen = {};
let cycle = null;
const dfs = (n, st) => {
  seen[n] = 1;
  st.push(n);
  for (const m of g[n] || []) {
    if (seen[m] === 1) { cycle = [...st.slice(st.indexOf(m)), m]; return; }
    if (!seen[m]) dfs(m, st);
    if (cycle) return;
  }
  st.pop();
  seen[n] = 2;
};
for (const n of Object.keys(g)) if (!seen[n] && !cycle) dfs(n, []);
console.log(JSON.stringify({ modules: Object.keys(g).length, cycle }));

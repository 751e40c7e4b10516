#!/usr/bin/env node
// `make edge-bundle`: the edge as one folder that `npx wrangler deploy`
// publishes as it is (no bundling step of wrangler's own):
//
//   node edge/bundle.mjs [--out DIR]        (default build/edge-bundle)
//
//   wrangler.toml   edge/wrangler.toml (edit [vars] there, or in the copy)
//   main.mjs        entry point: the worker with the snippet as a module
//   worker.mjs …    the worker's modules (WORKER_MODULES of workerd_config.mjs)
//   dni.mjs         the WebAssembly binding (wasm/dni.mjs)
//   dni.wasm        the core built for the edge (build/wasm/dni.wasm)
//   dni.js.txt      the browser snippet, served at /_dni/dni.js
//
// Locally, workerd hands the worker the snippet as a text binding
// (env.SNIPPET); on Cloudflare a text variable is limited in size, so
// main.mjs imports it as a Text module and passes it the same way.
// Node only: never loaded into the worker.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EDGE_DIR, ROOT, WORKER_MODULES } from './workerd_config.mjs';

function fail(msg) {
  process.stderr.write(`edge-bundle: ${msg}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let out = join(ROOT, process.env.DNI_BUILD || 'build', 'edge-bundle');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && args[i + 1]) out = resolve(args[++i]);
  else fail(`unknown argument ${args[i]} (usage: node edge/bundle.mjs [--out DIR])`);
}
const build = resolve(ROOT, process.env.DNI_BUILD || 'build');
const wasm = join(build, 'wasm/dni.wasm');
const minified = join(build, 'js/dni.min.js');
const snippet = existsSync(minified) ? minified : join(ROOT, 'js/dni.js');
if (!existsSync(wasm)) fail(`${wasm} is missing; run make first`);
if (!existsSync(snippet)) fail(`${snippet} is missing; run make first`);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of ['worker.mjs', ...WORKER_MODULES]) copyFileSync(join(EDGE_DIR, f), join(out, f));
copyFileSync(join(ROOT, 'wasm/dni.mjs'), join(out, 'dni.mjs'));
copyFileSync(wasm, join(out, 'dni.wasm'));
copyFileSync(snippet, join(out, 'dni.js.txt'));
copyFileSync(join(EDGE_DIR, 'wrangler.toml'), join(out, 'wrangler.toml'));
writeFileSync(join(out, 'main.mjs'), `// Entry point of the deployed edge (made by edge/bundle.mjs): the worker,
// with the browser snippet imported as a Text module and handed to it as
// env.SNIPPET, as workerd's text binding does locally.
import worker from './worker.mjs';
import SNIPPET from './dni.js.txt';

export { PoolShard, EdgeSync } from './worker.mjs';

const withSnippet = new WeakMap();
function envOf(env) {
  if (env.SNIPPET) return env;
  let e = withSnippet.get(env);
  if (!e) withSnippet.set(env, (e = { ...env, SNIPPET }));
  return e;
}

export default {
  fetch(request, env, ctx) {
    return worker.fetch(request, envOf(env), ctx);
  },
};
`);
console.log(`edge-bundle: ${out} (deploy: cd ${out} && npx wrangler deploy)`);

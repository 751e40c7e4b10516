// Writes the workerd configuration (Cap'n Proto text) for the edge: the
// worker and its modules, the two Durable Object classes stored on local
// disk, the in-memory cache service behind caches.default, and a network
// service allowed to reach the upstream and origin on private addresses.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EDGE_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(EDGE_DIR, '..');

const q = (s) => JSON.stringify(String(s)); // capnp text strings take JSON escapes

// The worker's modules besides worker.mjs, all in edge/. Node-only files
// (serve.mjs, this file, bundle.mjs, the local cache_service.mjs) are not
// among them and never loaded into the worker. edge/bundle.mjs deploys
// the same list.
export const WORKER_MODULES = ['pool_shard.mjs', 'edge_sync.mjs', 'site_rules.mjs', 'html_stream.mjs',
  'dni_core.mjs', 'beat_cache.mjs', 'number_route.mjs', 'snippet_route.mjs', 'visitor_check.mjs',
  'event_clean.mjs', 'edge_cache.mjs', 'conversion_ids.mjs',
  'lease_budget.mjs', 'activity.mjs', 'page_numbers.mjs', 'healthz.mjs'];

// opts: {port, upstream, origin, edgeId, state, wasm, binding, snippet,
//        vars: {NAME: value}, extraModules: [{name, path, type}], mainModule}
export function buildConfig(opts) {
  const state = resolve(opts.state);
  mkdirSync(join(state, 'do'), { recursive: true });
  // DNI_BUILD names the build directory (the Makefile's BUILD) when it is
  // not build/.
  const buildDir = resolve(ROOT, process.env.DNI_BUILD || 'build');
  const wasm = opts.wasm || join(buildDir, 'wasm/dni.wasm');
  const binding = opts.binding || join(ROOT, 'wasm/dni.mjs');
  // The snippet: the minified copy the build makes, else the source.
  const minified = join(buildDir, 'js/dni.min.js');
  const snippet = opts.snippet || (existsSync(minified) ? minified : join(ROOT, 'js/dni.js'));
  const modules = [
    [opts.mainModule ? 'main.mjs' : 'worker.mjs', 'esModule', opts.mainModule || join(EDGE_DIR, 'worker.mjs')],
  ];
  if (opts.mainModule) modules.push(['worker.mjs', 'esModule', join(EDGE_DIR, 'worker.mjs')]);
  for (const f of WORKER_MODULES) modules.push([f, 'esModule', join(EDGE_DIR, f)]);
  // Without the WebAssembly build the worker still runs and serves pages
  // unchanged (logged), so the edge never blocks the site.
  if (existsSync(wasm) && existsSync(binding)) {
    modules.push(['dni.mjs', 'esModule', binding]);
    modules.push(['dni.wasm', 'wasm', wasm]);
  }
  for (const m of opts.extraModules || []) modules.push([m.name, m.type || 'esModule', m.path]);
  const vars = {
    UPSTREAM: opts.upstream, ORIGIN: opts.origin, EDGE_ID: opts.edgeId || 'edge-1',
    ...(opts.vars || {}),
  };
  const bindings = Object.entries(vars).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `(name = ${q(k)}, text = ${q(v)})`);
  bindings.push('(name = "EDGE_SECRET", fromEnvironment = "DNI_EDGE_SECRET")');
  bindings.push('(name = "POOLS", durableObjectNamespace = "PoolShard")');
  bindings.push('(name = "SYNC", durableObjectNamespace = "EdgeSync")');
  if (existsSync(snippet)) bindings.push(`(name = "SNIPPET", text = embed ${q(relative(state, snippet))})`);

  // embed takes paths relative to the config file.
  const rel = (p) => q(relative(state, p));
  const text = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edgeWorker),
    (name = "cache", worker = .cacheWorker),
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "dostate", disk = (path = ${q(join(state, 'do'))}, writable = true)),
  ],
  sockets = [
    (name = "http", address = ${q(`${opts.host || '127.0.0.1'}:${opts.port}`)}, http = (), service = "edge"),
  ],
);

const edgeWorker :Workerd.Worker = (
  modules = [
${modules.map(([n, t, p]) => `    (name = ${q(n)}, ${t} = embed ${rel(p)}),`).join('\n')}
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
${bindings.map((b) => `    ${b},`).join('\n')}
  ],
  globalOutbound = "net",
  cacheApiOutbound = "cache",
  durableObjectNamespaces = [
    (className = "PoolShard", uniqueKey = "edgedni-pool-shard"),
    (className = "EdgeSync", uniqueKey = "edgedni-edge-sync"),
  ],
  durableObjectStorage = (localDisk = "dostate"),
);

const cacheWorker :Workerd.Worker = (
  modules = [(name = "cache.mjs", esModule = embed ${rel(join(EDGE_DIR, 'cache_service.mjs'))})],
  compatibilityDate = "2025-09-01",
);
`;
  const file = join(state, 'workerd.capnp');
  writeFileSync(file, text);
  return file;
}

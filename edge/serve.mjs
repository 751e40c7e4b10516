#!/usr/bin/env node
// Runs the edge locally on workerd, in the foreground:
//   node edge/serve.mjs --port P --upstream URL --origin URL [--edge-id ID] [--state DIR]
// The edge secret comes from DNI_EDGE_SECRET. Durable Object state (leases,
// grants, undelivered events) lives under --state (default build/edge-state)
// so a restart keeps live leases. SIGINT/SIGTERM stop workerd.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { buildConfig, ROOT } from './workerd_config.mjs';

const USAGE = 'usage: node edge/serve.mjs --port P --upstream URL --origin URL [--edge-id ID] [--state DIR] [--sync-interval S] [--flush-ms MS] [--snapshot-ops N] [--beat-flush-ms MS] [--beat-cache-max N] [--cache-pages-s S] [--cache-ignore-cookies a,b] [--quiet]';

function fail(msg) {
  process.stderr.write(`serve: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const opts = { state: join(ROOT, 'build/edge-state'), vars: {} };
const a = process.argv.slice(2);
for (let i = 0; i < a.length; i++) {
  const k = a[i];
  const v = a[i + 1];
  const need = () => { if (v === undefined || v.startsWith('--')) fail(`${k} needs a value`); i++; return v; };
  switch (k) {
    case '--port': opts.port = need(); break;
    case '--upstream': opts.upstream = need(); break;
    case '--origin': opts.origin = need(); break;
    case '--edge-id': opts.edgeId = need(); break;
    case '--state': opts.state = need(); break;
    case '--host': opts.host = need(); break;
    case '--sync-interval': opts.vars.SYNC_INTERVAL_S = need(); break;
    case '--config-ttl': opts.vars.CONFIG_TTL_S = need(); break;
    case '--grant-skew': opts.vars.GRANT_SKEW_S = need(); break;
    case '--status-token': opts.vars.STATUS_TOKEN = need(); break;
    case '--flush-ms': opts.vars.FLUSH_MS = need(); break;
    case '--snapshot-ops': opts.vars.SNAPSHOT_OPS = need(); break;
    case '--beat-flush-ms': opts.vars.BEAT_FLUSH_MS = need(); break;
    case '--beat-cache-max': opts.vars.BEAT_CACHE_MAX = need(); break;
    case '--quiet': opts.vars.QUIET = '1'; break;
    case '--cache-pages-s': opts.vars.CACHE_PAGES_S = need(); break;
    case '--cache-ignore-cookies': opts.vars.CACHE_IGNORE_COOKIES = need(); break;
    case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
    default: fail(`unknown option ${k}`);
  }
}
if (!/^\d{1,5}$/.test(opts.port || '') || Number(opts.port) > 65535) fail('--port must be a TCP port number');
for (const k of ['upstream', 'origin']) {
  if (!opts[k]) fail(`--${k} is required`);
  try { const u = new URL(opts[k]); if (!/^https?:$/.test(u.protocol)) throw new Error(); } catch {
    fail(`--${k} must be an http(s) URL`);
  }
}
if (opts.edgeId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(opts.edgeId)) fail('--edge-id: letters, digits, . _ - only');
for (const [k, v] of Object.entries(opts.vars)) {
  if (k !== 'STATUS_TOKEN' && k !== 'CACHE_IGNORE_COOKIES' && !(Number(v) >= 0)) fail(`bad number for ${k}`);
}
if (!process.env.DNI_EDGE_SECRET) process.stderr.write('serve: warning: DNI_EDGE_SECRET is not set; the origin will refuse syncs\n');

const workerd = join(ROOT, 'node_modules/.bin/workerd');
if (!existsSync(workerd)) fail('workerd is not installed; run `make deps` (npm ci)');
const config = buildConfig(opts);
const child = spawn(workerd, ['serve', config, '--experimental'], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, sig) => process.exit(sig ? 1 : code ?? 1));

#!/usr/bin/env node
// Runs the edge locally on workerd, in the foreground:
//   node edge/serve.mjs --port P --upstream URL --origin URL [options]
// (`--help` lists every option.)
// The edge secret comes from DNI_EDGE_SECRET. Durable Object state (leases,
// grants, undelivered events) lives under --state (default build/edge-state)
// so a restart keeps live leases. SIGINT/SIGTERM stop workerd.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { buildConfig, ROOT } from './workerd_config.mjs';

const USAGE = 'usage: node edge/serve.mjs --port P --upstream URL --origin URL [options]  (--help lists them)';

const HELP = `${USAGE}

Runs the edge worker on workerd in the foreground. The edge secret (the
same as the origin's) comes from DNI_EDGE_SECRET in the environment.

Required:
  --port P                   TCP port to listen on
  --upstream URL             the site the edge serves (http or https)
  --origin URL               dni-origin, for syncs (http or https)

Where and who:
  --host ADDR                address to listen on (default 127.0.0.1)
  --edge-id ID               this edge's name at the origin (default edge-1)
  --state DIR                Durable Object state: live leases, undelivered
                             events (default build/edge-state)
  --status-token TOKEN       enables GET /_dni/v1/status with
                             "Authorization: Bearer TOKEN" (default: off)
  --quiet                    no activity log (numbers shown, syncs)

Sync and configuration:
  --sync-interval S          seconds between syncs with the origin (default 5)
  --config-ttl S             seconds the worker keeps its copy of the site
                             configuration between looks (default 10; a change
                             the edge synced applies at once either way)
  --grant-skew S             seconds a number grant is taken to end before
                             the origin says it does (default 5)

Who gets a number (docs/edge.md, "How leases are protected"):
  --client-budget N          new leases per client address (IPv4 /32, IPv6 /64)
                             per pool per window, for pools that set none
                             (default 10; 0 = no limit)
  --client-budget-s S        that window, seconds (default 600)
  --bot-score-min N          on Cloudflare, no lease below this bot score
                             (default 30; 0 = score not used)

Edge cache:
  --edge-cache on|off        keep shareable HTML pages in the edge cache
                             (default on)
  --cache-pages-s S          keep pages S seconds even when upstream does not
                             mark them shareable (default 0: only when it does)
  --cache-ignore-cookies a,b cookies that do not vary a page (default none)

Shards and heartbeats:
  --flush-ms MS              a shard's journal write delay (default 1000)
  --snapshot-ops N           shard engine calls between snapshots (default 5000)
  --beat-flush-ms MS         how long the worker queues heartbeats before
                             delivering them to the shard (default 500)
  --beat-cache-max N         leases the worker's heartbeat cache holds per
                             isolate (default 10000)

  -h, --help                 this text
`;

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
    case '--client-budget': opts.vars.CLIENT_BUDGET = need(); break;
    case '--client-budget-s': opts.vars.CLIENT_BUDGET_S = need(); break;
    case '--bot-score-min': opts.vars.BOT_SCORE_MIN = need(); break;
    case '--edge-cache': {
      const x = need();
      if (x !== 'on' && x !== 'off') fail('--edge-cache is on or off');
      if (x === 'off') opts.vars.EDGE_CACHE = 'off';
      break;
    }
    case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
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
  if (!['STATUS_TOKEN', 'CACHE_IGNORE_COOKIES', 'EDGE_CACHE'].includes(k) && !(Number(v) >= 0)) fail(`bad number for ${k}`);
}
if (!process.env.DNI_EDGE_SECRET) process.stderr.write('serve: warning: DNI_EDGE_SECRET is not set; the origin will refuse syncs\n');

const workerd = join(ROOT, 'node_modules/.bin/workerd');
if (!existsSync(workerd)) fail('workerd is not installed; run `make deps` (npm ci)');
const config = buildConfig(opts);
const child = spawn(workerd, ['serve', config, '--experimental'], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, sig) => process.exit(sig ? 1 : code ?? 1));

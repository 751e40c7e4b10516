#!/usr/bin/env node
// `make run` and `make stop`: the whole system on this machine.
//
//   node demo/run.mjs          start in the foreground; Ctrl-C stops it
//   node demo/run.mjs stop     stop what a `make run` left behind
//
// On loopback (DNI_HOST), on fixed ports that the environment overrides:
//
//   edge       DNI_EDGE_PORT    8787   the sample site through the edge: open this one
//   origin     DNI_ORIGIN_PORT  8080   dni-origin: API and dashboard
//   site       DNI_SITE_PORT    8000   the sample site as it is (demo/site/)
//
// State lives under DNI_VAR (default var/): the origin's SQLite file, the
// edge's Durable Object storage, the secrets of this installation
// (var/demo.env, made on first start) and var/run.json, which names the
// processes of a running `make run` so `make stop` can end them.
// DNI_QUIET=1 leaves out the one-line-per-event activity log.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSite, SITE_DEFAULT_NUMBER } from './site_server.mjs';
import { DEMO_POOLS } from './pools.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = resolve(ROOT, process.env.DNI_BUILD || 'build');
const VAR = resolve(ROOT, process.env.DNI_VAR || 'var');
const HOST = process.env.DNI_HOST || '127.0.0.1';
const PORTS = {
  edge: port('DNI_EDGE_PORT', 8787), origin: port('DNI_ORIGIN_PORT', 8080), site: port('DNI_SITE_PORT', 8000),
};
const QUIET = /^(1|true|yes)$/i.test(process.env.DNI_QUIET || '');
const RUN_FILE = join(VAR, 'run.json');
const ENV_FILE = join(VAR, 'demo.env');
const urlOf = (p) => `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${p}`;
const ORIGIN = urlOf(PORTS.origin);
const EDGE = urlOf(PORTS.edge);

function port(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) die(`${name} must be a TCP port (1..65535), not '${v}'`);
  return Number(v);
}

function die(msg) {
  process.stderr.write(`run: ${msg}\n`);
  process.exit(1);
}

// --- make stop ---------------------------------------------------------------

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

// A pid from run.json is signalled only while its command line is still
// the one recorded (a pid reused by another program is left alone).
function sameProcess(p) {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] === p.cmd;
  } catch { return false; }
}

async function stopLeftovers() {
  let run;
  try { run = JSON.parse(readFileSync(RUN_FILE, 'utf8')); } catch {
    console.log('make stop: nothing to stop (no var/run.json)');
    return;
  }
  const procs = [run.main, ...run.children].filter((p) => p && alive(p.pid) && sameProcess(p));
  for (const p of procs) {
    // Children run as their own process group (workerd below serve.mjs).
    try { process.kill(p.group ? -p.pid : p.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  const t0 = Date.now();
  while (procs.some((p) => alive(p.pid)) && Date.now() - t0 < 8000) await sleep(50);
  for (const p of procs.filter((x) => alive(x.pid))) {
    try { process.kill(p.group ? -p.pid : p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(RUN_FILE, { force: true });
  console.log(procs.length ? `make stop: stopped ${procs.map((p) => `${p.name} (${p.pid})`).join(', ')}`
    : 'make stop: nothing was running');
}

// --- make run ----------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Secrets of this installation: made once, kept in var/demo.env (mode
// 0600); the environment overrides them.
function secrets() {
  const have = {};
  if (existsSync(ENV_FILE)) {
    for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) have[m[1]] = m[2];
    }
  }
  const out = {};
  let changed = false;
  for (const k of ['DNI_ADMIN_TOKEN', 'DNI_EDGE_SECRET', 'DNI_TWILIO_AUTH_TOKEN', 'DNI_STATUS_TOKEN']) {
    if (!have[k]) { have[k] = randomBytes(12).toString('hex'); changed = true; }
    out[k] = process.env[k] || have[k];
  }
  if (changed) {
    writeFileSync(ENV_FILE, '# Secrets of the local `make run` installation (made on first start).\n'
      + Object.entries(have).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  }
  return out;
}

function portFree(p) {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(p, HOST, () => s.close(() => res(true)));
  });
}

const children = [];
let stopping = false;
const t0 = performance.now();

// Every line a part prints, prefixed with its name.
function pipeLines(stream, name) {
  const rl = createInterface({ input: stream });
  rl.on('line', (line) => { if (!stopping || !/^\s*$/.test(line)) console.log(`${name.padEnd(6)} | ${line}`); });
}

function start(name, cmd, args, env) {
  const child = spawn(cmd, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  pipeLines(child.stdout, name);
  pipeLines(child.stderr, name);
  child.exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  child.exited.then(({ code, sig }) => {
    if (stopping) return;
    console.error(`run: ${name} stopped on its own (${sig || `exit ${code}`}); stopping the rest`);
    stop(1);
  });
  children.push({ name, child, cmd });
  return child;
}

function writeRunFile() {
  const run = {
    main: { name: 'make run', pid: process.pid, cmd: process.argv[0] },
    children: children.map(({ name, child, cmd }) => ({ name, pid: child.pid, cmd, group: true })),
    ports: PORTS, started_at: new Date().toISOString(),
  };
  writeFileSync(RUN_FILE, JSON.stringify(run, null, 2) + '\n');
}

let site = null;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  const t = performance.now();
  for (const { child } of children) {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  const kill = setTimeout(() => {
    for (const { child } of children) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
  }, 8000);
  await Promise.all(children.map(({ child }) => child.exited));
  clearTimeout(kill);
  if (site) await site.close();
  rmSync(RUN_FILE, { force: true });
  if (code === 0) {
    console.log(`\nedgedni stopped (${((performance.now() - t) / 1000).toFixed(1)} s). `
      + `Data is kept in ${shown(VAR)}/; \`make run\` starts again where you left off.`);
  }
  process.exit(code);
}

async function waitFor(what, fn, ms = 60000) {
  const until = Date.now() + ms;
  for (;;) {
    try { if (await fn()) return; } catch { /* not up yet */ }
    if (stopping) await new Promise(() => {}); // stop() exits
    if (Date.now() > until) {
      console.error(`run: ${what} did not come up within ${ms / 1000} s`);
      return stop(1);
    }
    await sleep(25);
  }
}

// The demo pools, made when missing. They list the sample site's own
// addresses in site_origins, so its snippet-only page (served by the
// site, not through the edge) may ask the edge for numbers; a pool made
// by an earlier version gets them added.
async function ensurePools(admin) {
  const auth = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const sites = [urlOf(PORTS.site), `http://localhost:${PORTS.site}`];
  for (const pool of DEMO_POOLS) {
    const r = await fetch(`${ORIGIN}/v1/pools/${pool.id}`, { headers: auth });
    let c;
    if (r.status === 200) {
      const have = (await r.json()).site_origins || [];
      const missing = sites.filter((o) => !have.includes(o));
      if (!missing.length) continue;
      c = await fetch(`${ORIGIN}/v1/pools/${pool.id}`, { method: 'PATCH', headers: auth,
        body: JSON.stringify({ site_origins: [...have, ...missing] }) });
    } else {
      c = await fetch(`${ORIGIN}/v1/pools`, { method: 'POST', headers: auth,
        body: JSON.stringify({ ...pool, site_origins: sites }) });
    }
    if (!c.ok) {
      console.error(`run: setting up the demo pool ${pool.id} failed: ${c.status} ${await c.text()}`);
      return stop(1);
    }
  }
}

async function main() {
  mkdirSync(VAR, { recursive: true });
  if (existsSync(RUN_FILE)) {
    try {
      const run = JSON.parse(readFileSync(RUN_FILE, 'utf8'));
      if (run.main && alive(run.main.pid) && sameProcess(run.main)) {
        die(`edgedni is already running (pid ${run.main.pid}); \`make stop\` ends it`);
      }
    } catch { /* unreadable: a leftover */ }
    await stopLeftovers(); // processes of a `make run` that was killed
  }
  for (const [name, p] of Object.entries(PORTS)) {
    if (!(await portFree(p))) {
      die(`port ${p} (${name}) is in use on ${HOST}; stop what uses it or choose another: `
        + `DNI_${name.toUpperCase()}_PORT=… make run`);
    }
  }
  const originBin = join(BUILD, 'bin/dni-origin');
  if (!existsSync(originBin)) die(`${originBin} is missing; run \`make\` first`);
  const sec = secrets();
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.on('SIGHUP', () => stop(0));

  const quiet = QUIET ? ['--quiet'] : [];
  start('origin', originBin,
    ['--listen', `${HOST}:${PORTS.origin}`, '--db', join(VAR, 'origin.db'), '--public-url', ORIGIN, ...quiet],
    { DNI_ADMIN_TOKEN: sec.DNI_ADMIN_TOKEN, DNI_EDGE_SECRET: sec.DNI_EDGE_SECRET,
      DNI_TWILIO_AUTH_TOKEN: sec.DNI_TWILIO_AUTH_TOKEN });
  site = await startSite({ host: HOST, port: PORTS.site, edge: EDGE });
  start('edge', process.execPath,
    [join(ROOT, 'edge/serve.mjs'), '--port', String(PORTS.edge), '--host', HOST, '--upstream', site.url,
      '--origin', ORIGIN, '--edge-id', 'edge-local', '--state', join(VAR, 'edge'),
      '--sync-interval', '1', '--config-ttl', '2', '--status-token', sec.DNI_STATUS_TOKEN, ...quiet],
    { DNI_EDGE_SECRET: sec.DNI_EDGE_SECRET, DNI_BUILD: BUILD });
  writeRunFile();

  await waitFor('dni-origin', async () => (await fetch(`${ORIGIN}/healthz`)).ok);
  await ensurePools(sec.DNI_ADMIN_TOKEN);
  // Ready when the edge has synced and holds numbers of every demo pool,
  // so the very first page view gets one (the probe takes no lease).
  await waitFor('the edge', async () => {
    const r = await fetch(`${EDGE}/_dni/v1/status`, { headers: { authorization: `Bearer ${sec.DNI_STATUS_TOKEN}` } });
    if (!r.ok) return false;
    const st = await r.json();
    return DEMO_POOLS.every((p) => st.pools.some((s) => s.pool === p.id && s.grants && s.grants.length));
  });
  const took = (performance.now() - t0) / 1000;
  const dniBin = shown(join(BUILD, 'bin/dni'));
  const envFile = shown(ENV_FILE);
  console.log(`
edgedni is running (ready in ${took.toFixed(1)} s).

  1. Open the sample site through the edge:
       ${EDGE}/?utm_source=google&utm_campaign=spring&gclid=abc
     The site's own number is ${fmt(SITE_DEFAULT_NUMBER)}; the edge shows you a tracking number instead.
  2. Simulate a call to the number the page shows you:
       DNI_TWILIO_AUTH_TOKEN=${sec.DNI_TWILIO_AUTH_TOKEN} DNI_ADMIN_TOKEN=${sec.DNI_ADMIN_TOKEN} \\
         ${dniBin} call --origin ${ORIGIN} --to NUMBER
  3. See the call and its attribution on the dashboard:
       ${ORIGIN}/        admin token: ${sec.DNI_ADMIN_TOKEN}

  The site as it is, without the edge: ${site.url}/
  A page of it that loads only the snippet from the edge (a site not served
  through the edge): ${site.url}/snippet-only.html
  Secrets are in ${envFile}; the database in ${shown(join(VAR, 'origin.db'))}.
  Ctrl-C stops everything (\`make stop\` clears anything left behind).
`);
}

// A path as the user would type it from here: relative below the current
// folder, absolute elsewhere.
function shown(p) {
  const r = relative(process.cwd(), p);
  return !r ? '.' : r.startsWith('..') ? p : r;
}

function fmt(e164) {
  const d = e164.slice(2);
  return `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`;
}

if (process.argv[2] === 'stop') await stopLeftovers();
else if (process.argv[2] === undefined || process.argv[2] === 'start') await main();
else die(`unknown command '${process.argv[2]}' (start or stop)`);

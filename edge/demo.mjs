#!/usr/bin/env node
// `make run`: the whole system on this machine, in the foreground.
//
//   dni-origin   http://127.0.0.1:8080  (SQLite in build/run/origin.db)
//   upstream     http://127.0.0.1:8081  (a sample landing page)
//   edge         http://127.0.0.1:8787  (workerd; state in build/run/edge)
//
// A demo pool is created on first start. Open the edge's address in a
// browser (or curl it): the page carries your own tracking number. Ports
// and secrets can be changed with the environment variables read below.
// Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '../tests/edge/upstream.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = process.env.DNI_BUILD || join(ROOT, 'build');
const ORIGIN_PORT = process.env.DNI_ORIGIN_PORT || '8080';
const EDGE_PORT = process.env.DNI_EDGE_PORT || '8787';
const ADMIN = process.env.DNI_ADMIN_TOKEN || 'dev-admin-token';
const EDGE_SECRET = process.env.DNI_EDGE_SECRET || 'dev-edge-secret';
const ORIGIN = `http://127.0.0.1:${ORIGIN_PORT}`;
const STATE = join(BUILD, 'run');

const DEMO_POOL = {
  id: 'demo',
  name: 'Demo landing page',
  numbers: Array.from({ length: 10 }, (_, i) => `+1888555${String(i + 1).padStart(4, '0')}`),
  default_number: '+18005551234',
  overflow_number: '+18885550099',
  mode: 'visitor',
};

const children = [];
function stopAll(code) {
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function start(name, cmd, args, env) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  child.on('exit', (code) => {
    console.error(`run: ${name} exited (${code}); stopping`);
    stopAll(1);
  });
  children.push(child);
  return child;
}

async function waitHealthy(url, what) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`run: ${what} did not come up at ${url}`);
  stopAll(1);
}

mkdirSync(STATE, { recursive: true });
start('dni-origin', join(BUILD, 'bin/dni-origin'),
  // The demo's calls are posted by hand (curl, `dni call`), unsigned: the
  // flag allows that, and the origin prints a warning saying so.
  ['--listen', `127.0.0.1:${ORIGIN_PORT}`, '--db', join(STATE, 'origin.db'), '--allow-unsigned-webhooks'],
  { DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: EDGE_SECRET });
await waitHealthy(`${ORIGIN}/healthz`, 'dni-origin');

const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const existing = await fetch(`${ORIGIN}/v1/pools/demo`, { headers: auth });
if (existing.status === 404) {
  const r = await fetch(`${ORIGIN}/v1/pools`, { method: 'POST', headers: auth, body: JSON.stringify(DEMO_POOL) });
  if (!r.ok) {
    console.error(`run: creating the demo pool failed: ${r.status} ${await r.text()}`);
    stopAll(1);
  }
}

const upstream = await startUpstream();
start('edge', process.execPath,
  [join(ROOT, 'edge/serve.mjs'), '--port', EDGE_PORT, '--upstream', upstream.url,
    '--origin', ORIGIN, '--edge-id', 'edge-local', '--state', join(STATE, 'edge')],
  { DNI_EDGE_SECRET: EDGE_SECRET, DNI_BUILD: BUILD });
await waitHealthy(`http://127.0.0.1:${EDGE_PORT}/`, 'the edge');

console.log(`
edgedni is running.
  page through the edge:  http://127.0.0.1:${EDGE_PORT}/   (the site's number is ${DEMO_POOL.default_number})
                          open it in a browser, or: curl -A Mozilla/5.0 http://127.0.0.1:${EDGE_PORT}/
                          (a bare curl counts as a robot and gets the page unchanged)
  upstream page as is:    ${upstream.url}/
  origin API:             ${ORIGIN}/v1/pools   (Authorization: Bearer ${ADMIN})
  calls:                  ${ORIGIN}/v1/calls
Simulate a call to the number you were shown:
  curl -X POST ${ORIGIN}/v1/webhooks/call -H 'content-type: application/json' \\
    -d '{"CallSid":"CA1","To":"<number>","From":"+15550001111","CallStatus":"ringing"}'
Ctrl-C stops everything.`);

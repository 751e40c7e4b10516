// The real origin service (build/bin/dni-origin, or $DNI_BUILD/bin/
// dni-origin) for the edge suites: started on a free port with a
// temporary database, plus the admin and metrics helpers those suites use.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, SECRET, freePort, waitFor } from './harness.mjs';

export const ADMIN = 'edge-test-admin';
export const ORIGIN_BIN = resolve(ROOT, process.env.DNI_BUILD || 'build', 'bin/dni-origin');
export const HAVE_ORIGIN = existsSync(ORIGIN_BIN);

// Starts dni-origin. Returns {url, dir, stop(signal), start(), output(),
// destroy()}; stop/start keep the port and database.
export async function startOrigin({ grantTtl = 60, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dni-edge-origin-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child = null;
  let out = '';
  const start = async () => {
    child = spawn(ORIGIN_BIN, ['--listen', `127.0.0.1:${port}`, '--db', join(dir, 'origin.db'),
      '--grant-ttl', String(grantTtl), ...args], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: SECRET, DNI_TWILIO_AUTH_TOKEN: '' },
    });
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.exited = new Promise((r) => child.once('exit', r));
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`dni-origin exited: ${out}`);
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      return r.ok;
    }, { timeout: 10000, what: 'dni-origin to listen' });
  };
  const stop = async (signal = 'SIGTERM') => {
    if (child && child.exitCode === null && child.signalCode === null) { child.kill(signal); await child.exited; }
  };
  await start();
  return {
    url, dir, start, stop, output: () => out,
    destroy: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function admin(url, method, path, body) {
  const res = await fetch(url + path, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* the caller looks at text */ }
  return { status: res.status, body: json, text };
}

// The value of a Prometheus metric (the first series when labelled), or NaN.
export async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

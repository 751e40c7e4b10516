// Starts the real dni-origin on a free port with a temporary database, and
// small fetch helpers for the integration suites.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const ADMIN = 'admin-token-for-tests';
export const EDGE = 'edge-secret-for-tests';
const BIN = process.env.DNI_ORIGIN_BIN || 'build/bin/dni-origin';

// DNI_TEST_PG_URL (make test-origin-pg): the origins run on PostgreSQL, a
// database of that cluster per test directory (so a restart on the same
// dir finds its data), dropped by cleanup().
const PG = process.env.DNI_TEST_PG_URL;
const pgAdmin = PG ? PG.replace(/\/[^/]*$/, '/postgres') : '';
function pgName(dir) {
  return `t_${basename(dir).replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`;
}
function pgDatabase(dir) {
  const name = pgName(dir);
  try {
    execFileSync('psql', [pgAdmin, '-X', '-q', '-c', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
  } catch { /* it exists: a restart on the same dir */ }
  return PG.replace(/\/[^/]*$/, `/${name}`);
}

// Runs q on an origin's database (o.db: a SQLite file or a PostgreSQL URL)
// and returns its rows as text, columns separated by |. PostgreSQL's
// booleans (t, f) read as SQLite's 1 and 0.
export function sql(db, q) {
  if (/^postgres(ql)?:\/\//.test(db)) {
    const out = execFileSync('psql', [db, '-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-c', q],
      { encoding: 'utf8' }).trim();
    return out.split('\n').map((l) => l.split('|').map((v) => (v === 't' ? '1' : v === 'f' ? '0' : v)).join('|')).join('\n');
  }
  return execFileSync('sqlite3', ['-batch', '-cmd', '.timeout 5000', db, q], { encoding: 'utf8' }).trim();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// unsigned: the suites post unsigned webhooks, so the origin is started
// with --allow-unsigned-webhooks unless a test asks for the default.
export async function startOrigin({ env = {}, args = [], dir, port, unsigned = true } = {}) {
  dir ??= mkdtempSync(join(tmpdir(), 'dni-origin-'));
  port ??= await freePort();
  const db = PG ? pgDatabase(dir) : join(dir, 'origin.db');
  const flags = unsigned ? ['--allow-unsigned-webhooks'] : [];
  const proc = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--db', db, ...flags, ...args], {
    env: { ...process.env, DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: EDGE, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  if (process.env.DNI_TEST_ORIGIN_LOG) proc.stderr.on('data', (d) => process.stderr.write(d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  const o = {
    base, port, dir, db, proc, exited,
    get stderr() { return stderr; },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      if (PG) {
        execFileSync('psql', [pgAdmin, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${pgName(dir)} WITH (FORCE)`],
          { stdio: 'ignore' });
      }
    },
  };
  return o;
}

export async function req(o, method, path, { body, token, type, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let data = body;
  if (body !== undefined && typeof body !== 'string') {
    data = JSON.stringify(body);
    h['content-type'] = type ?? 'application/json';
  } else if (body !== undefined) {
    h['content-type'] = type ?? 'application/json';
  }
  const r = await fetch(o.base + path, { method, headers: h, body: data });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

export const admin = (o, method, path, body) => req(o, method, path, { body, token: ADMIN });
export const sync = (o, body) => req(o, 'POST', '/v1/edge/sync', { body, token: EDGE });

export function form(fields) {
  return new URLSearchParams(fields).toString();
}

export async function webhook(o, fields, headers = {}) {
  return req(o, 'POST', '/v1/webhooks/call', {
    body: form(fields), type: 'application/x-www-form-urlencoded', headers,
  });
}

export async function metric(o, name) {
  const r = await fetch(`${o.base}/metrics`);
  const text = await r.text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

export const pool = (id, numbers, extra = {}) => ({
  id,
  numbers,
  default_number: '+18005551234',
  overflow_number: '+18005559999',
  ...extra,
});

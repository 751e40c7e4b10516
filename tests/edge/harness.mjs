// Starts real workerd processes through edge/serve.mjs for the tests and
// the benchmark, and small HTTP helpers that keep a cookie jar per visitor.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SECRET = 'edge-test-secret';

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(fn, { timeout = 15000, every = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last && last.message ? last.message : last}`);
    await sleep(every);
  }
}

// Starts `node edge/serve.mjs` and waits until it answers. Returns
// {url, port, state, stop(), restart(), output()}.
export async function startEdge({ upstream, origin, state, syncInterval = 1, configTtl = 1,
  grantSkew = 1, edgeId = 'edge-test', secret = SECRET, extraArgs = [] } = {}) {
  const port = await freePort();
  const dir = state || mkdtempSync(join(tmpdir(), 'dni-edge-'));
  let child;
  let out = '';
  const args = ['edge/serve.mjs', '--port', String(port), '--upstream', upstream, '--origin', origin,
    '--edge-id', edgeId, '--state', dir, '--sync-interval', String(syncInterval),
    '--config-ttl', String(configTtl), '--grant-skew', String(grantSkew), '--status-token', 'status',
    ...extraArgs];
  const launch = async () => {
    child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DNI_EDGE_SECRET: secret },
      stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.once('exit', r));
    child.exited = exited;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`workerd exited: ${out}`);
      const r = await fetch(`http://127.0.0.1:${port}/_dni/v1/nothing`);
      await r.arrayBuffer();
      return true;
    }, { timeout: 20000, what: 'workerd to listen' });
  };
  const stop = async () => {
    if (child && child.exitCode === null) { child.kill('SIGTERM'); await child.exited; }
  };
  await launch();
  return {
    url: `http://127.0.0.1:${port}`, port, state: dir,
    stop, output: () => out,
    restart: async () => { await stop(); await launch(); },
    destroy: async () => { await stop(); if (!state) rmSync(dir, { recursive: true, force: true }); },
    status: async () => (await fetch(`http://127.0.0.1:${port}/_dni/v1/status`, {
      headers: { authorization: 'Bearer status' } })).json(),
  };
}

// The headers a browser sends with a top-level page load (the edge makes
// leases only for those: edge/visitor_check.mjs).
export const NAVIGATION_HEADERS = Object.freeze({
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'none', 'sec-fetch-user': '?1',
});

// A browser-like visitor with its own cookie jar. Its GET requests for
// pages carry a browser's navigation headers; its CF-Connecting-IP (the
// client address the edge budgets new leases by) is `ip`, by default an
// address of its own (198.18.0.0/15), as distinct visitors usually have;
// ip null sends none (all such requests are one client to the edge).
let nextIp = 0;
export function uniqueIp() {
  const n = nextIp++;
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
}

export class Visitor {
  constructor(base, ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    { ip } = {}) {
    this.base = base;
    this.ua = ua;
    this.ip = ip === undefined ? uniqueIp() : ip;
    this.jar = {};
  }

  cookie() { return Object.entries(this.jar).map(([k, v]) => `${k}=${v}`).join('; '); }

  async fetch(path, init = {}) {
    const nav = (!init.method || init.method === 'GET') && !path.startsWith('/_dni/') ? NAVIGATION_HEADERS : {};
    const headers = { ...nav, 'user-agent': this.ua, ...(this.ip ? { 'cf-connecting-ip': this.ip } : {}),
      ...(init.headers || {}) };
    const c = this.cookie();
    if (c) headers.cookie = c;
    const res = await rawFetch(this.base + path, { ...init, headers });
    for (const sc of res.headers.getSetCookie()) {
      const [kv] = sc.split(';');
      const i = kv.indexOf('=');
      this.jar[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    return res;
  }

  async page(path = '/page', init) {
    const res = await this.fetch(path, init);
    const text = await res.text();
    return { res, text, meta: metaOf(text) };
  }

  // The snippet's number request from a page of the edge's own site
  // (POST, JSON, the site's Origin).
  async number(body) {
    return this.fetch('/_dni/v1/number', { method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.base, 'sec-fetch-site': 'same-origin',
        'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      body: JSON.stringify(body) });
  }

  async beacon(op, body) {
    const res = await this.fetch(`/_dni/v1/${op}`, {
      method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
}

// fetch() over node:http: Node's fetch() sends `Sec-Fetch-Mode: cors`
// whatever it is told, as a script would, while a browser's page load says
// `navigate`. Redirects are not followed; the body is decoded as fetch()
// decodes it. Returns a Response.
export function rawFetch(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', reject);
      res.on('end', () => {
        let buf = Buffer.concat(parts);
        try {
          const enc = (res.headers['content-encoding'] || '').toLowerCase();
          if (enc === 'gzip') buf = gunzipSync(buf);
          else if (enc === 'deflate') buf = inflateSync(buf);
          else if (enc === 'br') buf = brotliDecompressSync(buf);
        } catch (e) { reject(e); return; }
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const nobody = [101, 204, 205, 304].includes(res.statusCode) || method === 'HEAD';
        resolve(new Response(nobody ? null : buf, { status: res.statusCode, statusText: res.statusMessage, headers: h }));
      });
    });
    req.on('error', reject);
    if (body !== undefined && body !== null) req.write(body);
    req.end();
  });
}

// The leases carried by the page's <meta name="dni">, or null.
export function metaOf(html) {
  const m = /<meta name="dni" content="([^"]*)">/.exec(html);
  if (!m) return null;
  const json = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(json);
}

// Digits-only occurrences of a North American number's NSN in the text.
export function countNumber(text, e164) {
  const nsn = e164.replace(/^\+1/, '');
  const re = new RegExp(`(?<!\\d)(?:\\+?1[ .\\-]?)?\\(?${nsn.slice(0, 3)}\\)?[ .\\-]?${nsn.slice(3, 6)}[ .\\-]?${nsn.slice(6)}(?!\\d)`, 'g');
  return (text.match(re) || []).length;
}

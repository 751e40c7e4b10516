// Helpers for the real-browser suites: Debian's chromium driven by npm
// playwright-core (never a downloaded browser), small local sites, and a
// fake edge whose answers a test controls (the real edge runs on workerd in
// edge_stack.test.mjs).
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = resolve(ROOT, process.env.DNI_BUILD || 'build');
export const CHROMIUM = process.env.DNI_CHROMIUM || '/usr/bin/chromium';

// The snippet as the edge serves it: the minified copy when built.
export function snippetSource() {
  const min = join(BUILD, 'js/dni.min.js');
  return readFileSync(existsSync(min) ? min : join(ROOT, 'js/dni.js'), 'utf8');
}

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(fn, { timeout = 15000, every = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last && last.message ? last.message : last}`);
    await sleep(every);
  }
}

// An HTTP server on 127.0.0.1 whose answers come from handler(req, body,
// url) returning {status, headers, body} (or a string: an HTML page).
// Every request is recorded in `log` as {method, path, url, headers, body}.
export function startServer(handler, { host = '127.0.0.1' } = {}) {
  const log = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', async () => {
      const url = new URL(req.url, 'http://x');
      log.push({ method: req.method, path: url.pathname, url, headers: req.headers, body: raw });
      let a;
      try { a = await handler(req, raw, url); } catch (e) { a = { status: 500, body: String(e) }; }
      if (a === undefined || a === null) a = { status: 404, body: 'not found' };
      if (typeof a === 'string') a = { body: a };
      if (a.destroy) { req.socket.destroy(); return; }
      res.writeHead(a.status || 200, { 'content-type': 'text/html; charset=utf-8', ...(a.headers || {}) });
      // A body given as a list is sent part by part, each once it resolves
      // (a test holds the page's parser between them).
      if (!Array.isArray(a.body)) return res.end(a.body);
      for (const part of a.body) res.write(await part);
      res.end();
    });
  });
  return new Promise((r) => server.listen(0, host, () => {
    const port = server.address().port;
    r({ port, url: `http://${host === '127.0.0.1' ? '127.0.0.1' : host}:${port}`, log,
      close: () => new Promise((c) => { server.closeAllConnections(); server.close(c); }) });
  }));
}

export const JS = { 'content-type': 'text/javascript' };
export const JSON_TYPE = { 'content-type': 'application/json' };

// A page whose <head> loads the snippet from src; extra goes before it.
export function page(body, { src = '/_dni/dni.js', head = '', attrs = '' } = {}) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8">${head}`
    + `<script src="${src}" async ${attrs}></script></head><body>${body}</body></html>`;
}

// A lease as the edge answers it.
export function lease(def, number, id = 'p1~L1', pool = 'p1') {
  return { pool, lease: id, number, default: def, expires: Date.now() / 1000 + 60 };
}

// The real dni-origin on a free port with its own database. Returns
// {url, admin(method, path, body), stop()}.
export async function startOrigin({ dir, admin = 'browser-test-admin', secret, grantTtl = 60 }) {
  const { spawn } = await import('node:child_process');
  const { freePort } = await import('../edge/harness.mjs');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const child = spawn(join(BUILD, 'bin/dni-origin'), ['--listen', `127.0.0.1:${port}`, '--db', join(dir, 'origin.db'),
    '--grant-ttl', String(grantTtl), '--allow-unsigned-webhooks'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DNI_ADMIN_TOKEN: admin, DNI_EDGE_SECRET: secret, DNI_TWILIO_AUTH_TOKEN: '' },
  });
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', r));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`dni-origin exited: ${out}`);
    return (await fetch(`${url}/healthz`)).ok;
  }, { timeout: 10000, what: 'dni-origin to listen' });
  return {
    url,
    output: () => out,
    async admin(method, path, body) {
      const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${admin}`,
        'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* text kept */ }
      return { status: res.status, body: json, text };
    },
    async stop() { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } },
  };
}

// Headless Chromium names itself HeadlessChrome, which the edge takes for
// a robot (no lease): the stack tests browse as a desktop Chrome.
export const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

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
      res.end(a.body);
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
